from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from ops.backup import BackupRefused, export_team


class Command(BaseCommand):
    help = ("Write a team's complete data (every row that belongs to it, its people and its "
            "dataset files) into a new directory, for import_team on any instance. Password "
            "hashes are included unless --without-passwords: keep the directory as safe as "
            "the database.")

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("directory", help="a directory that does not exist yet")
        parser.add_argument("--without-passwords", action="store_true",
                            help="leave password hashes out: people set a new one after import")

    def handle(self, *args, **options):
        team = Team.objects.filter(slug=options["slug"]).first()
        if team is None:
            raise CommandError(f"No team with slug {options['slug']!r}.")
        try:
            manifest = export_team(team, Path(options["directory"]),
                                   passwords=not options["without_passwords"])
        except BackupRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(self.style.SUCCESS(
            f"Exported “{team.name}” to {options['directory']}: "
            f"{sum(manifest.models.values())} rows, {manifest.users} people, "
            f"{len(manifest.files)} data files."))
        for label, count in manifest.models.items():
            if count:
                self.stdout.write(f"  {label}: {count}")
