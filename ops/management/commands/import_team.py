from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupRefused
from ops.restore import import_team, manifest_summary


class Command(BaseCommand):
    help = ("Restore a team written by export_team, with new ids. Refuses a slug that this "
            "instance already has, unless --rename gives another one.")

    def add_arguments(self, parser):
        parser.add_argument("directory", help="a directory written by export_team")
        parser.add_argument("--rename", metavar="NEW_SLUG",
                            help="restore under this slug instead of the exported one")
        parser.add_argument("--name", help="and under this team name")

    def handle(self, *args, **options):
        directory = Path(options["directory"])
        try:
            self.stdout.write(f"Restoring {manifest_summary(directory)}")
            restored = import_team(directory, slug=options["rename"], name=options["name"])
        except BackupRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        team = restored.team
        self.stdout.write(self.style.SUCCESS(
            f"Restored “{team.name}” as /t/{team.slug}/: {sum(restored.counts.values())} rows; "
            f"{restored.users_created} people added, {restored.users_matched} already here; "
            f"{restored.jobs_requeued} unfinished analyses queued again."))
