from django.core.management.base import BaseCommand

from analytics import cli

from .analyze import run


class Command(BaseCommand):
    help = "Rank candidate characteristics of successful (or unsuccessful) users; prints JSON."

    def add_arguments(self, parser):
        cli.add_discover_arguments(parser)

    def handle(self, *args, **options):
        run(self, "discover", options)
