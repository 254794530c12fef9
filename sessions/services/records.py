"""What the team writes down: findings (with their evidence) and next steps."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User

from .. import evidence as evidence_snapshots
from .. import steps
from ..models import Finding, HypothesisTest, NextStep, WorkingSession
from ..results import session_results
from .errors import BadInput, NotAllowed, StepClosed
from .guards import (
    ensure_step_open,
    fresh,
    record_change,
    require_open,
    require_participant,
    require_step_in,
)

MAX_FINDING = 2000
MAX_NEXT_STEP = 1000


def finding_create(*, session: WorkingSession, author: User, text: str, step: str,
                   kind: str = Finding.Kind.INSIGHT, test: HypothesisTest | None = None,
                   evidence: dict | None = None) -> Finding:
    """Write down a finding for `step`, the step the author wrote it in. Refused unless
    that step is the open, current one (for "Test and learn": before its deadline).

    Linked to a test, the finding keeps a snapshot of the test's numbers as evidence;
    other tools pass their own snapshot (shape in sessions/evidence.py)."""
    session = fresh(session)
    if step not in steps.ORDER:
        raise BadInput("A finding belongs to the step it was written in; this form named "
                       "no step. Reload the page and write it again.")
    if step not in steps.FINDING_STEPS:
        raise StepClosed(f"Findings are not written in {steps.label(step)}.")
    ensure_step_open(session, step)
    require_participant(session, author)
    text = (text or "").strip()
    if not text:
        raise BadInput("Write what you found, even if it is that nothing stood out.")
    if len(text) > MAX_FINDING:
        raise BadInput(f"Keep a finding under {MAX_FINDING} characters ({len(text)} now).")
    if kind not in Finding.Kind.values:
        raise BadInput("Choose what kind of finding this is.")
    if test is not None:
        if test.session_id != session.pk:
            raise BadInput("That result belongs to another session.")
        if evidence is None:
            rows = {row.test.pk: row for row in session_results(session).rows}
            evidence = evidence_snapshots.from_test_result(rows[test.pk])
    try:
        evidence = evidence_snapshots.clean(evidence)
    except evidence_snapshots.EvidenceError as error:
        raise BadInput(str(error)) from error
    with transaction.atomic():
        finding = Finding.objects.create(session=session, author=author, step=step, kind=kind,
                                         text=text, test=test, evidence=evidence)
        record_change(session, step=step)
    return finding


def team_finding_create(*, team, author: User, text: str, kind: str = Finding.Kind.INSIGHT,
                        evidence: dict | None = None) -> Finding:
    """Keep a result as the team's finding, outside any session (the explorer's "Keep as
    a team finding"); it waits on the explorer's page until attached to a session."""
    if not Membership.objects.filter(team=team, user=author).exists():
        raise NotAllowed("Only members of the team keep its findings.")
    text, kind, evidence = _checked(text, kind, evidence)
    return Finding.objects.create(team=team, session=None, author=author,
                                  step=steps.Step.TEST_AND_LEARN, kind=kind, text=text,
                                  evidence=evidence)


def finding_attach(*, finding: Finding, session: WorkingSession, by: User) -> Finding:
    """Make a team finding a finding of `session` (of the same team, not closed), with its
    evidence, as if written in its Test and learn. A finding joins one session only."""
    session = fresh(session)
    if finding.session_id is not None:
        raise BadInput("That finding is already part of a session.")
    if session.team_id != finding.team_id:
        raise BadInput("That session belongs to another team.")
    require_open(session)
    if not Membership.objects.filter(team_id=session.team_id, user=by).exists():
        raise NotAllowed("Only members of the team attach its findings.")
    with transaction.atomic():
        # Only a still-unattached row moves: two people attaching at once attach it once.
        moved = Finding.objects.filter(pk=finding.pk, session__isnull=True).update(
            session=session)
        if not moved:
            raise BadInput("That finding is already part of a session.")
        record_change(session)
    finding.refresh_from_db()
    return finding


def _checked(text: str, kind: str, evidence: dict | None) -> tuple[str, str, dict | None]:
    text = (text or "").strip()
    if not text:
        raise BadInput("Write what you found, even if it is that nothing stood out.")
    if len(text) > MAX_FINDING:
        raise BadInput(f"Keep a finding under {MAX_FINDING} characters ({len(text)} now).")
    if kind not in Finding.Kind.values:
        raise BadInput("Choose what kind of finding this is.")
    try:
        evidence = evidence_snapshots.clean(evidence)
    except evidence_snapshots.EvidenceError as error:
        raise BadInput(str(error)) from error
    return text, kind, evidence


def finding_delete(*, finding: Finding, by: User) -> None:
    """Its author takes a finding back, while its step is still open."""
    session = fresh(finding.session)
    if finding.author_id != by.pk:
        raise NotAllowed("Only its author can remove a finding.")
    ensure_step_open(session, finding.step)
    with transaction.atomic():
        finding.delete()
        record_change(session, step=finding.step)


def next_step_create(*, session: WorkingSession, by: User, text: str, owner: User | None,
                     kind: str = NextStep.Kind.EXPERIMENT,
                     due_date: date | None = None) -> NextStep:
    session = fresh(session)
    require_step_in(session, steps.NEXT_STEP_STEPS, "Next steps")
    require_participant(session, by)
    text = (text or "").strip()
    if not text:
        raise BadInput("Say what to do: an experiment to run or an area to investigate.")
    if len(text) > MAX_NEXT_STEP:
        raise BadInput(f"Keep it under {MAX_NEXT_STEP} characters.")
    if kind not in NextStep.Kind.values:
        raise BadInput("Choose whether it is an experiment or an area to investigate.")
    if owner is None:
        raise BadInput("Every next step needs an owner.")
    if not Membership.objects.filter(team_id=session.team_id, user=owner).exists():
        raise BadInput("The owner must be a member of the team.")
    if due_date is not None and due_date < session.created_at.date():
        raise BadInput("The due date is in the past.")
    with transaction.atomic():
        next_step = NextStep.objects.create(session=session, kind=kind, text=text, owner=owner,
                                            due_date=due_date, created_by=by)
        record_change(session)
    return next_step


def next_step_set_done(*, next_step: NextStep, by: User, session: WorkingSession,
                       done: bool = True) -> NextStep:
    """Mark a next step done (or open again) from `session`, which must be open: this
    session's own next steps, or the team's open ones from earlier sessions."""
    session = fresh(session)
    require_open(session)
    require_participant(session, by)
    if next_step.session.team_id != session.team_id:
        raise NotAllowed("That next step belongs to another team.")
    if next_step.session_id != session.pk and next_step.session.created_at > session.created_at:
        raise BadInput("That next step comes from a later session.")
    fields = ({"done_at": timezone.now(), "done_by": by, "done_in": session} if done
              else {"done_at": None, "done_by": None, "done_in": None})
    with transaction.atomic():
        NextStep.objects.filter(pk=next_step.pk).update(**fields)
        record_change(session)
    next_step.refresh_from_db()
    return next_step
