from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from analytics import cli
from analytics.models import JobStatus
from analytics.services import DatasetRefused, import_now


class Command(BaseCommand):
    help = "Import events and users files into a team's new dataset."

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="team slug")
        parser.add_argument("--name", required=True, help="dataset name")
        parser.add_argument("--events", action="append", default=[], help="events file (repeatable)")
        parser.add_argument("--users", help="users file")
        cli.add_mapping_arguments(parser)

    def handle(self, *args, **options):
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise refuse(f"No team with slug {options['team']!r}.")
        for path in [*options["events"], *([options["users"]] if options["users"] else [])]:
            if not Path(path).is_file():
                raise refuse(f"{path}: no such file.")
        try:
            job = import_now(
                team=team, name=options["name"],
                events=[Path(p) for p in options["events"]],
                users=Path(options["users"]) if options["users"] else None,
                mapping=cli.mapping_from(options),
            )
        except DatasetRefused as error:
            raise refuse(str(error)) from error
        if job.status != JobStatus.DONE:
            raise refuse(job.error or "The import did not finish.")
        dataset = job.dataset
        dataset.refresh_from_db()
        schema = dataset.schema
        self.stderr.write(
            f"Imported dataset {dataset.pk} “{dataset.name}”: {schema['n_users']:,} users, "
            f"{schema['n_events']:,} events."
        )
        self.stdout.write(cli.to_json({"dataset": dataset.pk, "version": dataset.current_version,
                              "users": schema["n_users"], "events": schema["n_events"]}))


def refuse(message: str) -> CommandError:
    return CommandError(str(cli.CliRefused(message)), returncode=2)
