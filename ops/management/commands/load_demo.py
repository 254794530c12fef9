from django.core.management.base import BaseCommand

from ops.demo import DEMO_PASSWORD, ensure_demo


class Command(BaseCommand):
    help = "Create (or complete) the demo team with data and a finished session."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=4000, help="demo users to generate")

    def handle(self, *args, **options):
        demo = ensure_demo(n_users=options["users"])
        self.stdout.write(self.style.SUCCESS(
            f"Demo team “{demo.team.name}” is ready with {demo.dataset.schema['n_users']:,} users "
            f"and {demo.dataset.schema['n_events']:,} events."
        ))
        self.stdout.write("Sign in at http://127.0.0.1:8000/login/ as any of:")
        for member in demo.members:
            self.stdout.write(f"  {member.email}  password: {DEMO_PASSWORD}")
