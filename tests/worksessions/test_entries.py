"""Hypotheses and new ideas: three per member and kind (held by the database), criteria
checked against the dataset, hidden until revealed, expectations fixed at the first test."""

import pytest
from django.db import IntegrityError, transaction

from sessions import selectors, services
from sessions.models import Hypothesis
from sessions.steps import Step

from .factories import INVITED, PRO, move_to


@pytest.fixture
def open_session(session):
    return move_to(session, Step.HYPOTHESES)


def write(session, author, text="Users who invite a teammate succeed more", **kwargs):
    return services.hypothesis_create(session=session, author=author, text=text, **kwargs)


def test_three_each_then_a_clear_refusal(open_session, owner, teammate):
    for n in range(3):
        write(open_session, teammate, f"idea {n}")
    with pytest.raises(services.LimitReached, match="already have 3 hypotheses"):
        write(open_session, teammate, "a fourth")
    # Others keep their own three places.
    write(open_session, owner, "Olivia's first")
    assert Hypothesis.objects.filter(session=open_session, author=teammate).count() == 3
    assert sorted(Hypothesis.objects.filter(author=teammate).values_list("rank", flat=True)) \
        == [1, 2, 3]


def test_the_database_refuses_a_fourth_whatever_code_writes(open_session, teammate):
    for n in range(3):
        write(open_session, teammate, f"idea {n}")
    taken = Hypothesis.objects.filter(author=teammate).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Hypothesis.objects.create(session=open_session, author=teammate, slot=taken.slot,
                                  rank=1, text="sneaked in")
    with pytest.raises(IntegrityError), transaction.atomic():
        Hypothesis.objects.create(session=open_session, author=teammate, slot=4, rank=1,
                                  text="a fourth place")


def test_a_freed_place_can_be_used_again(open_session, teammate):
    entries = [write(open_session, teammate, f"idea {n}") for n in range(3)]
    services.hypothesis_delete(hypothesis=entries[1], by=teammate)
    again = write(open_session, teammate, "a better one")
    assert again.slot == entries[1].slot
    assert sorted(Hypothesis.objects.filter(author=teammate).values_list("rank", flat=True)) \
        == [1, 2, 3]


def test_ideas_have_their_own_three_places_in_their_own_step(open_session, owner, teammate):
    for n in range(3):
        write(open_session, teammate, f"hypothesis {n}")
    with pytest.raises(services.StepClosed, match="New ideas belong to"):
        write(open_session, teammate, "an idea", kind=Hypothesis.Kind.IDEA)
    session = move_to(open_session, Step.EXPLORE)
    for n in range(3):
        write(session, teammate, f"idea {n}", kind=Hypothesis.Kind.IDEA)
    with pytest.raises(services.LimitReached, match="3 new ideas"):
        write(session, teammate, "idea 4", kind=Hypothesis.Kind.IDEA)
    with pytest.raises(services.StepClosed, match="Hypotheses belong to"):
        write(session, teammate, "late hypothesis")


def test_not_before_the_hypotheses_step(session, teammate):
    with pytest.raises(services.StepClosed):
        write(session, teammate)


def test_a_team_member_who_has_not_joined_cannot_write(open_session, third):
    with pytest.raises(services.NotAllowed, match="Join the session"):
        write(open_session, third)


def test_empty_text_and_bad_expectations_are_refused(open_session, teammate):
    with pytest.raises(services.BadInput, match="in a sentence"):
        write(open_session, teammate, "   ")
    with pytest.raises(services.BadInput):
        write(open_session, teammate, expected_direction="sideways")
    with pytest.raises(services.BadInput, match="which way"):
        write(open_session, teammate, confidence=80)
    with pytest.raises(services.BadInput, match="from the list"):
        write(open_session, teammate, expected_direction="more", confidence=73)
    assert not Hypothesis.objects.exists()


def test_a_criterion_is_checked_against_the_dataset(open_session, teammate):
    entry = write(open_session, teammate, criterion={**INVITED, "within_days": 7.0})
    assert entry.criterion == INVITED  # normalized
    with pytest.raises(services.BadInput, match="unknown event 'invite_teamate'.*invite_teammate"):
        write(open_session, teammate, criterion={**INVITED, "event": "invite_teamate"})
    with pytest.raises(services.BadInput, match="unknown user property 'plna'"):
        write(open_session, teammate, criterion={**PRO, "property": "plna"})
    with pytest.raises(services.BadInput, match="plan is text"):
        write(open_session, teammate, criterion={**PRO, "value": 3})
    assert Hypothesis.objects.count() == 1


def test_entries_stay_hidden_until_the_reveal(open_session, owner, teammate):
    mine = write(open_session, teammate, "Tom's idea")
    write(open_session, owner, "Olivia's idea")
    seen_by_owner = selectors.entries_for(open_session, owner, Hypothesis.Kind.HYPOTHESIS)
    assert [e.text for e in seen_by_owner.visible] == ["Olivia's idea"]
    assert seen_by_owner.hidden == {"Tom Teammate": 1}
    with pytest.raises(services.NotAllowed):
        services.entries_reveal(session=open_session, by=teammate)
    assert services.entries_reveal(session=open_session, by=owner) == 2
    seen_by_owner = selectors.entries_for(open_session, owner, Hypothesis.Kind.HYPOTHESIS)
    assert {e.pk for e in seen_by_owner.visible} >= {mine.pk}
    assert seen_by_owner.hidden == {}


def test_with_hiding_off_entries_are_visible_at_once(team, owner, teammate, dataset, success):
    from .factories import make_session

    session = move_to(make_session(team, owner, members=(teammate,), dataset=dataset,
                                   success=success, hide_entries=False), Step.HYPOTHESES)
    write(session, teammate, "visible at once")
    assert [e.text for e in selectors.entries_for(session, owner, "hypothesis").visible] \
        == ["visible at once"]


def test_only_the_author_edits_and_reranks(open_session, owner, teammate):
    first = write(open_session, teammate, "first")
    second = write(open_session, teammate, "second")
    with pytest.raises(services.NotAllowed):
        services.hypothesis_update(hypothesis=first, by=owner, text="mine now", criterion=None)
    services.hypothesis_rerank(hypothesis=second, by=teammate, rank=1)
    ranks = dict(Hypothesis.objects.values_list("text", "rank"))
    assert ranks == {"second": 1, "first": 2}
    with pytest.raises(services.BadInput):
        services.hypothesis_rerank(hypothesis=second, by=teammate, rank=3)


def test_the_expectation_is_fixed_once_tested(open_session, owner, teammate):
    entry = write(open_session, teammate, criterion=INVITED, expected_direction="more",
                  confidence=80)
    session = move_to(open_session, Step.TEST)
    services.hypothesis_test_run(hypothesis=entry, by=teammate)
    with pytest.raises(services.BadInput, match="stays as it was"):
        services.hypothesis_update(hypothesis=entry, by=teammate, text=entry.text,
                                   criterion=INVITED, expected_direction="less", confidence=80)
    # The wording and the criterion can still be improved (a new test, a new look).
    services.hypothesis_update(hypothesis=entry, by=teammate, text="clearer words",
                               criterion=INVITED, expected_direction="more", confidence=80)
    with pytest.raises(services.BadInput, match="has been tested"):
        services.hypothesis_delete(hypothesis=entry, by=teammate)
    assert session.step == Step.TEST


def test_a_closed_session_refuses_every_entry_write(open_session, owner, teammate):
    entry = write(open_session, teammate, "before closing")
    services.session_close(session=open_session, by=owner)
    with pytest.raises(services.StepClosed):
        write(open_session, teammate, "after closing")
    with pytest.raises(services.StepClosed):
        services.hypothesis_update(hypothesis=entry, by=teammate, text="edit", criterion=None)
    with pytest.raises(services.StepClosed):
        services.hypothesis_delete(hypothesis=entry, by=teammate)
    assert Hypothesis.objects.get().text == "before closing"
