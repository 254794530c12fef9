from django.apps import AppConfig


class ExploreConfig(AppConfig):
    name = "explore"
    verbose_name = "Test and learn tools"
