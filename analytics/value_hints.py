"""The values in the data as forms offer them: one datalist per profiled property (its
common values with how many users have each; for numbers min, quartiles and max), keyed
so that static/js/values.js can attach the right one to a value input as its property is
chosen. Read from the stored profile (analytics.selectors.value_profile_of): no data."""

from __future__ import annotations

from analytics import numbers

# How a form's select names a property: the session builder by scope ("user:plan"), the
# explorer by subject ("property:plan", "first:device").
KEYS = {"user": ("user", "property"), "event": ("event", "first")}


def value_lists(profile: dict | None, prefix: str) -> list[dict]:
    """[{"id", "keys" (newline-separated), "summary", "options": [(value, label)]}]."""
    lists = []
    for scope, keys in KEYS.items():
        properties = (profile or {}).get(f"{scope}_properties") or {}
        for index, name in enumerate(sorted(properties)):
            info = properties[name] or {}
            options = _options(info)
            summary = _summary(info)
            if not options and not summary:
                continue
            lists.append({"id": f"{prefix}-{scope}-values-{index}",
                          "keys": "\n".join(f"{key}:{name}" for key in keys),
                          "summary": summary, "options": options})
    return lists


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _users(count: int) -> str:
    return f"{numbers.count(count)} user{'' if count == 1 else 's'}"


def _options(info: dict) -> list[tuple[str, str]]:
    if info.get("top"):
        return [(_text(value), _users(users)) for value, users in info["top"]]
    if info.get("quartiles"):
        low, (q1, q2, q3), high = info.get("min"), info["quartiles"], info.get("max")
        marks = [(low, "smallest"), (q1, "25% are below"), (q2, "median"),
                 (q3, "75% are below"), (high, "largest")]
        return [(_text(v), label) for v, label in marks if v is not None]
    return []


def _summary(info: dict) -> str:
    kind = info.get("type")
    if kind in ("integer", "float") and info.get("min") is not None:
        quartiles = info.get("quartiles") or []
        middle = (" · quartiles " + " / ".join(_text(q) for q in quartiles)) if quartiles else ""
        return f"min {_text(info['min'])}{middle} · max {_text(info['max'])}"
    if kind == "timestamp" and info.get("min"):
        return f"from {str(info['min'])[:10]} to {str(info['max'])[:10]}"
    distinct = info.get("distinct", 0)
    if info.get("top") and not info.get("complete", True):
        return (f"the {len(info['top'])} most common of {numbers.count(distinct)} values; "
                "others may be typed")
    if info.get("top"):
        return f"{numbers.count(distinct)} value{'' if distinct == 1 else 's'}"
    return ""
