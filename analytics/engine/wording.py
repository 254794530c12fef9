"""Plain-words descriptions of definitions, for the UI, reports and discovery labels:
"did purchase within 14 days of first visit", "3 or more login events in the first 7 days".
Works on validated (normalized) definitions; tolerant of missing optional keys."""

from __future__ import annotations

from typing import Any

# One word for each operator on every screen (criterion builders, the explorer, dashboard
# forms): the way a person reads "age [at least] 30" aloud.
OPERATOR_LABELS = {
    "=": "is", "!=": "is not", ">=": "at least", ">": "more than", "<=": "at most",
    "<": "less than", "in": "is one of", "not_in": "is none of", "between": "between",
    "contains": "contains", "is_set": "is set", "is_not_set": "is not set",
}


def operator_label(op: str) -> str:
    return OPERATOR_LABELS.get(op, op)


def operator_choices(ops) -> list[tuple[str, str]]:
    """(operator, label) pairs for a form's select, in the given order."""
    return [(op, operator_label(op)) for op in ops]


_AGG_WORDS = {"sum": "total", "avg": "average", "min": "smallest", "max": "largest",
              "count_distinct": "number of distinct"}


def format_value(value: Any) -> str:
    """A value as people write it: numbers without a trailing .0, true/false, text as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def describe_success(success: dict) -> str:
    if "property" in success:
        return _condition(success["property"], success["op"], success.get("value"))
    events = list(success.get("events") or [])
    joiner = " and " if success.get("match") == "all" else " or "
    text = "did " + _join(events, joiner)
    if success.get("where"):
        text += " (" + _where(success["where"]) + ")"
    if success.get("within_days"):
        text += f" within {_days(success['within_days'])} of first visit"
    return text


def describe_criterion(criterion: dict) -> str:
    return _criterion(criterion, top=True)


def describe_breakdown(breakdown: dict) -> str:
    if "breakdown" in breakdown and len(breakdown) == 1:
        breakdown = breakdown["breakdown"]
    subject = (breakdown["property"] if "property" in breakdown
               else describe_metric(breakdown["metric"]))
    text = f"by {subject}"
    if breakdown.get("bins"):
        text += " (bins at " + ", ".join(format_value(b) for b in breakdown["bins"]) + ")"
    return text


def describe_metric(metric: dict) -> str:
    kind = metric["kind"]
    window = _window(metric)
    if kind == "event_count":
        return f"number of {metric['event']} events{_where_suffix(metric)}{window}"
    if kind == "did_event":
        return f"did {metric['event']}{_where_suffix(metric)}{window}"
    if kind == "event_property":
        agg = _AGG_WORDS.get(metric["agg"], metric["agg"])
        return (f"{agg} {metric['property']} of {metric['event']} events"
                f"{_where_suffix(metric)}{window}")
    if kind == "first_event_property":
        return f"{metric['property']} of the first event"
    if kind == "session_count":
        return f"number of sessions{_gap(metric)}{window}"
    if kind == "time_in_app":
        return f"minutes in the app{_gap(metric)}{window}"
    return kind


def _criterion(node: dict, top: bool = False) -> str:
    for key, word in (("all", " and "), ("any", " or ")):
        if key in node:
            text = word.join(_criterion(part) for part in node[key])
            return text if top or len(node[key]) == 1 else f"({text})"
    if "not" in node:
        return f"not ({_criterion(node['not'], top=True)})"
    kind = node.get("kind")
    op, value = node.get("op"), node.get("value")
    if kind == "property":
        return _condition(node["property"], op, value)
    if kind == "did_event":
        verb = "did" if node.get("did", True) else "did not do"
        return f"{verb} {node['event']}{_where_suffix(node)}{_window(node)}"
    if kind == "event_count":
        return f"{_count(op, value, node['event'] + ' events')}{_where_suffix(node)}{_window(node)}"
    if kind == "session_count":
        return f"{_count(op, value, 'sessions')}{_gap(node)}{_window(node)}"
    if kind == "time_in_app":
        return f"{_count(op, value, 'minutes in the app')}{_gap(node)}{_window(node)}"
    if kind in ("event_property", "first_event_property"):
        return _condition(describe_metric(node), op, value)
    return str(node)


def _count(op: str, value: Any, noun: str) -> str:
    if op in ("in", "not_in", "between", "is_set", "is_not_set"):
        return _condition(f"number of {noun}", op, value)
    v = format_value(value)
    phrase = {">=": f"{v} or more", ">": f"more than {v}", "<=": f"{v} or fewer",
              "<": f"fewer than {v}", "=": f"exactly {v}", "!=": f"not exactly {v}"}
    return f"{phrase.get(op, f'{op} {v}')} {noun}"


def _condition(subject: str, op: str, value: Any) -> str:
    if op == "=":
        return f"{subject} is {format_value(value)}"
    if op == "!=":
        return f"{subject} is not {format_value(value)}"
    if op in ("in", "not_in"):
        values = _join([format_value(v) for v in value or []], " or ")
        return f"{subject} is {'not ' if op == 'not_in' else ''}{values}"
    if op == "between":
        low, high = value
        return f"{subject} is between {format_value(low)} and {format_value(high)}"
    if op == "is_set":
        return f"{subject} is set"
    if op == "is_not_set":
        return f"{subject} is not set"
    if op == "contains":
        return f"{subject} contains '{value}'"
    return f"{subject} {op} {format_value(value)}"


def _where(where: list[dict]) -> str:
    return " and ".join(_condition(c["property"], c["op"], c.get("value")) for c in where)


def _where_suffix(node: dict) -> str:
    return f" where {_where(node['where'])}" if node.get("where") else ""


def _window(node: dict) -> str:
    days = node.get("within_days")
    return f" in the first {_days(days)}" if days else ""


def _gap(node: dict) -> str:
    gap = node.get("session_gap_minutes")
    return f" (sessions split at {format_value(gap)}-minute gaps)" if gap not in (None, 30) else ""


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _join(items: list[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + word + items[-1]
