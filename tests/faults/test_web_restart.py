"""The web process killed and started again during "Test and learn": the countdown has
the same deadline afterwards, and the step stays open for writes until then.

The deadline is not held by any process: the session row keeps when the step started
and how long it lasts (plus extensions), and every page and every write compares that
with the clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from sessions.models import Finding, SessionEvent
from sessions.steps import Step
from tests.worksessions.factories import make_dataset, make_session, move_to

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

DEADLINE = re.compile(r'data-deadline="([^"]+)"')


def deadline_on(page: str) -> datetime:
    found = DEADLINE.search(page)
    assert found, "the page shows no countdown"
    return datetime.fromisoformat(found.group(1))


def test_the_web_process_restarted_during_test_and_learn(web, team, owner, teammate):
    session = make_session(team, owner, members=(teammate,),
                           dataset=make_dataset(team, n_users=40))
    session = move_to(session, Step.EXPLORE)
    olivia, tom = web.browser(owner), web.browser(teammate)
    base = f"/t/{team.slug}/sessions/{session.pk}/"
    assert olivia.get(base, "page").status == 200

    # The facilitator starts the 20 minutes, through the web process, and adds 5.
    before = timezone.now()
    assert olivia.post(f"{base}move/", "move", {"to": Step.TEST_AND_LEARN,
                                               "expected": Step.EXPLORE}).status == 302
    after = timezone.now()
    assert olivia.post(f"{base}timer/extend/", "extend", {"minutes": "5"}).status == 302
    page = tom.get(base, "page")
    deadline = deadline_on(page.body)
    assert before + timedelta(minutes=25) <= deadline <= after + timedelta(minutes=25)
    assert tom.post(f"{base}findings/new/", "finding", {
        "text": "Before the restart", "kind": "insight", "test": "", "step": Step.TEST_AND_LEARN,
    }).status == 302

    web.kill()
    for browser in (olivia, tom):
        browser.close()  # their connections died with it
    assert tom.get(base, "page") is None  # nobody answers now
    web.start()

    page = tom.get(base, "page")
    assert page.status == 200
    assert deadline_on(page.body) == deadline
    session.refresh_from_db()
    assert session.dig_deadline() == deadline
    assert tom.post(f"{base}findings/new/", "finding", {
        "text": "After the restart", "kind": "insight", "test": "", "step": Step.TEST_AND_LEARN,
    }).status == 302
    assert set(Finding.objects.filter(session=session).values_list("text", flat=True)) == {
        "Before the restart", "After the restart"}
    # The timer was started once and extended once: a restart restarts nothing.
    kinds = list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True))
    assert kinds.count(SessionEvent.Kind.TIMER_STARTED) == 1
    assert kinds.count(SessionEvent.Kind.TIMER_EXTENDED) == 1
