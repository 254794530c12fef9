from django.core.management.base import BaseCommand, CommandError

from analytics import cli
from analytics.execution import engine_settings
from analytics.models import Dataset


class Command(BaseCommand):
    help = "Test a criterion or a breakdown against a success definition; prints JSON."

    def add_arguments(self, parser):
        cli.add_analyze_arguments(parser)

    def handle(self, *args, **options):
        run(self, "analyze", options)


def run(command: BaseCommand, name: str, options: dict) -> None:
    """analyze or discover inside Django: on a stored dataset (--dataset ID), or on files
    when called from code (manage.py itself runs those without Django, see analytics/cli.py)."""
    settings = engine_settings()
    try:
        if name == "discover":
            cli.check_discover_options(options)
        if options.get("dataset"):
            document = cli.RUN[name](options, stored_version(options["dataset"]), settings)
        else:
            with cli.version_from_files(options, settings) as version:
                document = cli.RUN[name](options, version, settings)
    except cli.CliRefused as refusal:
        raise CommandError(str(refusal), returncode=2) from refusal
    command.stdout.write(cli.to_json(document))


def stored_version(dataset_id: int):
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None or not dataset.is_ready:
        raise cli.CliRefused(f"No dataset with id {dataset_id} has imported data.")
    return dataset.version()
