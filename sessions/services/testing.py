"""Running the session's tests and discovery runs. Each is an AnalysisJob on the
analytics queue; the session only records which job belongs to which hypothesis."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from analytics.engine.definitions import DefinitionError
from analytics.models import AnalysisJob, JobStatus
from analytics.scheduling import SESSION_PRIORITY
from analytics.services import (
    DISCOVERY_WINDOW_DAYS,
    DatasetRefused,
    analysis_start,
    analysis_submit,
)

from .. import steps
from ..models import Discovery, DotVote, Hypothesis, HypothesisTest, WorkingSession
from ..steps import Step
from .entries import hypothesis_create
from .errors import BadInput, NotAllowed
from .guards import fresh, record_change, require_participant, require_step_in

DISCOVERY_TOP = 20


def hypothesis_test_run(*, hypothesis: Hypothesis, by: User) -> HypothesisTest:
    """Test one hypothesis' criterion, group vs rest. Its author or the facilitator may.
    Asking again for an unchanged criterion returns the test already made (a double
    click makes one job, not two); a changed criterion is a new test of the family."""
    session = fresh(hypothesis.session)
    require_step_in(session, steps.TESTING_STEPS, "Tests")
    require_participant(session, by)
    if by.pk not in (hypothesis.author_id, session.facilitator_id):
        raise NotAllowed("Its author or the facilitator runs a test.")
    with transaction.atomic():
        locked = Hypothesis.objects.select_for_update().get(pk=hypothesis.pk)
        if locked.criterion is None:
            raise BadInput("Add a testable criterion first: which users does it speak of?")
        latest = locked.tests.select_related("job").order_by("-created_at", "-pk").first()
        if (latest is not None and latest.criterion == locked.criterion
                and latest.success_definition_id == session.success_definition_id
                and latest.job.status != JobStatus.FAILED):
            return latest
        # Queued once its test's row exists: a job run at once (tests, the embedded pool
        # in a hurry) finds the row to store its smallest detectable lift on.
        job = _submit(session, by, criterion=locked.criterion, start=False)
        test = HypothesisTest.objects.create(
            session=session, hypothesis=locked, job=job, criterion=locked.criterion,
            success_definition=session.success_definition, created_by=by,
        )
        analysis_start(job, priority=SESSION_PRIORITY)
        if locked.revealed_at is None:
            # A result on everyone's screen shows the hypothesis anyway.
            Hypothesis.objects.filter(pk=locked.pk).update(revealed_at=timezone.now())
        record_change(session)
    return test


def session_tests_run(*, session: WorkingSession, by: User,
                  kind: str | None = None) -> list[HypothesisTest]:
    """The facilitator tests every entry with a criterion that has no current test."""
    session = fresh(session)
    if by.pk != session.facilitator_id:
        raise NotAllowed("Only the facilitator runs everyone's tests at once.")
    if kind and kind not in Hypothesis.Kind.values:
        raise BadInput("Choose hypotheses or new ideas to test.")
    entries = Hypothesis.objects.filter(session=session, criterion__isnull=False)
    if kind:
        entries = entries.filter(kind=kind)
    made = []
    for hypothesis in entries.order_by("kind", "author_id", "rank"):
        made.append(hypothesis_test_run(hypothesis=hypothesis, by=by))
    return made


def session_tests_run_in_vote_order(*, session: WorkingSession,
                                    by: User) -> list[HypothesisTest]:
    """The facilitator queues the tests of the hypotheses that got dots in the last closed
    vote, most dots first, so the team sees the results it cares most about first.
    Hypotheses without a criterion, or without a dot, are left to "Run all tests"."""
    session = fresh(session)
    if by.pk != session.facilitator_id:
        raise NotAllowed("Only the facilitator runs everyone's tests at once.")
    vote = DotVote.objects.filter(session=session, closed_at__isnull=False).first()
    if vote is None:
        raise BadInput("No vote has been closed yet in this session.")
    ordered = vote_order(vote)
    if not ordered:
        raise BadInput("No voted hypothesis has a testable criterion yet.")
    return [hypothesis_test_run(hypothesis=h, by=by) for h in ordered]


def vote_order(vote: DotVote) -> list[Hypothesis]:
    """The vote's hypotheses that got dots and have a criterion, most dots first (ties:
    in the order they were written)."""
    return list(Hypothesis.objects.filter(session_id=vote.session_id, dots__vote=vote,
                                          criterion__isnull=False)
                .annotate(votes=Count("dots")).order_by("-votes", "created_at", "pk"))


def discovery_run(*, session: WorkingSession, by: User,
                  unsuccessful: bool = False) -> Discovery:
    """Rank characteristics automatically: "suggest" while naming new ideas, or what the
    users who did not succeed share. The same question asked twice is answered once."""
    session = fresh(session)
    allowed = frozenset({Step.UNSUCCESSFUL}) if unsuccessful else steps.DISCOVERY_STEPS
    require_step_in(session, allowed, "Discovery runs")
    require_participant(session, by)
    existing = (Discovery.objects.select_related("job")
                .filter(session=session, unsuccessful=unsuccessful,
                        success_definition=session.success_definition)
                .exclude(job__status=JobStatus.FAILED).first())
    if existing is not None:
        return existing
    window = session.success_definition.window_days
    options = {"unsuccessful": unsuccessful, "top": DISCOVERY_TOP,
               "within_days": min(window or DISCOVERY_WINDOW_DAYS, DISCOVERY_WINDOW_DAYS)}
    with transaction.atomic():
        job = _submit(session, by, kind=AnalysisJob.Kind.DISCOVER, options=options)
        discovery = Discovery.objects.create(
            session=session, job=job, unsuccessful=unsuccessful,
            success_definition=session.success_definition, created_by=by)
        record_change(session)
    return discovery


def suggestion_adopt(*, discovery: Discovery, index: int, by: User) -> Hypothesis:
    """Take a discovered characteristic as one of the member's new ideas."""
    candidates = ((discovery.job.result or {}).get("characteristics") or []
                  if discovery.job.status == JobStatus.DONE else [])
    if not isinstance(index, int) or not 0 <= index < len(candidates):
        raise BadInput("That suggestion is no longer there; run the suggestions again.")
    candidate = candidates[index]
    label = candidate.get("label") or "this characteristic"
    lift = candidate.get("lift")
    direction = "less often" if lift is not None and lift < 0 else "more often"
    return hypothesis_create(
        session=discovery.session, author=by, kind=Hypothesis.Kind.IDEA,
        text=f"Users with {label} succeed {direction}", criterion=candidate["criterion"],
        origin=Hypothesis.Origin.SUGGESTED,
    )


def _submit(session: WorkingSession, by: User, **kwargs) -> AnalysisJob:
    try:
        # A session's tests and discoveries go ahead of explorer and console questions.
        return analysis_submit(team=session.team, dataset=session.dataset,
                               success=session.success_definition.definition,
                               created_by=by, priority=SESSION_PRIORITY, **kwargs)
    except DefinitionError as error:
        raise BadInput(f"The test cannot run: {error}.") from error
    except DatasetRefused as refusal:
        raise BadInput(str(refusal)) from refusal
