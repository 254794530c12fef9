"""Every text a person can write comes out of the Markdown export as text (issue 12,
point 8): a payload of raw HTML and Markdown syntax goes into every CharField and TextField
of the project's models (found from the models, as tests/security/test_escaping.py does
for HTML), and into the free text inside JSON (a criterion's value and event name, a
finding's evidence, the log's definition change). The session's report is exported, then
rendered by a standard CommonMark renderer (markdown-it, which passes raw HTML through,
with tables and strikethrough on): no payload may come out as HTML or as Markdown
structure, and each one the report shows must read exactly as it was typed."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from markdown_it import MarkdownIt

from sessions.models import Finding, Hypothesis, SessionEvent, WorkingSession

from .test_escaping import text_fields

pytestmark = pytest.mark.django_db

# Where the report shows text people wrote: each must be shown, so that the test proves
# it escaped rather than absent.
MUST_BE_SHOWN = [
    "accounts.User.display_name", "analytics.Dataset.name",
    "analytics.SuccessDefinition.name", "analytics.SuccessDefinition.description",
    "worksessions.WorkingSession.title", "worksessions.Hypothesis.text",
    "worksessions.Finding.text", "worksessions.NextStep.text",
    "worksessions.Hypothesis.criterion.value", "worksessions.Hypothesis.criterion.event",
    "worksessions.Finding.evidence.title", "worksessions.Finding.evidence.table",
    "worksessions.SessionEvent.data.from_text",
]


def payload(number: int, max_length: int | None) -> str:
    """Raw HTML and every kind of Markdown structure, starting a list item and a new
    paragraph with a heading."""
    text = (f"- 1. <script>x({number})</script> *em{number}* [a](javascript:x) | # "
            f"~~s~~ &amp; `c` \\ _u_ > q\n\n## H{number}")
    return text if max_length is None or len(text) <= max_length else f"-<x{number}>*{number}*"


def plant(world) -> dict[str, str]:
    planted: dict[str, str] = {}
    for field in text_fields():
        model = field.model
        for pk in model.objects.values_list("pk", flat=True):
            text = payload(len(planted) + 1, field.max_length)
            model.objects.filter(pk=pk).update(**{field.attname: text})
            planted[text] = f"{model._meta.label}.{field.name}"

    def one(where: str) -> str:
        text = payload(len(planted) + 1, None)
        planted[text] = where
        return text

    session = world.objects["session"]
    for entry in Hypothesis.objects.filter(session=session, criterion__isnull=False):
        criterion = dict(entry.criterion)
        if criterion.get("kind") in ("property", "first_event_property"):
            criterion["value"] = one("worksessions.Hypothesis.criterion.value")
        elif "event" in criterion:
            criterion["event"] = one("worksessions.Hypothesis.criterion.event")
        Hypothesis.objects.filter(pk=entry.pk).update(criterion=criterion)
    for finding in Finding.objects.filter(session=session).exclude(evidence__isnull=True):
        evidence = {**finding.evidence, "title": one("worksessions.Finding.evidence.title"),
                    "table": {"columns": [one("worksessions.Finding.evidence.table")],
                              "rows": [[one("worksessions.Finding.evidence.table")]]}}
        Finding.objects.filter(pk=finding.pk).update(evidence=evidence)
    SessionEvent.objects.create(
        session=session, actor=world.owner, kind=SessionEvent.Kind.DEFINITION_CHANGED,
        data={"from_text": one("worksessions.SessionEvent.data.from_text"),
              "to_text": one("worksessions.SessionEvent.data.to_text")})
    return planted


def as_typed(text: str) -> str:
    """How the renderer must show the text: on one line, as HTML-escaped text."""
    return html.escape(" ".join(text.split()), quote=False)


def test_every_text_field_comes_out_of_the_markdown_export_as_text(world):
    planted = plant(world)
    session = WorkingSession.objects.get(pk=world.pk("session"))
    # A running session's record shows only revealed entries: reveal them all.
    Hypothesis.objects.filter(session=session).update(revealed_at=session.created_at)
    client = Client()
    client.force_login(world.owner)
    response = client.get(reverse("worksessions:session_report_md", kwargs={
        "team_slug": world.team_a.slug, "session_id": session.pk}))
    assert response.status_code == 200
    markdown = response.content.decode()
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)

    failures, shown = [], set()
    for text, where in planted.items():
        if text in markdown or " ".join(text.split()) in markdown:
            failures.append(f"{where} is in the Markdown as typed, unescaped")
        if as_typed(text) in rendered:
            shown.add(where)
    # Nothing a person wrote became markup: the only tags are the report's own.
    for tag in ("<script", "<x", "<em>", "<a ", "<del>", "<code>", "<ol", "<blockquote"):
        if tag in rendered:
            failures.append(f"the rendered export has {tag}: {_around(rendered, tag)}")
    headings = [line for line in rendered.splitlines() if line.startswith(("<h1", "<h2"))]
    assert len(headings) == len([line for line in markdown.splitlines()
                                 if line.startswith(("# ", "## "))])
    assert not any(re.search(r">H\d+</h", line) for line in headings), headings
    assert failures == [], "\n".join(failures)
    missing = [label for label in MUST_BE_SHOWN if label not in shown]
    assert missing == [], f"never shown as typed in the export: {missing}"


def _around(text: str, needle: str) -> str:
    at = text.index(needle)
    return text[max(0, at - 80): at + 80]
