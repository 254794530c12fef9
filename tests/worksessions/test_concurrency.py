"""Races, on PostgreSQL: members saving at the same moment, the same member from several
tabs, a facilitator's double click. Threads start together behind a barrier, each on its
own database connection."""

import threading

import pytest
from django.db import connection, connections

from sessions import services
from sessions.models import Dot, Hypothesis, SessionEvent
from sessions.steps import Step
from tests.conftest import require

from .factories import make_session, move_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, action) -> list:
    """Run action(i) in n threads at once; return each one's result or exception."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[i] = action(i)
        except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def live_session(team, owner, teammate, third):
    require(connection.vendor == "postgresql",
            "needs PostgreSQL: set DATABASE_URL=postgres://...")
    return move_to(make_session(team, owner, members=(teammate, third)), Step.HYPOTHESES)


def test_eight_tabs_of_one_member_save_at_once_and_three_are_kept(live_session, teammate):
    outcomes = race(8, lambda i: services.hypothesis_create(
        session=live_session, author=teammate, text=f"tab {i}"))
    kept = [o for o in outcomes if isinstance(o, Hypothesis)]
    refused = [o for o in outcomes if isinstance(o, services.LimitReached)]
    assert len(kept) == 3 and len(refused) == 5, outcomes
    rows = Hypothesis.objects.filter(session=live_session, author=teammate)
    assert sorted(rows.values_list("slot", flat=True)) == [1, 2, 3]


def test_three_members_saving_together_lose_nothing(live_session, owner, teammate, third):
    members = [owner, teammate, third] * 3
    outcomes = race(9, lambda i: services.hypothesis_create(
        session=live_session, author=members[i], text=f"entry {i}"))
    assert all(isinstance(o, Hypothesis) for o in outcomes), outcomes
    for member in (owner, teammate, third):
        assert Hypothesis.objects.filter(author=member).count() == 3
    live_session.refresh_from_db()
    assert live_session.revision >= 1 + 2 + 9  # two joins and nine entries, each counted


def test_a_double_clicked_next_moves_once_under_a_race(live_session, owner):
    outcomes = race(4, lambda i: services.step_move(
        session=live_session, by=owner, to=Step.TEST, expected=Step.HYPOTHESES))
    moved = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(moved) == 1, outcomes
    assert all(isinstance(o, services.StaleStep) for o in outcomes if o not in moved)
    live_session.refresh_from_db()
    assert live_session.step == Step.TEST
    assert SessionEvent.objects.filter(session=live_session, kind="step",
                                       data__to="test").count() == 1


def test_concurrent_http_requests_keep_the_limit_and_the_step(live_session, owner, teammate):
    from django.test import Client
    from django.urls import reverse

    def address(name):
        return reverse(f"worksessions:{name}", kwargs={"team_slug": live_session.team.slug,
                                                      "session_id": live_session.pk})

    def post(user, name, data):
        client = Client()
        client.force_login(user)
        return client.post(address(name), data).status_code

    statuses = race(6, lambda i: post(teammate, "hypothesis_create",
                                      {"kind": "hypothesis", "text": f"request {i}"}))
    assert sorted(statuses) == [302, 302, 302, 409, 409, 409], statuses
    assert Hypothesis.objects.filter(author=teammate).count() == 3
    moves = race(3, lambda i: post(owner, "session_move",
                                   {"to": Step.TEST, "expected": Step.HYPOTHESES}))
    assert sorted(moves) == [302, 409, 409], moves
    live_session.refresh_from_db()
    assert live_session.step == Step.TEST


@pytest.fixture
def open_vote(live_session, owner, teammate):
    """Two revealed hypotheses under an open vote of three dots per member."""
    session = live_session
    entries = [services.hypothesis_create(session=session, author=teammate, text=text)
               for text in ("Inviters buy", "Pro buys")]
    services.entries_reveal(session=session, by=owner)
    services.vote_open(session=session, by=owner, dots_per_member=3)
    return session, entries


def test_eight_tabs_of_one_member_place_dots_at_once_and_three_are_kept(open_vote, teammate):
    session, entries = open_vote
    outcomes = race(8, lambda i: services.dot_place(session=session, by=teammate,
                                                    hypothesis=entries[i % 2]))
    placed = [o for o in outcomes if isinstance(o, Dot)]
    refused = [o for o in outcomes if isinstance(o, services.LimitReached)]
    assert len(placed) == 3 and len(refused) == 5, outcomes
    dots = Dot.objects.filter(vote__session=session, voter=teammate)
    assert sorted(dots.values_list("slot", flat=True)) == [1, 2, 3]


def test_no_dot_lands_in_a_vote_that_is_being_closed(open_vote, owner, teammate, third):
    session, entries = open_vote
    voters = [teammate, third, teammate, third, owner]

    def act(i: int):
        if i == 5:
            return services.vote_close(session=session, by=owner)
        return services.dot_place(session=session, by=voters[i], hypothesis=entries[0])

    outcomes = race(6, act)
    assert not any(isinstance(o, Exception) and not isinstance(o, services.StepClosed)
                   for o in outcomes), outcomes
    placed = sum(1 for o in outcomes if isinstance(o, Dot))
    closing = SessionEvent.objects.get(session=session, kind="vote_closed")
    # Every dot that was saved was counted in the totals the close logged: none came after.
    assert closing.data["dots"] == placed == Dot.objects.filter(vote__session=session).count()
