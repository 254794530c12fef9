"""Findings (with evidence) and next steps, carried over to the team's next session;
the success definition's confirmation and change; the closed session's record."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from sessions import selectors, services
from sessions.models import Finding, NextStep, SessionEvent
from sessions.steps import Step

from .factories import INVITED, make_session, make_success, move_to


@pytest.fixture
def tested(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                                       criterion=INVITED, expected_direction="more")
    session = move_to(session, Step.TEST)
    test = services.hypothesis_test_run(hypothesis=entry, by=teammate)
    return session, test


def test_a_finding_linked_to_a_result_keeps_a_snapshot(tested, teammate):
    session, test = tested
    finding = services.finding_create(session=session, author=teammate, step=Step.TEST,
                                      text="Inviting is the strongest signal", test=test)
    evidence = finding.evidence
    assert evidence["source"] == "test"
    assert evidence["definition"]["criterion"] == INVITED
    assert evidence["definition"]["success_text"] == "did purchase within 14 days of first visit"
    numbers = evidence["numbers"]
    assert numbers["verdict"] == "supported" and numbers["q_value"] == numbers["p_value"]
    assert numbers["group"]["users"] + numbers["rest"]["users"] == 240


def test_unsuccessful_is_a_kind_of_finding_and_text_is_required(tested, teammate):
    session, _ = tested
    services.finding_create(session=session, author=teammate, step=Step.TEST,
                            kind=Finding.Kind.UNSUCCESSFUL, text="Device tells us nothing")
    assert Finding.objects.get().get_kind_display().startswith("Unsuccessful")
    with pytest.raises(services.BadInput):
        services.finding_create(session=session, author=teammate, step=Step.TEST, text=" ")
    with pytest.raises(services.BadInput):
        services.finding_create(session=session, author=teammate, step=Step.TEST, text="x",
                                kind="rumour")


def test_a_finding_for_another_step_is_refused(tested, teammate):
    session, _ = tested
    with pytest.raises(services.StepClosed, match="Results is not open"):
        services.finding_create(session=session, author=teammate, step=Step.RESULTS, text="x")
    with pytest.raises(services.StepClosed, match="not written in Align"):
        services.finding_create(session=session, author=teammate, step=Step.ALIGN, text="x")


def test_evidence_from_other_tools_is_checked(tested, teammate):
    session, _ = tested
    table = {"source": "sql", "title": "Top plans", "table": {"columns": ["plan", "users"],
                                                              "rows": [["pro", 84]]}}
    finding = services.finding_create(session=session, author=teammate, step=Step.TEST,
                                      text="Pro is a third", evidence=table)
    assert finding.evidence["table"]["rows"] == [["pro", 84]]
    assert "captured_at" in finding.evidence
    with pytest.raises(services.BadInput, match="source and a title"):
        services.finding_create(session=session, author=teammate, step=Step.TEST, text="x",
                                evidence={"rows": []})
    with pytest.raises(services.BadInput, match="plain JSON"):
        services.finding_create(session=session, author=teammate, step=Step.TEST, text="x",
                                evidence={"source": "sql", "title": "t", "value": float("nan")})


def test_only_the_author_removes_a_finding(tested, owner, teammate):
    session, _ = tested
    finding = services.finding_create(session=session, author=teammate, step=Step.TEST,
                                      text="mine")
    with pytest.raises(services.NotAllowed):
        services.finding_delete(finding=finding, by=owner)
    services.finding_delete(finding=finding, by=teammate)
    assert not Finding.objects.exists()


def test_next_steps_need_an_owner_from_the_team(session, owner, teammate, outsider):
    session = move_to(session, Step.NEXT_STEPS)
    step = services.next_step_create(session=session, by=teammate, owner=owner,
                                     text="A/B test an invite prompt in onboarding",
                                     due_date=timezone.localdate() + timedelta(days=7))
    assert step.kind == NextStep.Kind.EXPERIMENT
    with pytest.raises(services.BadInput, match="member of the team"):
        services.next_step_create(session=session, by=teammate, owner=outsider, text="x")
    with pytest.raises(services.BadInput, match="owner"):
        services.next_step_create(session=session, by=teammate, owner=None, text="x")
    with pytest.raises(services.BadInput, match="past"):
        services.next_step_create(session=session, by=teammate, owner=owner, text="x",
                                  due_date=date(2001, 1, 1))


def test_open_next_steps_come_back_at_the_next_session(session, team, owner, teammate):
    earlier = move_to(session, Step.NEXT_STEPS)
    todo = services.next_step_create(session=earlier, by=owner, owner=teammate,
                                     text="Look into mobile onboarding",
                                     kind=NextStep.Kind.INVESTIGATE)
    done_already = services.next_step_create(session=earlier, by=owner, owner=owner,
                                             text="Ship the invite prompt")
    services.next_step_set_done(next_step=done_already, by=owner, session=earlier)
    services.session_close(session=earlier, by=owner)

    later = make_session(team, owner, members=(teammate,), dataset=earlier.dataset,
                         success=earlier.success_definition, title="Next month")
    carried = selectors.carried_next_steps(later)
    assert [s.pk for s in carried] == [todo.pk]
    # Marked done from the new session: still listed there, with where it was done.
    services.next_step_set_done(next_step=todo, by=teammate, session=later)
    todo.refresh_from_db()
    assert todo.is_done and todo.done_in == later and todo.done_by == teammate
    assert [s.pk for s in selectors.carried_next_steps(later)] == [todo.pk]
    # The closed session cannot be used to change anything.
    with pytest.raises(services.StepClosed):
        services.next_step_set_done(next_step=todo, by=owner, session=earlier, done=False)


def test_members_confirm_the_definition_and_a_change_is_logged(session, team, owner, teammate):
    services.definition_confirm(session=session, by=teammate)
    assert [p.has_confirmed for p in selectors.participants_of(session)] == [False, True]
    other = make_success(team, session.dataset, name="Invited within 14 days",
                         definition={"events": ["invite_teammate"], "within_days": 14})
    with pytest.raises(services.NotAllowed):
        services.definition_change(session=session, by=teammate, success_definition=other)
    changed = services.definition_change(session=session, by=owner, success_definition=other)
    assert changed.success_definition == other
    assert [p.has_confirmed for p in selectors.participants_of(changed)] == [False, False]
    event = SessionEvent.objects.get(session=session, kind="definition_changed")
    assert "did purchase within 14 days" in event.data["from_text"]
    assert "did invite_teammate within 14 days" in event.data["to_text"]


def test_a_revised_definition_becomes_a_new_version(session, owner):
    before = session.success_definition
    changed = services.definition_revise(session=session, by=owner,
                                         definition={"events": ["purchase"], "within_days": 7})
    assert changed.success_definition.lineage == before.lineage
    assert changed.success_definition.version == before.version + 1
    assert changed.success_definition.description == "did purchase within 7 days of first visit"
    with pytest.raises(services.BadInput, match="unknown event 'purchse'"):
        services.definition_revise(session=changed, by=owner,
                                   definition={"events": ["purchse"]})


def test_the_definition_is_fixed_once_something_was_tested(tested, team, owner):
    session, _ = tested
    other = make_success(team, session.dataset, name="Other",
                         definition={"events": ["login"]})
    with pytest.raises(services.StepClosed, match="Tests have already run"):
        services.definition_change(session=session, by=owner, success_definition=other)


def test_a_definition_that_does_not_fit_the_dataset_is_refused(team, owner, dataset):
    from analytics.models import SuccessDefinition

    foreign = SuccessDefinition.objects.create(team=team, name="Other product",
                                               definition={"events": ["checkout"]})
    with pytest.raises(services.BadInput, match="does not fit.*unknown event 'checkout'"):
        make_session(team, owner, dataset=dataset, success=foreign)
