from django.apps import AppConfig


class WorkSessionsConfig(AppConfig):
    # django.contrib.sessions owns the label "sessions"; ours is "worksessions".
    name = "sessions"
    label = "worksessions"
    verbose_name = "Working sessions"
