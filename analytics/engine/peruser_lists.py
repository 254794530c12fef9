"""A per-user table from lists of event times, for files analysed in place.

On a published version the events pass (peruser_columns) joins every event row to its
user's first-seen time, which the import stored. Files analysed in place have no such
column: their checking pass groups the events by user once already, for the first-seen
time. When it also keeps, per user, the times of the events a command names (inplace's
listed events), a per-user table whose measures all count events of those names needs
no second read of the files: each count is the length of a list of times, filtered by
the user's window where there is one. That is the floor's own one-pass form
(bench/files.py), and at 300k users and 5M events it saves the second read's half a
second of CPU for a third of a second more in the checking pass.

The counts equal the events pass's: the same rows (the named events of the user, every
time of which is known, since the checking pass refuses a missing one), the same
window (first seen + days, to the microsecond) and the same comparison."""

from __future__ import annotations

from analytics.engine import duck
from analytics.engine.peruser_columns import PerUserQuery, PerUserSql, window_end
from analytics.engine.sql import Sql


def lists_sql(query: PerUserQuery, users: Sql, lists: Sql,
              listed: dict[str, str]) -> PerUserSql | None:
    """The per-user table of `query` over `users` and `lists` (a FROM item: `_uid`,
    `first_ts` and, for each event name in `listed`, the column of its times), or None
    when a measure needs more than those lists (conditions on properties, sessions,
    first-event properties, events not listed)."""
    if query.sessions or query.first_seen or not query.inner.items:
        return None
    windows: dict[int, str] = {}
    counts: list[Sql] = []
    for alias, _ in query.inner.items:
        named = query.named_counts.get(alias)
        if named is None or any(event not in listed for event in named[0]):
            return None
        events, days = named
        if days is not None:
            windows.setdefault(days, f"__hl_w{len(windows)}")
        # A user without such events has no list (NULL): 0, as count_if would say.
        lengths = [
            (f"coalesce(len(list_filter({duck.quote_identifier(listed[event])}, "
             f"lambda t: t < {windows[days]})), 0)") if days is not None
            else f"coalesce(len({duck.quote_identifier(listed[event])}), 0)"
            for event in events]
        counts.append(Sql(f"{' + '.join(lengths)} AS {alias}"))
    # The window's end as the events pass computes it.
    ends = [window_end("first_ts", days).wrap("", f" AS {column}")
            for days, column in windows.items()]
    inner = Sql.join([Sql("_uid"), *counts])
    within = Sql.join([Sql("*"), *ends])
    # Our own aliases and quoted column names only; values bind.
    aggregates = Sql(f"SELECT {inner.text} FROM (SELECT {within.text} "  # noqa: S608
                     f"FROM {lists.text})", [*inner.params, *within.params, *lists.params])
    joins = aggregates.wrap("LEFT JOIN (", ") a ON a._uid = m._uid")
    return PerUserSql((), query.outer_select(users, joins), narrow=False)
