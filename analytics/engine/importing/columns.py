"""How source columns become stored columns: property types, the SQL that turns a time
column into UTC TIMESTAMPTZ, and property names that must not clash with ours.

Every identifier written into SQL here is a column name read from the file itself,
quoted with `duck.quote_identifier`; no value is ever spliced in."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.engine import duck

_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
            "UINTEGER"}
_FLOAT = {"FLOAT", "DOUBLE", "REAL", "UBIGINT", "HUGEINT", "UHUGEINT"}
_TIMESTAMP = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
              "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}
# zstd at level 1: a third smaller than DuckDB's default Snappy and nearly as cheap to
# write, where the default level 3 costs a fifth more time for another quarter less
# size; reading is as fast at either level. The events file is most of an import's work.
EVENTS_PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"
USERS_PARQUET = "FORMAT parquet, COMPRESSION zstd"

# The times a stored timestamp may hold: those Python (and so every page, result and
# export) can show. DuckDB reads far more, up to year 294247, BC dates and infinities.
TIME_MIN = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
TIME_MAX = "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"
TIME_RANGE_WORDS = "from year 1 to year 9999"
# RE2: C0 and C1 control characters and DEL, as errors.CONTROL_CHARACTERS.
_CONTROL_RE2 = r"[\x{00}-\x{1f}\x{7f}-\x{9f}]"

STORAGE_TYPE = {"integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN",
                "text": "VARCHAR", "timestamp": "TIMESTAMPTZ"}


def property_type(duck_type: str) -> str:
    """The product's type (one of storage.PROPERTY_TYPES) for a DuckDB column type."""
    base = duck_type.upper()
    if base in _INTEGER:
        return "integer"
    # Unsigned 64-bit and 128-bit integers do not fit BIGINT; they are kept as numbers.
    if base in _FLOAT or base.startswith("DECIMAL"):
        return "float"
    if base == "BOOLEAN":
        return "boolean"
    if base in _TIMESTAMP:
        return "timestamp"
    return "text"


def common_type(types: list[str]) -> str:
    """One product type for a property that several files type differently."""
    distinct = set(types)
    if len(distinct) == 1:
        return types[0]
    if distinct <= {"integer", "float"}:
        return "float"
    return "text"


def stored_value(column_sql: str, duck_type: str, target: str) -> str:
    """SQL turning a source column (of `duck_type`) into the stored type `target`."""
    if duck_type.upper() == "JSON" and target == "text":
        # A JSON scalar as its text, without JSON's quotes around strings.
        return f"json_extract_string({column_sql}, '$')"
    if property_type(duck_type) == target and duck_type.upper() == STORAGE_TYPE[target]:
        return column_sql
    return f"CAST({column_sql} AS {STORAGE_TYPE[target]})"


def time_value(column_sql: str, duck_type: str) -> str:
    """SQL reading a time column as TIMESTAMPTZ in UTC, NULL when it cannot be read:
    ISO 8601 with or without offset (naive = UTC, the connection's zone), or epoch
    seconds (integer or with a fraction; sub-seconds kept to the microsecond)."""
    base = duck_type.upper()
    if base in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        value = column_sql
    elif base in _TIMESTAMP:
        value = f"CAST({column_sql} AS TIMESTAMPTZ)"
    elif base in _INTEGER or base in _FLOAT or base.startswith("DECIMAL"):
        value = _epoch(f"CAST({column_sql} AS DECIMAL(38, 6))")
    else:
        text = (f"json_extract_string({column_sql}, '$')" if base == "JSON"
                else f"CAST({column_sql} AS VARCHAR)")
        value = (f"coalesce(try_cast({text} AS TIMESTAMPTZ), "
                 f"{_epoch(f'try_cast({text} AS DECIMAL(38, 6))')})")
    # 'infinity' and the like parse but are not times, nor are times past what can be
    # shown. (DuckDB evaluates the repeated expression once.)
    return f"CASE WHEN {in_time_range(value)} THEN {value} END"


def in_time_range(time_sql: str) -> str:
    """SQL condition: a TIMESTAMPTZ is finite and within TIME_MIN..TIME_MAX (NULL for
    NULL)."""
    return f"({time_sql}) BETWEEN {TIME_MIN} AND {TIME_MAX}"


def has_control_character(text_sql: str) -> str:
    """SQL condition: the text holds a control character (NULL for NULL)."""
    return f"regexp_matches({text_sql}, '{_CONTROL_RE2}')"


def not_a_time(time_sql: str) -> str:
    """SQL condition: the time (from time_value) could not be read."""
    return f"({time_sql}) IS NULL"


def _epoch(seconds_sql: str) -> str:
    # Exact decimal seconds to integer microseconds; out-of-range values become NULL.
    return (f"try(CAST(make_timestamp(CAST(round({seconds_sql} * 1000000) AS BIGINT)) "
            f"AS TIMESTAMPTZ))")


def text_value(column_sql: str, duck_type: str) -> str:
    if duck_type.upper() == "VARCHAR":
        return column_sql
    if duck_type.upper() == "JSON":
        return f"json_extract_string({column_sql}, '$')"
    return f"CAST({column_sql} AS VARCHAR)"


def q(name: str) -> str:
    return duck.quote_identifier(name)


@dataclass(frozen=True)
class Renamed:
    source: str
    stored: str

    def note(self, what: str) -> str:
        return (f"{what} column '{self.source}' is stored as '{self.stored}' because "
                f"'{self.source}' is a reserved name")


def property_names(names: list[str], reserved: tuple[str, ...]) -> tuple[dict[str, str],
                                                                          list[Renamed]]:
    """Stored name for each source column that becomes a property. Names keep their
    spelling; a name equal to a reserved one (or to another property, ignoring case, as
    DuckDB does) gets a suffix."""
    taken = {r.lower() for r in reserved}
    stored: dict[str, str] = {}
    renamed: list[Renamed] = []
    for name in names:
        candidate = name
        if candidate.lower() in taken:
            base = f"{name}_original"
            candidate, n = base, 2
            while candidate.lower() in taken:
                candidate, n = f"{base}{n}", n + 1
            renamed.append(Renamed(name, candidate))
        taken.add(candidate.lower())
        stored[name] = candidate
    return stored, renamed


def all_integer_ids_sql(column_sql: str) -> str:
    """SQL aggregate: true when every id reads back the same as a BIGINT (so no leading
    zeros, signs or spaces are lost by storing it as a number)."""
    return (f"coalesce(bool_and(coalesce(CAST(try_cast({column_sql} AS BIGINT) AS VARCHAR) "
            f"= {column_sql}, false)), false)")
