"""The criterion builder: a form of condition rows (never typed SQL) that becomes a
criterion of definitions.md section 3, and a criterion drawn back as rows to edit it.

Each row is one condition of a kind (user property, number of events, did an event,
event property aggregate, first-event property, sessions, time in app), optionally
negated and with one condition on the events' own properties; the rows combine with
"all" or "any". Values are typed by the dataset's schema; the engine's validation then
says exactly what is wrong ("plan is text; 3 is not")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from analytics.engine import values
from analytics.engine.definitions import AGGREGATES, VALUE_TYPES
from analytics.engine.refusals import Refused
from analytics.engine.storage import DatasetSchema
from analytics.engine.wording import format_value, operator_choices

PREFIX = "c"
MAX_ROWS = 6

KINDS = [
    ("property", "User property"),
    ("event_count", "Number of events"),
    ("did_event", "Did an event"),
    ("did_not_event", "Did not do an event"),
    ("event_property", "Event property (total, average…)"),
    ("first_event_property", "Property of the first event"),
    ("session_count", "Number of sessions"),
    ("time_in_app", "Minutes in the app"),
]
KIND_LABELS = dict(KINDS)
OPERATORS = operator_choices(("=", "!=", ">=", ">", "<=", "<", "in", "not_in", "between",
                              "contains", "is_set", "is_not_set"))
AGG_LABELS = {"sum": "total", "avg": "average", "min": "smallest", "max": "largest",
              "count_distinct": "distinct values"}
WINDOWED = {"event_count", "did_event", "did_not_event", "event_property", "session_count",
            "time_in_app"}
WITH_EVENT = {"event_count", "did_event", "did_not_event", "event_property"}
# Which inputs each kind shows (session.js hides the others; without it all are shown).
FIELDS_BY_KIND = {
    "user_property": {"property"},
    "event": WITH_EVENT,
    "agg": {"event_property"},
    "event_property": {"event_property", "first_event_property"},
    "op": {"property", "event_count", "event_property", "first_event_property",
           "session_count", "time_in_app"},
    "value": {"property", "event_count", "event_property", "first_event_property",
              "session_count", "time_in_app"},
    "within_days": WINDOWED,
    "where": WITH_EVENT,
}
NO_VALUE = {"is_set", "is_not_set"}
_INTEGER = re.compile(r"^[+-]?\d+$")


class BuilderError(Refused, ValueError):
    pass


@dataclass
class Row:
    kind: str = ""
    user_property: str = ""
    event: str = ""
    agg: str = "sum"
    event_property: str = ""
    op: str = "="
    value: str = ""
    within_days: str = ""
    negate: bool = False
    where_property: str = ""
    where_op: str = "="
    where_value: str = ""
    error: str = ""


@dataclass
class Builder:
    schema: DatasetSchema
    rows: list[Row] = field(default_factory=lambda: [Row()])
    combine: str = "all"
    prefix: str = PREFIX
    # What the check before keeping the criterion found: {"warnings", "count"} (the view
    # sets it; _criterion_check.html draws it).
    check: dict | None = None

    # ------------------------------------------------------------ reading a form

    @classmethod
    def from_data(cls, schema: DatasetSchema, data, *, prefix: str = PREFIX) -> Builder:
        try:
            count = int(data.get(f"{prefix}-rows", 1))
        except (TypeError, ValueError):
            count = 1
        count = max(1, min(count, MAX_ROWS))
        rows = []
        for i in range(count):
            def get(name: str, default: str = "", i: int = i) -> str:
                return str(data.get(f"{prefix}-{i}-{name}", default) or "").strip()

            rows.append(Row(
                kind=get("kind"), user_property=get("user_property"), event=get("event"),
                agg=get("agg", "sum") or "sum", event_property=get("event_property"),
                op=get("op", "=") or "=", value=get("value"), within_days=get("within_days"),
                negate=get("negate") in ("on", "1", "true"),
                where_property=get("where_property"), where_op=get("where_op", "=") or "=",
                where_value=get("where_value"),
            ))
        combine = data.get(f"{prefix}-combine", "all")
        return cls(schema=schema, rows=rows, combine="any" if combine == "any" else "all",
                   prefix=prefix)

    def with_action(self, action: str) -> bool:
        """Apply "add" / "remove-N" from the form's builder buttons; True if one applied."""
        if action == "add" and len(self.rows) < MAX_ROWS:
            self.rows.append(Row())
            return True
        if action.startswith("remove-"):
            try:
                index = int(action.split("-", 1)[1])
            except ValueError:
                return False
            if 0 <= index < len(self.rows):
                del self.rows[index]
                if not self.rows:
                    self.rows.append(Row())
                return True
        return False

    def criterion(self) -> dict | None:
        """The criterion the rows describe (None when every row is empty). Raises
        BuilderError with a message per row (also left on the rows for the form)."""
        parts = []
        problems = []
        for number, row in enumerate(self.rows, start=1):
            row.error = ""
            if not row.kind:
                continue
            try:
                parts.append(self._row_criterion(row))
            except BuilderError as error:
                row.error = str(error)
                problems.append(f"Condition {number}: {error}")
        if problems:
            raise BuilderError(" ".join(problems))
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return {self.combine: parts}

    def _row_criterion(self, row: Row) -> dict:
        kind = row.kind
        if kind not in KIND_LABELS:
            raise BuilderError("choose what kind of condition this is")
        node: dict[str, Any]
        if kind == "property":
            if not row.user_property:
                raise BuilderError("choose a user property")
            node = {"kind": "property", "property": row.user_property}
            self._compare(node, row, self._type(self.schema.user_properties, row.user_property))
        elif kind in ("did_event", "did_not_event"):
            node = {"kind": "did_event", "event": self._event(row)}
            if kind == "did_not_event":
                node["did"] = False
        elif kind == "event_count":
            node = {"kind": "event_count", "event": self._event(row)}
            self._compare(node, row, "number")
        elif kind == "event_property":
            if not row.event_property:
                raise BuilderError("choose the event property to aggregate")
            if row.agg not in AGGREGATES:
                raise BuilderError("choose total, average, smallest, largest or distinct")
            node = {"kind": "event_property", "event": self._event(row),
                    "property": row.event_property, "agg": row.agg}
            value_type = ("number" if row.agg in ("sum", "avg", "count_distinct")
                          else self._type(self.schema.event_properties, row.event_property))
            self._compare(node, row, value_type)
        elif kind == "first_event_property":
            if not row.event_property:
                raise BuilderError("choose a property of the first event")
            node = {"kind": "first_event_property", "property": row.event_property}
            self._compare(node, row, self._type(self.schema.event_properties,
                                                row.event_property))
        else:  # session_count, time_in_app
            node = {"kind": kind}
            self._compare(node, row, "number")
        if kind in WINDOWED and row.within_days:
            if not _INTEGER.match(row.within_days) or int(row.within_days) < 1:
                raise BuilderError("the window is a whole number of days, e.g. 7")
            node["within_days"] = int(row.within_days)
        if kind in WITH_EVENT and row.where_property:
            where = {"property": row.where_property, "op": row.where_op}
            value_type = self._type(self.schema.event_properties, row.where_property)
            if row.where_op not in NO_VALUE:
                where["value"] = parse_value(row.where_value, row.where_op, value_type)
            node["where"] = [where]
        return {"not": node} if row.negate else node

    def _event(self, row: Row) -> str:
        if not row.event:
            raise BuilderError("choose an event")
        return row.event

    @staticmethod
    def _type(properties: dict[str, str], name: str) -> str:
        return VALUE_TYPES.get(properties.get(name, "text"), "text")

    @staticmethod
    def _compare(node: dict, row: Row, value_type: str) -> None:
        node["op"] = row.op
        if row.op not in NO_VALUE:
            node["value"] = parse_value(row.value, row.op, value_type)

    # ------------------------------------------------------------ drawing a criterion

    @classmethod
    def from_criterion(cls, schema: DatasetSchema, criterion: dict | None, *,
                       prefix: str = PREFIX) -> Builder | None:
        """Rows for a criterion, or None when it has a shape the rows cannot show (nested
        combinations, several where conditions): it is then kept as it is."""
        if not criterion:
            return cls(schema=schema, prefix=prefix)
        combine, parts = "all", [criterion]
        for key in ("all", "any"):
            if key in criterion:
                combine, parts = key, criterion[key]
        rows = []
        for part in parts:
            row = _row_of(part)
            if row is None:
                return None
            rows.append(row)
        if len(rows) > MAX_ROWS:
            return None
        return cls(schema=schema, rows=rows, combine=combine, prefix=prefix)

    # ------------------------------------------------------------ for the template

    def choices(self) -> dict:
        return {
            "kinds": KINDS, "operators": OPERATORS,
            "aggregates": [(a, AGG_LABELS[a]) for a in AGGREGATES],
            "events": sorted(self.schema.events), "user_properties": self.schema.user_properties,
            "event_properties": self.schema.event_properties, "fields_by_kind": {
                name: " ".join(sorted(kinds)) for name, kinds in FIELDS_BY_KIND.items()},
            "max_rows": MAX_ROWS,
        }


def parse_value(text: str, op: str, value_type: str) -> Any:
    """Lenient (analytics.engine.values): a number that is not one stays text, and the
    engine's validation names the problem with the property's name."""
    text = (text or "").strip()
    if op in values.LIST_OPERATORS:
        parsed = values.parse_list(text, value_type, lenient=True)
        if not parsed:
            raise BuilderError("give the values, separated by commas")
        return parsed
    if op == "between":
        try:
            return values.parse_range(text, value_type, lenient=True)
        except values.BadValue as bad:
            raise BuilderError(bad.message) from None
    if text == "":
        raise BuilderError("give a value to compare with")
    return values.parse_value(text, value_type, lenient=True)


def _row_of(node: dict) -> Row | None:
    negate = False
    if isinstance(node, dict) and set(node) == {"not"}:
        negate, node = True, node["not"]
    if not isinstance(node, dict) or "kind" not in node:
        return None
    where = node.get("where") or []
    if len(where) > 1:
        return None
    kind = node["kind"]
    row = Row(negate=negate, within_days=str(node.get("within_days") or ""),
              op=node.get("op", "="), value=_as_text(node.get("value")))
    if kind == "property":
        row.kind, row.user_property = "property", node["property"]
    elif kind == "did_event":
        row.kind = "did_event" if node.get("did", True) else "did_not_event"
        row.event = node["event"]
    elif kind == "event_count":
        row.kind, row.event = kind, node["event"]
    elif kind == "event_property":
        row.kind, row.event = kind, node["event"]
        row.event_property, row.agg = node["property"], node["agg"]
    elif kind == "first_event_property":
        row.kind, row.event_property = kind, node["property"]
    elif kind in ("session_count", "time_in_app"):
        if node.get("session_gap_minutes") not in (None, 30):
            return None
        row.kind = kind
    else:
        return None
    if where:
        row.where_property = where[0]["property"]
        row.where_op = where[0]["op"]
        row.where_value = _as_text(where[0].get("value"))
    return row


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return format_value(value)
