"""A live drawing keeps the rows it read last time (sessions.kept_rows): what it draws must
be exactly what a drawing from nothing draws, after every kind of change to a row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Team, User
from analytics.models import AnalysisJob
from sessions import cards, kept_rows, regions, results, selectors, services
from sessions.models import Finding, Participant
from sessions.steps import Step

from .factories import INVITED, entry, move_to

pytestmark = pytest.mark.django_db


def _from_nothing(session_id: int) -> dict[str, str]:
    """The session drawn with nothing kept (rows, results, cards), and the caches left as
    they were, so the next kept drawing goes on from the last."""
    caches = (kept_rows._kept, results._kept, cards._kept)
    saved = [cache.copy() for cache in caches]
    for cache in caches:
        cache.clear()
    try:
        return regions.draw(session_id).fragments
    finally:
        for cache, copy in zip(caches, saved, strict=True):
            cache.clear()
            cache.update(copy)


def test_a_kept_card_follows_its_verdict_as_the_family_grows(testing, teammate):
    """A card is kept by what it shows (sessions.cards): its verdict moves with the other
    tests of the session though its own test and numbers do not."""
    pro = services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    job = AnalysisJob.objects.get(pk=pro.job_id)
    # p = 0.03 alone in its family: q = 0.03, supported (its numbers as read anew).
    AnalysisJob.objects.filter(pk=job.pk).update(
        result={**job.result, "p_value": 0.03}, finished_at=job.finished_at + timedelta(seconds=1))
    card = f"entry-{pro.hypothesis_id}"
    drawn = regions.draw(testing.pk).fragments
    assert 'data-verdict="supported"' in drawn[card]
    assert drawn == _from_nothing(testing.pk)
    # A second test (p = 0.55) doubles its q to 0.06: inconclusive, its own test unchanged.
    services.hypothesis_test_run(hypothesis=entry("Mobile"), by=teammate)
    drawn = regions.draw(testing.pk).fragments
    assert 'data-verdict="inconclusive"' in drawn[card]
    assert drawn == _from_nothing(testing.pk)


def test_a_kept_row_is_the_same_object_until_its_stamp_changes(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    first = services.hypothesis_create(session=session, author=owner, text="Invites",
                                       criterion=INVITED)
    services.hypothesis_create(session=session, author=teammate, text="Logs in daily")
    services.entries_reveal(session=session, by=owner)
    kept_rows.forget()
    before = selectors.entries_for(session, owner, "hypothesis", kept=True).visible
    services.hypothesis_update(hypothesis=first, by=owner, text="Invites two",
                               criterion=INVITED)
    after = selectors.entries_for(session, owner, "hypothesis", kept=True).visible
    assert [e.text for e in after] == ["Invites two", "Logs in daily"]
    assert after[0] is not before[0] and after[1] is before[1]


def test_the_drawing_from_kept_rows_is_the_drawing_from_nothing(session, owner, teammate,
                                                                 third):
    services.session_join(session=session, user=third)
    session = move_to(session, Step.HYPOTHESES)
    first = services.hypothesis_create(session=session, author=owner, text="Invites",
                                       criterion=INVITED)
    services.hypothesis_create(session=session, author=teammate, text="Logs in daily")
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    services.finding_create(session=session, author=owner, text="Pro plans succeed",
                            step=Step.TEST)
    gone = services.finding_create(session=session, author=third, text="A dead end",
                                   step=Step.TEST, kind=Finding.Kind.UNSUCCESSFUL)
    kept_rows.forget()
    regions.draw(session.pk)  # what the next drawing keeps

    # One change of each kind a drawing shows: a row rewritten, one added, one deleted,
    # a related row (an author's name), and presence (read afresh on a kept row).
    services.hypothesis_update(hypothesis=first, by=owner, text="Invites a teammate",
                               criterion=INVITED)
    services.hypothesis_create(session=session, author=third, text="Uses the mobile app")
    services.finding_delete(finding=gone, by=third)
    services.finding_create(session=session, author=teammate, text="Weekly users succeed",
                            step=Step.TEST)
    User.objects.filter(pk=teammate.pk).update(display_name="Tomasz Renamed")
    Participant.objects.filter(session=session, user=third).update(
        last_seen_at=timezone.now() - timedelta(hours=1))

    drawn = regions.draw(session.pk).fragments
    everything = "".join(drawn.values())
    for shown in ("Invites a teammate", "Weekly users succeed", "Tomasz Renamed"):
        assert shown in everything
    assert "A dead end" not in everything and "Invites</p>" not in everything
    assert drawn == _from_nothing(session.pk)


def test_a_kept_card_follows_its_teams_slug(testing, owner):
    """A card's buttons post to the team's URLs: a renamed team's cards are drawn anew."""
    services.entries_reveal(session=testing, by=owner)
    before = regions.draw(testing.pk).fragments
    assert any("/t/" + testing.team.slug + "/" in html for key, html in before.items()
               if key.startswith("entry-"))
    Team.objects.filter(pk=testing.team_id).update(slug="renamed-team")
    drawn = regions.draw(testing.pk).fragments
    cards_drawn = [html for key, html in drawn.items() if key.startswith("entry-")]
    assert cards_drawn and all(f"/t/{testing.team.slug}/" not in html for html in cards_drawn)
    assert any("/t/renamed-team/" in html for html in cards_drawn)
    assert drawn == _from_nothing(testing.pk)
