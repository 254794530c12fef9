#!/usr/bin/env python
import os
import sys


def main() -> None:
    from analytics.cli import runs_without_django

    if runs_without_django(sys.argv):
        # analyze/discover on files: the engine alone, no settings, no app database.
        from analytics.cli import main as run_on_files

        sys.exit(run_on_files(sys.argv))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hypothesislab.settings")
    # Tells settings which command runs: a one-off command needs no SECRET_KEY (see there).
    os.environ["HYPOTHESISLAB_COMMAND"] = sys.argv[1] if len(sys.argv) > 1 else "help"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
