"""The analyze and discover commands of definitions.md section 6, and what import_dataset
shares with them: their arguments, checks and output (exactly one JSON document on
stdout; bad input is one line on stderr and exit code 2).

Given files, analyze and discover need nothing of the app: `manage.py` sends them to
`main()` here before Django starts, so they run in a fresh shell with no SECRET_KEY, never
open the app database (any number can run side by side) and start quickly. This module
therefore imports no Django, and the engine only when a command runs. With `--dataset ID`
they go through the management commands, which open the stored dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from analytics.engine.analysis import Data, EngineSettings
    from analytics.engine.inplace import FilesInPlace

MAX_JSON_ARGUMENT = 1_000_000
FILE_COMMANDS = ("analyze", "discover")


class CliRefused(Exception):
    """Bad input for a command: one line for stderr, exit code 2."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# ---------------------------------------------------------------- arguments


def add_mapping_arguments(parser) -> None:
    group = parser.add_argument_group("column mapping (when the files use other names)")
    group.add_argument("--user-id-column", default="user_id")
    group.add_argument("--event-column", default="event")
    group.add_argument("--timestamp-column", default="timestamp")
    group.add_argument("--users-id-column", default="user_id")


def add_data_arguments(parser) -> None:
    parser.add_argument("--events", action="append", help="events file (repeatable)")
    parser.add_argument("--users", help="users file")
    parser.add_argument("--dataset", type=int, help="id of an imported dataset")


def add_analyze_arguments(parser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--success", required=True, help="success definition (JSON)")
    parser.add_argument("--criterion", required=True,
                        help='criterion, or {"breakdown": {...}} (JSON)')
    parser.add_argument("--unsuccessful", action="store_true",
                        help="read the other side: what unsuccessful users share")
    add_mapping_arguments(parser)


def add_discover_arguments(parser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--success", required=True, help="success definition (JSON)")
    parser.add_argument("--within-days", type=int, default=None,
                        help="window for behavioural candidates, in days")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--unsuccessful", action="store_true")
    add_mapping_arguments(parser)


def mapping_from(options: dict) -> dict:
    return {
        "user_id": options["user_id_column"],
        "event": options["event_column"],
        "timestamp": options["timestamp_column"],
        "users_user_id": options["users_id_column"],
    }


def json_argument(text: str, name: str) -> dict:
    if len(text) > MAX_JSON_ARGUMENT:
        raise CliRefused(f"--{name} is longer than {MAX_JSON_ARGUMENT:,} characters.")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise CliRefused(f"--{name} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise CliRefused(f"--{name} must be a JSON object.")
    return value


def check_files(paths: list[Path]) -> None:
    for path in paths:
        if not path.is_file():
            raise CliRefused(f"{path}: no such file.")


# ---------------------------------------------------------------- the commands


def analyze_document(options: dict, version: Data, settings: EngineSettings) -> dict:
    from analytics.engine.analysis import analyze
    from analytics.engine.definitions import DefinitionError

    success = json_argument(options["success"], "success")
    criterion = json_argument(options["criterion"], "criterion")
    breakdown = None
    if "breakdown" in criterion and len(criterion) == 1:
        breakdown, criterion = criterion["breakdown"], None
        if not isinstance(breakdown, dict):
            raise CliRefused("breakdown must be a JSON object.")
    try:
        return analyze(version, success, criterion=criterion, breakdown=breakdown,
                       unsuccessful=options["unsuccessful"], settings=settings)
    except DefinitionError as error:
        raise CliRefused(str(error)) from error


def discover_document(options: dict, version: Data, settings: EngineSettings) -> dict:
    from analytics.engine.definitions import DefinitionError
    from analytics.engine.discovery import discover

    success = json_argument(options["success"], "success")
    try:
        return discover(version, success, within_days=options["within_days"],
                        top=options["top"], unsuccessful=options["unsuccessful"],
                        settings=settings)
    except DefinitionError as error:
        raise CliRefused(str(error)) from error


def check_discover_options(options: dict) -> None:
    if options["top"] < 1:
        raise CliRefused("--top must be at least 1.")
    if options["within_days"] is not None and options["within_days"] < 1:
        raise CliRefused("--within-days must be at least 1.")


RUN = {"analyze": analyze_document, "discover": discover_document}


@contextmanager
def version_from_files(options: dict, settings: EngineSettings) -> Iterator[FilesInPlace]:
    """The files analysed where they lie (analytics.engine.inplace): checked as an import
    checks them, without publishing a temporary dataset first."""
    from analytics.engine.importer import ColumnMapping, ImportRefused
    from analytics.engine.inplace import files_in_place

    events = [Path(p) for p in options.get("events") or []]
    users = Path(options["users"]) if options.get("users") else None
    if not events and users is None:
        raise CliRefused("Name the data: --events FILE (and/or --users FILE), or --dataset ID.")
    check_files([*events, *([users] if users else [])])
    with tempfile.TemporaryDirectory(prefix="hypothesislab-cli-") as tmp:
        try:
            with files_in_place(events=events, users=users,
                                mapping=ColumnMapping(**mapping_from(options)),
                                scratch=Path(tmp), memory_limit=settings.memory_limit,
                                threads=settings.threads,
                                listed_events=named_events(options)) as files:
                yield files
        except ImportRefused as refusal:
            raise CliRefused(str(refusal)) from refusal


# At most this many event names are listed for the checking pass (see named_events).
MAX_LISTED_EVENTS = 8


def named_events(options: dict) -> list[str]:
    """The event names an analyze command's success definition and criterion mention,
    read before they are checked: the checking pass keeps these events' times per user,
    so that counting them needs no second read of the files (a hint: a name that is not
    an event, or a request the checks refuse, costs a little and changes nothing)."""
    if "criterion" not in options:
        return []  # discover: its many measures read the files again anyway
    names: list[str] = []
    stack: list = []
    for key in ("success", "criterion"):
        try:
            stack.append(json.loads(options.get(key) or "null"))
        except (json.JSONDecodeError, RecursionError, TypeError):
            return []
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "event" and isinstance(value, str):
                    names.append(value)
                elif key == "events" and isinstance(value, list):
                    names.extend(v for v in value if isinstance(v, str))
                else:
                    stack.append(value)
    names = list(dict.fromkeys(names))
    return names if len(names) <= MAX_LISTED_EVENTS else []


def to_json(document: dict) -> str:
    return json.dumps(document, allow_nan=False, default=str)


# ---------------------------------------------------------------- without Django


def runs_without_django(argv: list[str]) -> bool:
    """`manage.py analyze|discover` on files (no --dataset, not asking for help)."""
    return (len(argv) > 1 and argv[1] in FILE_COMMANDS
            and not any(a == "--dataset" or a.startswith("--dataset=") for a in argv[2:]))


def engine_settings_from_environment() -> EngineSettings:
    # The same variables, and defaults, as hypothesislab/settings.py.
    from analytics.engine.analysis import EngineSettings

    defaults = EngineSettings()
    return EngineSettings(
        memory_limit=os.environ.get("DUCKDB_MEMORY_LIMIT", defaults.memory_limit),
        threads=int(os.environ.get("DUCKDB_THREADS", defaults.threads)))


# Events files from this size on take long enough to check that the statistics' import
# (about 0.2 s of CPU) ends inside the checking pass. Below, it is left to the first test
# that needs it: a tiny dataset may need none, and its command would pay for it.
OVERLAP_IMPORT_BYTES = 8 * 2**20


def overlap_statistics_import(options: dict) -> bool:
    """Start importing the statistics in a thread of their own when the events files are
    large (analytics.engine.distributions.load_in_background); whether it started."""
    size = 0
    for name in options.get("events") or []:
        try:
            size += Path(name).stat().st_size
        except OSError:
            pass  # refused with its name by the checks that follow
    if size < OVERLAP_IMPORT_BYTES:
        return False
    from analytics.engine.distributions import load_in_background

    load_in_background()
    return True


def main(argv: list[str], stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    """`manage.py analyze|discover --events ...`: the whole command, with no Django."""
    command = argv[1]
    parser = argparse.ArgumentParser(prog=f"manage.py {command}")
    (add_analyze_arguments if command == "analyze" else add_discover_arguments)(parser)
    options = vars(parser.parse_args(argv[2:]))  # exits 2 with its own message
    overlap_statistics_import(options)
    try:
        if command == "discover":
            check_discover_options(options)
        settings = engine_settings_from_environment()
        with version_from_files(options, settings) as version:
            document = RUN[command](options, version, settings)
    except CliRefused as refusal:
        stderr.write(f"CommandError: {refusal}\n")
        return 2
    stdout.write(to_json(document))
    return 0
