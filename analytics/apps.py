from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        # Inside ready(): models import only once the app registry is loaded.
        from accounts.overview import ChecklistStep, register_check

        from .models import SuccessDefinition
        from .selectors import ready_datasets_of

        # The home page's "Get started" steps this app can tell are done.
        register_check(ChecklistStep(
            key="dataset", title="Import your data",
            text="Events and users as CSV, Parquet or NDJSON, or start with the demo dataset.",
            url_name="analytics:dataset_list", order=10,
            done=lambda team: ready_datasets_of(team).exists()))
        register_check(ChecklistStep(
            key="success", title="Say what success means",
            text="The event that counts as success, e.g. a purchase within 14 days.",
            url_name="success:success_list", order=20,
            done=lambda team: SuccessDefinition.objects.filter(team=team).exists()))
