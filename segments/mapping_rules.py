"""What a mapping must hold before the team can confirm it, and what changed between two
mappings (for the log on the mapping page). Plain functions over the dicts of
segments.roles.

Which roles are required. The import already fixes who, what and when (user id, event,
timestamp), and the data decides the rest: a users-only table (bank marketing) has no
login event, loan applications (BPIC) have no signup, so no single role can be demanded
of every dataset. What the catalog cannot work without is:
- at least one event or column named: with nothing named, only "time in the app" is left
  and the dashboards' and sessions' segment catalog is empty (an empty form once blanked a
  confirmed mapping this way, issue 12);
- a device column for the values that mean mobile or desktop: those values are read in
  that column and mean nothing without it.
Bins do not count as naming anything: they have defaults, and are used only with their
column."""

from __future__ import annotations

from typing import Any

from .roles import ROLES, ROLES_BY_KEY

# role -> the role it is read with
NEEDS = {"mobile_values": "device", "desktop_values": "device"}
NOTHING_NAMED = ("Name at least one event or column: a mapping that names nothing gives the "
                 "segment catalog nothing to build on.")


def missing_required(roles: dict) -> list[str]:
    """Why `roles` cannot be confirmed, as sentences; empty when it can."""
    problems = []
    if not any(roles.get(role.key) for role in ROLES if role.kind != "bins"):
        problems.append(NOTHING_NAMED)
    for key, base in NEEDS.items():
        if roles.get(key) and not roles.get(base):
            problems.append(f"{ROLES_BY_KEY[key].label}: choose the "
                            f"{ROLES_BY_KEY[base].label.lower()} column they are read in, "
                            "or leave them empty.")
    return problems


def required_note(key: str) -> str:
    """What the mapping form says next to a role that needs another."""
    base = NEEDS.get(key)
    return f"Needs {ROLES_BY_KEY[base].label}." if base else ""


def changes_between(before: dict, after: dict) -> dict[str, dict[str, Any]]:
    """{role: {"from", "to"}} for every role whose value differs, in the roles' order."""
    return {role.key: {"from": _empty(before.get(role.key)), "to": _empty(after.get(role.key))}
            for role in ROLES
            if _empty(before.get(role.key)) != _empty(after.get(role.key))}


def _empty(value: Any) -> Any:
    return value if value not in ("", [], {}) else None


def describe(key: str, value: Any) -> str:
    """A role's value in a few words: an event, a list, a column with where it is."""
    if value in (None, "", [], {}):
        return "none"
    if isinstance(value, dict):  # a property reference
        where = "users'" if value.get("scope") == "user" else "events'"
        text = f"{where} {value.get('name')}"
        shown = value.get("values") or []
        return text + (f" ({', '.join(map(str, shown[:5]))}{'…' if len(shown) > 5 else ''})"
                       if shown else "")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def describe_changes(changes: dict) -> list[dict[str, str]]:
    """The log's lines: [{"role": label, "from": text, "to": text}]."""
    lines = []
    for key, change in changes.items():
        role = ROLES_BY_KEY.get(key)
        lines.append({"role": role.label if role else key,
                      "from": describe(key, change.get("from")),
                      "to": describe(key, change.get("to"))})
    return lines
