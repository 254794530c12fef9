"""A live drawing reads the session's row with how many entries are still hidden and its
latest vote (selectors.session_to_draw): two queries fewer per drawing, the same drawing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions import regions, services
from sessions.steps import Step

from .factories import INVITED, move_to

pytestmark = pytest.mark.django_db


def drawn_with_queries(session_id: int):
    with CaptureQueriesContext(connection) as captured:
        snapshot = regions.draw(session_id)
    return snapshot, [query["sql"] for query in captured.captured_queries]


def test_the_hidden_count_and_no_vote_come_with_the_sessions_row(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    for text in ("Inviters buy", "Pro buys"):
        services.hypothesis_create(session=session, author=teammate, text=text,
                                   criterion=INVITED)
    snapshot, queries = drawn_with_queries(session.pk)
    assert "Reveal entries (2 hidden)" in snapshot.fragments["reveal-form"]
    assert not any("worksessions_dotvote" in sql and "worksessions_workingsession" not in sql
                   for sql in queries), queries
    assert not any(sql.startswith("SELECT COUNT(*)") and "worksessions_hypothesis" in sql
                   for sql in queries), queries
    services.entries_reveal(session=session, by=owner)
    snapshot, _ = drawn_with_queries(session.pk)
    assert "Reveal entries (" not in snapshot.fragments["reveal-form"]


def test_an_open_vote_is_still_drawn(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                               criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    services.vote_open(session=session, by=owner)
    snapshot, _ = drawn_with_queries(session.pk)
    assert "vote-voters" in snapshot.fragments


def test_a_look_reads_the_revision_and_who_is_here_in_one_query(session, owner, teammate,
                                                               django_assert_num_queries):
    from django.utils import timezone

    from sessions import feed
    from sessions.models import Participant, WorkingSession

    session_feed = feed.Feed(session.pk)
    now = timezone.now()
    revision = WorkingSession.objects.get(pk=session.pk).revision
    Participant.objects.filter(session=session).update(last_seen_at=now)
    here = frozenset(Participant.objects.filter(session=session).values_list("pk", flat=True))
    with django_assert_num_queries(1):
        assert session_feed.revision_and_present(now) == (revision, here) and len(here) == 2
    Participant.objects.filter(session=session).update(
        last_seen_at=now - feed.presence_window() * 2)
    with django_assert_num_queries(2):  # nobody here: the revision asked apart
        assert session_feed.revision_and_present(now) == (revision, frozenset())
    assert feed.Feed(999_999).revision_and_present(now) == (None, frozenset())
