"""What the analyze, discover and import_dataset commands share: reading the arguments of
definitions.md section 6, preparing a dataset version from files, and printing exactly one
JSON document on stdout (errors: one line on stderr, exit code 2)."""

from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import CommandError

MAX_JSON_ARGUMENT = 1_000_000


def add_mapping_arguments(parser) -> None:
    group = parser.add_argument_group("column mapping (when the files use other names)")
    group.add_argument("--user-id-column", default="user_id")
    group.add_argument("--event-column", default="event")
    group.add_argument("--timestamp-column", default="timestamp")
    group.add_argument("--users-id-column", default="user_id")


def mapping_from(options: dict) -> dict:
    return {
        "user_id": options["user_id_column"],
        "event": options["event_column"],
        "timestamp": options["timestamp_column"],
        "users_user_id": options["users_id_column"],
    }


def refuse(message: str) -> CommandError:
    return CommandError(" ".join(str(message).split()), returncode=2)


def json_argument(text: str, name: str) -> dict:
    if len(text) > MAX_JSON_ARGUMENT:
        raise refuse(f"--{name} is longer than {MAX_JSON_ARGUMENT:,} characters.")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise refuse(f"--{name} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise refuse(f"--{name} must be a JSON object.")
    return value


@contextmanager
def version_from_options(options: dict):
    """The dataset version to analyse: a stored dataset (--dataset ID) or files imported
    into a temporary directory for this one command."""
    from .engine.importer import ColumnMapping, ImportRefused, import_dataset
    from .execution import engine_settings
    from .models import Dataset

    if options.get("dataset"):
        dataset = Dataset.objects.filter(pk=options["dataset"]).first()
        if dataset is None or not dataset.is_ready:
            raise refuse(f"No dataset with id {options['dataset']} has imported data.")
        yield dataset.version()
        return
    events = [Path(p) for p in options.get("events") or []]
    users = Path(options["users"]) if options.get("users") else None
    if not events and users is None:
        raise refuse("Name the data: --events FILE (and/or --users FILE), or --dataset ID.")
    for path in [*events, *([users] if users else [])]:
        if not path.is_file():
            raise refuse(f"{path}: no such file.")
    settings = engine_settings()
    with tempfile.TemporaryDirectory(prefix="hypothesislab-cli-") as tmp:
        dest = Path(tmp) / "v1"
        try:
            import_dataset(events=events, users=users, mapping=ColumnMapping(**mapping_from(options)),
                           dest=dest, memory_limit=settings.memory_limit, threads=settings.threads)
        except ImportRefused as refusal:
            raise refuse(str(refusal)) from refusal
        from .engine.storage import DatasetVersion

        yield DatasetVersion(dest)


def print_json(command, document: dict) -> None:
    command.stdout.write(json.dumps(document, allow_nan=False, default=str))
