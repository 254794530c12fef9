from django.core.management.base import BaseCommand

from analytics import cli


class Command(BaseCommand):
    help = "Test a criterion or a breakdown against a success definition; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--events", action="append", help="events file (repeatable)")
        parser.add_argument("--users", help="users file")
        parser.add_argument("--dataset", type=int, help="id of an imported dataset")
        parser.add_argument("--success", required=True, help="success definition (JSON)")
        parser.add_argument("--criterion", required=True,
                            help='criterion, or {"breakdown": {...}} (JSON)')
        parser.add_argument("--unsuccessful", action="store_true",
                            help="read the other side: what unsuccessful users share")
        cli.add_mapping_arguments(parser)

    def handle(self, *args, **options):
        from analytics.engine.analysis import analyze
        from analytics.engine.definitions import DefinitionError
        from analytics.execution import engine_settings

        success = cli.json_argument(options["success"], "success")
        criterion = cli.json_argument(options["criterion"], "criterion")
        breakdown = None
        if "breakdown" in criterion and len(criterion) == 1:
            breakdown, criterion = criterion["breakdown"], None
            if not isinstance(breakdown, dict):
                raise cli.refuse("breakdown must be a JSON object.")
        with cli.version_from_options(options) as version:
            try:
                result = analyze(version, success, criterion=criterion, breakdown=breakdown,
                                 unsuccessful=options["unsuccessful"], settings=engine_settings())
            except DefinitionError as error:
                raise cli.refuse(str(error)) from error
        cli.print_json(self, result)
