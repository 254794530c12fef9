from django.apps import AppConfig


class ExploreConfig(AppConfig):
    name = "explore"
    verbose_name = "Test and learn tools"

    def ready(self) -> None:
        from analytics.jobs import job_changed

        from .live import job_changed as announce_job

        # Result pages follow their job by push (explore.live).
        job_changed.connect(announce_job, dispatch_uid="explore-live-jobs")
