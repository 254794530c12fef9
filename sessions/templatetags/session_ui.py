"""Words and small formats of the session pages and the report (numbers are formatted by
analytics' number_format filters)."""

from __future__ import annotations

import re
from html import escape

from django import template
from django.utils.safestring import mark_safe

from analytics.engine.wording import describe_criterion
from analytics.templatetags.number_format import pvalue_eq

from .. import cards, kept_forms, verdicts
from ..results import users_phrase
from ..steps import ORDER, label

register = template.Library()

# Markup anywhere in a line: code, emphasis, links and images, tables, raw HTML and
# entities, headings, strikethrough (and the backslash itself).
MD_INLINE = frozenset("\\`*_[]|<>#&~")
MD_LINE_START = frozenset("-+=")
MD_ORDERED = re.compile(r"(\d+)[.)]")


@register.filter
def verdict_label(verdict) -> str:
    return verdicts.label(verdict)


@register.filter
def verdict_badge(verdict) -> str:
    """The badge class of a verdict or state (a finding's evidence keeps only the word)."""
    return verdicts.badge(verdict)


@register.filter
def clock(seconds) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def md(value) -> str:
    """User text made safe inside Markdown (CommonMark, with tables and strikethrough): one
    line, every character that could start markup or raw HTML backslash-escaped, so that a
    renderer shows it as typed. No heading, table, link, emphasis, list or `<script>` can
    come out of a name or a hypothesis (issue 12)."""
    text = " ".join(str(value or "").split())
    text = "".join("\\" + char if char in MD_INLINE else char for char in text)
    # At the start of a line these begin a list, a rule or a heading underline.
    if text[:1] in MD_LINE_START:
        return "\\" + text
    number = MD_ORDERED.match(text)
    if number:
        return f"{number[1]}\\{text[len(number[1]):]}"
    return text


@register.filter
def md_block(value) -> str:
    """Multi-line user text as a Markdown block quote, each line escaped."""
    lines = str(value or "").strip().splitlines() or [""]
    return "\n".join("> " + md(line) for line in lines)


@register.filter
def criterion_text(criterion) -> str:
    """A criterion in plain words ("3 or more login events in the first 7 days")."""
    if not criterion:
        return ""

    try:
        return describe_criterion(criterion)
    except (KeyError, TypeError, ValueError):
        return str(criterion)


@register.filter
def item(mapping, key):
    """mapping[key] for keys a template cannot spell ("not enough data")."""
    try:
        return mapping.get(key, 0)
    except AttributeError:
        return 0


@register.filter
def users_who(criterion) -> str:
    """"Users who did export…", "Users whose plan is pro", "Users with 3 or more…"."""
    if not criterion:
        return ""

    return users_phrase(criterion, criterion_text(criterion))


@register.filter
def step_label(value) -> str:
    return label(value) if value in ORDER else str(value or "")


@register.filter
def lowerfirst(value) -> str:
    text = str(value or "")
    return text[:1].lower() + text[1:]


@register.filter
def minutes(duration) -> str:
    """A timedelta as "20 minutes" (or "1.5 minutes")."""
    if duration is None:
        return ""
    value = duration.total_seconds() / 60
    text = str(int(value)) if value.is_integer() else f"{value:.1f}"
    return f"{text} minute{'' if text == '1' else 's'}"


@register.filter
def dots(count) -> str:
    """A count of votes drawn as dots (the number is always written beside them)."""
    try:
        return "●" * max(0, min(int(count or 0), 50))
    except (TypeError, ValueError):
        return ""


@register.simple_tag(takes_context=True)
def entry_card(context, entry):
    """An entry's card, kept once drawn (sessions.cards)."""
    return cards.card(entry, context)


@register.simple_tag(takes_context=True)
def kept_entry_form(context):
    """The empty form for one's next entry, kept once drawn (sessions.kept_forms)."""
    return kept_forms.entry_form(context)


@register.simple_tag(takes_context=True)
def kept_finding_form(context):
    """The empty finding form, kept once drawn (sessions.kept_forms)."""
    return kept_forms.finding_form(context)


@register.simple_tag
def q_line(row) -> str:
    """A result's q-value as a line of its own (`#q-<test>`): it moves with every test of
    the session, so a live drawing redraws all of them (500 in a big session) while their
    cards stay as they are; formatted here, not by a template render each. (Escaped as
    Django's format_html would, with the standard library's escape: at 600 lines per
    drawing, format_html's lazy wrappers were a tenth of a drawing.)"""
    return mark_safe(f'<span id="q-{int(row.test.pk)}">{escape(pvalue_eq(row.q_value))}</span>')


@register.simple_tag
def evidence_option(value, label) -> str:
    """One result a finding may link to, as an option of the page's #evidence-options
    (a live fragment of its own, `ev-<test>`: a verdict arriving resends one line).
    Escaped as q_line is."""
    value = escape(str(value))
    return mark_safe(f'<option id="ev-{value}" value="{value}">{escape(str(label))}</option>')


@register.filter
def dom_ids(items, prefix: str) -> str:
    """A live list's `data-list`: the DOM ids of its items in order, "entry-4 entry-9 "
    (objects by their pk, or ids), which static/js/live.js turns into placeholders."""
    return "".join(f"{prefix}-{getattr(item, 'pk', item)} " for item in items)
