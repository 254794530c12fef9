from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the app: backups of a team (export_team, import_team) and the sweeper that
    re-queues jobs whose broker message was lost. No models of its own."""

    name = "ops"
    verbose_name = "Operations"
