"""Column mapping: which columns of a team's files are the user id, the event and the
time. Real exports use their own names (case_id, activity, household_id, ...), so the
mapping is guessed from the headers and first rows, then confirmed by the team."""

from __future__ import annotations

import re
import tempfile
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from analytics.engine import duck
from analytics.engine.importing import files
from analytics.engine.importing.columns import property_names
from analytics.engine.importing.errors import ImportRefused, hide_paths
from analytics.engine.storage import RESERVED_EVENT_COLUMNS, RESERVED_USER_COLUMNS

# A user id made of several columns (oulad: a student within a module presentation)
# joins their values with this.
ID_SEPARATOR = "/"


@dataclass
class ColumnMapping:
    user_id: str = "user_id"  # events' user id column
    event: str = "event"
    timestamp: str = "timestamp"
    users_user_id: str = "user_id"  # users table's id column
    # Events whose user id is several columns together (joined with ID_SEPARATOR).
    user_id_columns: tuple[str, ...] = ()
    # The same for the users table, e.g. ("code_module", "code_presentation", "id_student").
    users_id_columns: tuple[str, ...] = ()
    # The users file has one row per user and no id: number the rows 1, 2, ... instead.
    generate_user_ids: bool = False
    # Every events row is this event (a file of purchases has no event column).
    event_name: str | None = None
    # A CSV delimiter to use instead of DuckDB's detection.
    csv_delimiter: str | None = None

    def __post_init__(self) -> None:
        # Mappings stored as JSON come back with lists.
        self.user_id_columns = tuple(self.user_id_columns or ())
        self.users_id_columns = tuple(self.users_id_columns or ())

    def event_id_columns(self) -> list[str]:
        return list(self.user_id_columns) or [self.user_id]

    def users_id_column_list(self) -> list[str]:
        return list(self.users_id_columns) or [self.users_user_id]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["user_id_columns"] = list(self.user_id_columns)
        data["users_id_columns"] = list(self.users_id_columns)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ColumnMapping:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class MappingGuess:
    mapping: ColumnMapping
    columns: dict[str, list[str]] = field(default_factory=dict)  # file name -> its columns
    notes: list[str] = field(default_factory=list)  # why each guess, and what to check


USER_ID_NAMES = (
    "user_id", "userid", "user", "uid", "distinct_id", "anonymous_id", "visitor_id",
    "customer_id", "client_id", "account_id", "member_id", "person_id", "contact_id",
    "household_id", "id_student", "student_id", "patient_id", "case_id", "caseid", "case",
    "case_concept_name", "device_id", "id",
)
EVENT_NAMES = (
    "event", "event_name", "eventname", "event_type", "activity", "activity_name",
    "action", "action_name", "concept_name", "name", "type", "event_key", "step",
)
TIMESTAMP_NAMES = (
    "timestamp", "ts", "time", "event_time", "event_timestamp", "time_timestamp",
    "transaction_timestamp", "created_at", "occurred_at", "received_at", "sent_at",
    "datetime", "date_time", "event_date", "created", "date",
)
_TIME_TYPES = ("TIMESTAMP", "DATE")


def normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def guess_mapping(events: list[Path], users: Path | None, *,
                  scratch: Path | None = None) -> MappingGuess:
    """Guess a mapping from the headers and first rows, with notes saying why, so that
    the upload form can prefill it and the team confirm it. Refuses unreadable files.
    Reads no more than a bounded prefix of each file (see files.peek_copy), copying
    that of a gzipped file into `scratch` (the upload's staging directory; a temporary
    one when not given) for the time of the look."""
    with ExitStack() as stack:
        if scratch is None:
            scratch = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="hypothesislab-peek-")))
        con = duck.connect(memory_limit="256MB", threads=1)
        stack.callback(con.close)
        event_cols = [(Path(p), peek_columns(con, Path(p), scratch)) for p in events]
        users_cols = (Path(users), peek_columns(con, Path(users), scratch)) if users else None
    guess = MappingGuess(mapping=ColumnMapping())
    for path, cols in event_cols + ([users_cols] if users_cols else []):
        guess.columns[path.name] = list(cols)
    if event_cols:
        _guess_events(guess, event_cols[0][0], event_cols[0][1])
    if users_cols:
        _guess_users(guess, users_cols[0], users_cols[1], have_events=bool(event_cols))
    return guess


def peek_columns(con: duck.Connection, path: Path, scratch: Path) -> dict[str, str]:
    """Column names and DuckDB types from a file's header and first rows."""
    fmt = files.file_format(path)
    files.check_file(path, fmt)
    if not fmt.gzip:
        return _describe_file(con, path, path, fmt)
    copy = files.peek_copy(path, fmt, scratch)
    try:
        return _describe_file(con, path, copy, fmt)
    finally:
        copy.unlink(missing_ok=True)


def _describe_file(con: duck.Connection, path: Path, read: Path,
                   fmt: files.FileFormat) -> dict[str, str]:
    if fmt.kind == "parquet":
        return _describe(con, path, read, "read_parquet(?)", [])
    if fmt.kind == "json":
        layout = "newline_delimited" if fmt.newline_delimited else "auto"
        return _describe(con, path, read, "read_json(?, format = ?, sample_size = 1000)",
                         [layout])
    return _describe(con, path, read,
                     "read_csv(?, header = true, skip = 0, sample_size = 1000)", [])


def _describe(con: duck.Connection, path: Path, read: Path, table: str,
              options: list) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {table}",  # noqa: S608
                           [str(read), *options]).fetchall()
    except duck.Error as exc:
        message = hide_paths(str(exc).strip().splitlines()[0],
                             {path: path.name, read: path.name})
        raise ImportRefused(f"cannot be read ({message})", file=path.name) from None
    return {row[0]: row[1] for row in rows}


def _pick(columns: dict[str, str], names: tuple[str, ...],
          exclude: set[str] = frozenset()) -> list[str]:
    """Columns matching the known names, best first."""
    by_norm: dict[str, str] = {}
    for col in columns:
        if col not in exclude:
            by_norm.setdefault(normalized(col), col)
    return [by_norm[n] for n in names if n in by_norm]


def _guess_events(guess: MappingGuess, path: Path, columns: dict[str, str]) -> None:
    mapping, notes = guess.mapping, guess.notes
    users = _pick(columns, USER_ID_NAMES)
    if users:
        mapping.user_id = users[0]
        notes.append(f"user id: '{users[0]}' (a usual name for who did the event)"
                     + _also(users[1:]))
    else:
        ids = [c for c in columns if normalized(c).endswith("_id")]
        mapping.user_id = ids[0] if ids else next(iter(columns))
        notes.append(f"user id: '{mapping.user_id}' is only a guess (no usual name "
                     "found); choose the column that says who did the event")
    taken = {mapping.user_id}
    times = _pick(columns, TIMESTAMP_NAMES, taken) or _time_like(columns, taken)
    if times:
        mapping.timestamp = times[0]
        notes.append(f"time: '{times[0]}'" + _also(times[1:]))
    else:
        notes.append("time: no time column found; events need one (ISO 8601 or epoch "
                     "seconds)")
    taken.add(mapping.timestamp)
    names = _pick(columns, EVENT_NAMES, taken)
    if names:
        mapping.event = names[0]
        notes.append(f"event: '{names[0]}'" + _also(names[1:]))
    else:
        stem = path.name.split(".")[0].lower()
        mapping.event_name = stem[:-1] if stem.endswith("s") and len(stem) > 3 else stem
        notes.append(f"event: no event column found, so every row of {path.name} is "
                     f"the event '{mapping.event_name}'; rename it if you like")
    used = {mapping.user_id, mapping.timestamp} | (
        set() if mapping.event_name else {mapping.event})
    props = [c for c in columns if c not in used]
    _, renamed = property_names(props, RESERVED_EVENT_COLUMNS)
    notes.extend(r.note("event") for r in renamed)


def _guess_users(guess: MappingGuess, path: Path, columns: dict[str, str], *,
                 have_events: bool) -> None:
    mapping, notes = guess.mapping, guess.notes
    if have_events and mapping.user_id in columns:
        mapping.users_user_id = mapping.user_id
        notes.append(f"users: '{mapping.user_id}' matches the events' user id column")
    else:
        found = _pick(columns, USER_ID_NAMES)
        if found:
            mapping.users_user_id = found[0]
            notes.append(f"users: '{found[0]}' identifies a user" + _also(found[1:]))
        else:
            mapping.generate_user_ids = True
            notes.append(f"users: {path.name} has no id column, so each row is one user "
                         "numbered 1, 2, ... in file order")
            return
    notes.append(f"users: check that '{mapping.users_user_id}' is different on every row; "
                 "if it is unique only together with other columns (a student within a "
                 "course), choose them all")
    props = [c for c in columns if c != mapping.users_user_id]
    _, renamed = property_names(props, RESERVED_USER_COLUMNS)
    notes.extend(r.note("users") for r in renamed)


def _time_like(columns: dict[str, str], exclude: set[str]) -> list[str]:
    typed = [c for c, t in columns.items()
             if c not in exclude and t.upper().startswith(_TIME_TYPES)]
    named = [c for c in columns if c not in exclude and c not in typed and re.search(
        r"time|date|_at$", normalized(c))]
    return typed + named


def _also(others: list[str]) -> str:
    return f"; also possible: {', '.join(repr(o) for o in others)}" if others else ""
