"""One input file as DuckDB sees it: its columns and types, the table function that reads
it (with the path and options as bound parameters), and the translation of DuckDB's
errors about it into refusals that name the file, the line and the column.

Line numbers: a CSV row's line is its ordinal + 1 (the header is line 1); an NDJSON
row's line is its ordinal. Both are exact for ordinary files and approximate when a
quoted CSV field spans several lines or a file has blank lines, since DuckDB numbers
rows, not physical lines. Parquet has rows, not lines: `unit` says "row".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analytics.engine import duck
from analytics.engine.importing import files
from analytics.engine.importing.columns import q
from analytics.engine.importing.errors import ImportRefused, hide_paths, quoted_value
from analytics.engine.importing.limits import Allowance

Fragment = tuple[str, list]  # SQL text with `?` placeholders, and their values in order

_DELIMITER_CANDIDATES = (",", ";", "\t", "|")
# DuckDB's date and time type names inside a type (a STRUCT's fields included).
_TIME_TYPES = re.compile(r'(?<!")\b(TIMESTAMP WITH TIME ZONE|TIMESTAMP_[A-Z]+|TIMESTAMPTZ|'
                         r'TIMESTAMP|DATE|TIME WITH TIME ZONE|TIME)\b(?!")')
SAMPLE_ROWS = 20480  # DuckDB's CSV type-detection sample
_JSON_OPTIONS = (
    # Read every row to type the columns (an NDJSON batch may bring a key only late) and
    # keep `properties` a STRUCT whatever its keys, so that they become columns.
    "sample_size=-1, field_appearance_threshold=0, map_inference_threshold=-1"
)


@dataclass
class Source:
    path: Path  # as given by the caller (its name is what messages show)
    fmt: files.FileFormat
    read_path: Path  # what DuckDB reads: a decompressed copy of a .gz file
    delimiter: str | None = None  # CSV only; None lets DuckDB detect it
    columns: dict[str, str] = field(default_factory=dict)  # name -> DuckDB type as read
    overrides: dict[str, str] = field(default_factory=dict)  # CSV types forced by name
    staged_table: str | None = None  # JSON is read once into this temporary table
    # DuckDB reads the JSON string "-infinity" as the date 1900-01-01 (whatever date
    # format it is given): a file with infinities is read with its detected date and time
    # types made text (then columns.time_value reads its times), so that an infinity is
    # refused rather than made a date. None: DuckDB's detected types.
    json_columns: dict[str, str] | None = None
    # CSV: the layout DuckDB's sniffer found on opening the file (read_csv options by
    # name), stated on every later read with the columns' types, so that DuckDB does not
    # sniff the file again: about 40 ms a read at 300k rows, three reads of a users file
    # on the command line. None: DuckDB detects it on each read (see open_source).
    dialect: dict[str, str] | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def read_gzip(self) -> bool:
        return self.fmt.gzip and self.read_path == self.path

    @property
    def unit(self) -> str:
        return "row" if self.fmt.kind == "parquet" else "line"

    def line_of(self, ordinal: int) -> int:
        """The line (or Parquet row) of the row with this 1-based ordinal."""
        return ordinal + 1 if self.fmt.kind == "csv" else ordinal

    def refusal(self, message: str, *, line: int | None = None,
                column: str | None = None) -> ImportRefused:
        return ImportRefused(message, file=self.name, line=line, column=column, unit=self.unit)

    def table(self, *, types: dict[str, str] | None = None,
              ordinality: bool = False) -> Fragment:
        """The FROM item that reads this file. `types` forces CSV column types (on top of
        `overrides`); `ordinality` adds the 1-based row ordinal as column `ordinality`."""
        if self.staged_table is not None:
            # Staged JSON already carries its ordinal.
            columns = "*" if ordinality else "* EXCLUDE (ordinality)"
            return f"(SELECT {columns} FROM {self.staged_table})", []  # noqa: S608
        suffix = " WITH ORDINALITY" if ordinality else ""
        if self.fmt.kind == "parquet":
            return f"read_parquet(?){suffix}", [str(self.read_path)]
        if self.fmt.kind == "json":
            fmt = "newline_delimited" if self.fmt.newline_delimited else "auto"
            if self.json_columns is not None:
                return (f"read_json(?, format = ?, columns = ?){suffix}",
                        [str(self.read_path), fmt, self.json_columns])
            return (f"read_json(?, format = ?, {_JSON_OPTIONS}){suffix}",
                    [str(self.read_path), fmt])
        if self.dialect is not None:
            # Every column's type given (`columns` holds the forced ones): no sniffing.
            options = "".join(f", {name} = ?" for name in self.dialect)
            return (f"read_csv(?, auto_detect = false, header = true, skip = 0{options}, "
                    f"columns = ?){suffix}",
                    [str(self.read_path), *self.dialect.values(),
                     {**self.columns, **(types or {})}])
        # The first line is the header: without skip = 0 DuckDB may skip rows it finds
        # inconsistent, and name the columns after a later line.
        sql, params = "read_csv(?, header = true, skip = 0", [str(self.read_path)]
        if self.delimiter is not None:
            sql += ", delim = ?"
            params.append(self.delimiter)
        forced = {**self.overrides, **(types or {})}
        if forced:
            sql += ", types = ?"
            params.append(forced)
        return sql + ")" + suffix, params


def open_source(con: duck.Connection, path: Path, *, workdir: Path,
                delimiter: str | None = None, stage_as: str = "staged_json",
                allowance: Allowance | None = None, sniff_once: bool = False) -> Source:
    """Check a file, take its bytes and rows from the import's allowance, and learn its
    columns. A gzipped file is decompressed into `workdir` first, counted, so that DuckDB
    reads it once and nothing past the allowance is ever written. Refuses what cannot be
    read.

    `sniff_once`: a CSV file's later reads state what the sniffer found (Source.dialect).
    For users files only: read that way, a 50M-row events file joined to the uid map
    while written cost 40% more CPU (same wall time; DuckDB 2.0, not understood), where a
    users file's plain reads cost less (at 300k rows, 0.37 s of CPU down to 0.24 s)."""
    path = Path(path)
    allowance = allowance if allowance is not None else Allowance()
    fmt = files.file_format(path)
    files.check_file(path, fmt)
    counting_rows = allowance.rows_left is not None
    newlines = None
    if fmt.gzip:
        read_path, size, newlines = files.unpack(
            path, workdir, budget=allowance.bytes_left,
            on_over=lambda: allowance.bytes_refusal(file=path.name, compressed=True))
        allowance.take_bytes(size, file=path.name, compressed=True)
    else:
        read_path = path
        allowance.take_bytes(path.stat().st_size, file=path.name, compressed=False)
        if counting_rows and fmt.kind != "parquet":
            newlines = files.count_newlines(path)
    source = Source(path=path, fmt=fmt, read_path=read_path,
                    delimiter=delimiter if fmt.kind == "csv" else None)
    # Newlines bound the rows of CSV and NDJSON (a quoted field may span lines, a blank
    # line is no row): rows are counted exactly only when that bound does not fit.
    rows = newlines + 1 if newlines is not None and fmt.newline_delimited else None
    try:
        if fmt.kind == "json":
            if files.mentions_infinity(read_path):
                source.json_columns = {name: _TIME_TYPES.sub("VARCHAR", kind)
                                       for name, kind in describe(con, source).items()}
            _stage_json(con, source, stage_as)
        if fmt.kind == "csv" and sniff_once:
            source.columns, source.dialect = sniff(con, source)
        else:
            source.columns = describe(con, source)
        if counting_rows and (rows is None or rows > allowance.rows_left):
            rows = count_rows(con, source)
    except duck.Error as exc:
        raise refusal_for(con, source, exc) from None
    if counting_rows:
        allowance.take_rows(rows, file=path.name)
    if fmt.kind == "csv" and len(source.columns) == 1:
        _diagnose_single_column(con, source)
    if fmt.kind == "csv":
        _keep_yes_no_as_text(con, source)
    return source


def _keep_yes_no_as_text(con: duck.Connection, source: Source) -> None:
    """DuckDB reads yes/no, y/n and t/f as booleans; a team writes `y = "yes"`, so only
    true/false columns become booleans (judged on the rows DuckDB sampled)."""
    booleans = [name for name, kind in source.columns.items() if kind == "BOOLEAN"]
    if not booleans:
        return
    sql, params = source.table(types=dict.fromkeys(booleans, "VARCHAR"))
    checks = ", ".join(
        f"coalesce(bool_and({q(name)} IS NULL OR lower(trim({q(name)})) IN "
        f"('true', 'false')), true)" for name in booleans)
    try:
        literal = con.execute(f"SELECT {checks} FROM (SELECT * FROM {sql} LIMIT {SAMPLE_ROWS})",  # noqa: S608
                              params).fetchone()
    except duck.Error as exc:
        raise refusal_for(con, source, exc) from None
    for name, is_literal in zip(booleans, literal, strict=True):
        if not is_literal:
            source.overrides[name] = "VARCHAR"
            source.columns[name] = "VARCHAR"


def count_rows(con: duck.Connection, source: Source) -> int:
    # As text: a value past DuckDB's type sample must not fail a mere count.
    text = dict.fromkeys(source.columns, "VARCHAR") if source.fmt.kind == "csv" else None
    sql, params = source.table(types=text)
    return con.execute(f"SELECT count(*) FROM {sql}", params).fetchone()[0]  # noqa: S608


# sniff_csv's fields -> read_csv's options (our own names: no text of the file's).
_DIALECT_FIELDS = {"Delimiter": "delim", "Quote": "quote", "Escape": "escape",
                   "NewLineDelimiter": "new_line", "Comment": "comment"}
# The date and time formats DuckDB reads without being told (ISO 8601: its own cast, which
# also reads a negative year, where a stated format would not). Other formats (03/01/2024)
# keep DuckDB's detection on every read.
_ISO_DATES = (None, "%Y-%m-%d")


def sniff(con: duck.Connection, source: Source) -> tuple[dict[str, str], dict[str, str] | None]:
    """A CSV file's columns and types, and the layout to read it by without sniffing it
    again (None when DuckDB's own detection must stay: the sniffer failed, or reading
    by what it found would not give the same columns). Errors are describe()'s."""
    delimiter = [source.delimiter] if source.delimiter is not None else []
    try:
        found = con.execute(
            f"SELECT {', '.join(_DIALECT_FIELDS)}, DateFormat, TimestampFormat, Columns "  # noqa: S608
            f"FROM sniff_csv(?, header = true, skip = 0{', delim = ?' if delimiter else ''})",
            [str(source.read_path), *delimiter]).fetchone()
    except duck.Error:
        return describe(con, source), None  # describe raises what a read would
    *fields, date_format, time_format, columns = found
    if date_format not in _ISO_DATES or time_format is not None:
        return describe(con, source), None
    dialect = {option: "" if value == "(empty)" else value
               for option, value in zip(_DIALECT_FIELDS.values(), fields, strict=True)}
    sniffed = {c["name"]: c["type"] for c in columns}
    stated = Source(source.path, source.fmt, source.read_path, columns=dict(sniffed),
                    dialect=dialect)
    try:
        same = describe(con, stated) == sniffed
    except duck.Error:
        same = False
    return (sniffed, dialect) if same else (describe(con, source), None)


def describe(con: duck.Connection, source: Source, *,
             types: dict[str, str] | None = None) -> dict[str, str]:
    sql, params = source.table(types=types)
    rows = con.execute(f"DESCRIBE SELECT * FROM {sql}", params).fetchall()  # noqa: S608
    return {row[0]: row[1] for row in rows}


def _stage_json(con: duck.Connection, source: Source, table: str) -> None:
    sql, params = source.table(ordinality=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {sql}", params)  # noqa: S608
    source.staged_table = table


def _diagnose_single_column(con: duck.Connection, source: Source) -> None:
    """DuckDB falls back to one column when it cannot agree on a layout, typically
    because a row has more or fewer fields than the header. When the header plainly has
    several fields, read with that layout so that DuckDB names the offending line."""
    header_name = next(iter(source.columns))
    counts = {d: header_name.count(d) for d in _DELIMITER_CANDIDATES}
    delimiter = source.delimiter or max(counts, key=lambda d: counts[d])
    if delimiter not in header_name:
        return  # a genuine one-column file
    names = next(csv.reader(io.StringIO(header_name), delimiter=delimiter))
    strict = (
        "read_csv(?, auto_detect = false, header = true, delim = ?, quote = '\"', "
        "escape = '\"', columns = ?)"
    )
    params = [str(source.read_path), delimiter, dict.fromkeys(names, "VARCHAR")]
    try:
        # One thread reads in file order: the error DuckDB reports is the first one.
        with duck.single_thread(con):
            con.execute(f"SELECT count(*) FROM {strict}", params).fetchall()  # noqa: S608
    except duck.Error as exc:
        raise refusal_for(con, source, exc) from None
    raise source.refusal(
        "cannot work out the CSV layout (delimiter and quoting); check that every row "
        "has the same fields as the header", line=1)


@contextmanager
def insertion_order(con: duck.Connection) -> Iterator[None]:
    """Results in file order (duck.connect turns this off for speed)."""
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute("SET preserve_insertion_order = false")


# --- DuckDB errors -> refusals -------------------------------------------------------

_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERSION = re.compile(
    r'Error when converting column "(?P<column>.*?)"\. Could not convert string '
    r'"(?P<value>.*?)" to \'(?P<type>.*?)\''
)
_FIELD_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_JSON = re.compile(r"Malformed JSON in file .*?, at byte \d+ in line (\d+): ([^.\n]*)")
_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")


def conversion_column(exc: duck.Error) -> str | None:
    """The CSV column whose type DuckDB guessed from a sample and a later value broke."""
    match = _CONVERSION.search(str(exc))
    return match.group("column") if match else None


def conversion_value(exc: duck.Error) -> str | None:
    match = _CONVERSION.search(str(exc))
    return match.group("value") if match else None


def refusal_for(con: duck.Connection, source: Source, exc: duck.Error) -> ImportRefused:
    """A refusal a person understands for a DuckDB error while reading `source`."""
    text = str(exc)
    line_match = _LINE.search(text)
    line = int(line_match.group(1)) if line_match else None
    if "Invalid unicode" in text or "not utf-8" in text.lower():
        found = files.not_utf8_refusal(source.read_path, source.read_gzip)
        if found is not None:
            return found.located(file=source.name)
        return source.refusal("is not UTF-8 text; save the file as UTF-8", line=line)
    fields = _FIELD_COUNT.search(text)
    if fields and source.fmt.kind == "csv":
        # Read in parallel, DuckDB may meet a later bad row first; name the first one.
        text = _first_layout_error(con, source) or text
        line_match = _LINE.search(text)
        line = int(line_match.group(1)) if line_match else line
        fields = _FIELD_COUNT.search(text) or fields
    if fields:
        expected, found = fields.groups()
        return source.refusal(
            f"this row has {found} fields where the header has {expected}", line=line)
    conversion = _CONVERSION.search(text)
    if conversion:
        return source.refusal(
            f"cannot read {quoted_value(conversion['value'])} as "
            f"{conversion['type'].lower()} like the rows before it",
            line=line, column=conversion["column"])
    malformed = _JSON.search(text)
    if malformed:
        found = files.find_bad_json(source.read_path, source.read_gzip,
                                    source.fmt.newline_delimited)
        line, reason = found or (None, malformed.group(2).strip())
        return source.refusal(f"is not valid JSON ({reason.lower()})", line=line)
    first = hide_paths(_first_line(text), known_paths(source))
    if source.fmt.kind == "parquet":
        return source.refusal(f"is not a readable Parquet file ({first})")
    return source.refusal(f"cannot be read as {source.fmt.label} ({first})", line=line)


def known_paths(source: Source) -> dict[Path, str]:
    """The paths DuckDB may name in its errors about `source`, and the name to show."""
    return {source.path: source.name, source.read_path: source.name}


def _first_layout_error(con: duck.Connection, source: Source) -> str | None:
    sql, params = source.table()
    try:
        # One thread reads in file order: the error DuckDB reports is the first one.
        with duck.single_thread(con):
            con.execute(f"SELECT count(*) FROM {sql}", params).fetchall()  # noqa: S608
    except duck.Error as exc:
        return str(exc)
    return None


def _first_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return _PREFIX.sub("", first).strip().rstrip(".")
