"""Entry cards, drawn once per content and kept (one cache per web process).

A session at Test with fifty members holds 150 cards, each with its chart and numbers:
drawing them all is most of what a page costs. A card looks the same to every member but
for two things: whether they may run its test (the author, the facilitator) and their own
CSRF token in that button's form. So a card is kept by everything it shows plus that one
right, drawn with a placeholder for the token, and each member's token is put in when it
is used. The drawing for everyone (sessions.regions, `shared`) has no token at all.

The q-value line is not part of a card: it moves with every test of the session, so it is
drawn apart (session_ui.q_line) and a card stays valid while its result does."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

CACHE_SIZE = 4000
TOKEN = "__csrf_token_of_this_member__"
_kept: OrderedDict[str | tuple, str] = OrderedDict()  # cards by _key, the rest by digest


def card(entry, context) -> SafeString:
    """`context`: the page's (a Context or a dict) with team, session, step, shared,
    is_participant, finding_form, test_check and csrf_token."""
    get = context.get
    shared = bool(get("shared"))
    check = get("test_check")
    values = {
        "entry": entry, "team": get("team"), "session": get("session"), "shared": shared,
        "is_participant": get("is_participant"), "finding_form": bool(get("finding_form")),
        "test_check": check if check and check["entry_id"] == entry.pk else None,
        "csrf_token": None if shared else TOKEN,
    }
    if values["test_check"] is not None:
        # A member's own check of this card's group, just asked: theirs alone, drawn
        # with the whole page's context (the check's quick count needs it).
        whole = context.flatten() if hasattr(context, "flatten") else dict(context)
        values["csrf_token"] = get("csrf_token")
        return mark_safe(render_to_string("worksessions/_entry_card.html", {**whole, **values}))
    key = _key(entry, values, get("step"))
    html = _kept.get(key)
    if html is None:
        html = render_to_string("worksessions/_entry_card.html", values)
        _kept[key] = html
        if len(_kept) > CACHE_SIZE:
            _kept.popitem(last=False)
    else:
        _kept.move_to_end(key)
    return with_token(html, context)


def kept(key: tuple, draw) -> str:
    """Any other drawing that depends only on `key` (a finding, say): drawn once, kept."""
    name = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    html = _kept.get(name)
    if html is None:
        html = _kept[name] = draw()
        if len(_kept) > CACHE_SIZE:
            _kept.popitem(last=False)
    else:
        _kept.move_to_end(name)
    return html


def with_token(html: str, context) -> SafeString:
    """`html` drawn with TOKEN, with the member's own token of `context` in its place."""
    token = context.get("csrf_token")
    return mark_safe(html.replace(TOKEN, str(token)) if token and TOKEN in html else html)


def _key(entry, values: dict, step) -> tuple:
    """Everything the card shows, as a tuple of plain values (strings, numbers, None)
    that is the cache's key itself. The entry's own part is one text, on a kept entry the
    same string every drawing, whose hash Python keeps. (A digest of all of it written out
    as text was a seventh of a drawing at 600 cards.)"""
    row = getattr(entry, "result", None)
    team = values["team"]
    return (
        _entry_key(entry, kept=values["shared"]), values["shared"],
        getattr(entry, "can_run", False), getattr(entry, "can_run_shared", False),
        getattr(entry, "needs_test", False), step, values["finding_form"],
        values["is_participant"], values["session"].is_closed if values["session"] else None,
        team.slug if team else None,  # in the card's URLs
        _result_key(row),
    )


def _entry_key(entry, *, kept: bool) -> str:
    """What the card shows of the entry itself, as text. In the drawing for everyone an
    entry is one sessions.kept_rows keeps, built anew when any of this changes, so its
    text is worked out once per instance (at 600 cards, writing out every entry's dates
    and criterion was a sixth of a drawing)."""
    text = entry.__dict__.get("_card_key") if kept else None
    if text is None:
        author = entry.author
        text = repr((entry.pk, entry.text, entry.criterion, entry.rank, entry.origin,
                     entry.author_id, author.name if author else None,
                     author.email if author else None, entry.expected_direction,
                     entry.confidence, entry.revealed_at))
        if kept:
            entry._card_key = text
    return text


def _result_key(row) -> tuple | None:
    """Everything of a result its card shows, except the q-value line."""
    if row is None:
        return None
    return (row.data_key, row.verdict, row.direction, row.sentence, row.min_detectable_lift,
            row.is_latest, row.expectation_outcome)
