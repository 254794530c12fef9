from django.core.management.base import BaseCommand

from analytics import cli


class Command(BaseCommand):
    help = "Rank candidate characteristics of successful (or unsuccessful) users; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--events", action="append", help="events file (repeatable)")
        parser.add_argument("--users", help="users file")
        parser.add_argument("--dataset", type=int, help="id of an imported dataset")
        parser.add_argument("--success", required=True, help="success definition (JSON)")
        parser.add_argument("--within-days", type=int, default=None,
                            help="window for behavioural candidates, in days")
        parser.add_argument("--top", type=int, default=20)
        parser.add_argument("--unsuccessful", action="store_true")
        cli.add_mapping_arguments(parser)

    def handle(self, *args, **options):
        from analytics.engine.definitions import DefinitionError
        from analytics.engine.discovery import discover
        from analytics.execution import engine_settings

        success = cli.json_argument(options["success"], "success")
        if options["top"] < 1:
            raise cli.refuse("--top must be at least 1.")
        if options["within_days"] is not None and options["within_days"] < 1:
            raise cli.refuse("--within-days must be at least 1.")
        with cli.version_from_options(options) as version:
            try:
                result = discover(version, success, within_days=options["within_days"],
                                  top=options["top"], unsuccessful=options["unsuccessful"],
                                  settings=engine_settings())
            except DefinitionError as error:
                raise cli.refuse(str(error)) from error
        cli.print_json(self, result)
