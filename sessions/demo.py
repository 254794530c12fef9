"""A finished past session for the demo team, built through the services as a real meeting
would be, so that a newcomer can read a complete report at once.

The hypotheses fit the demo product (analytics/engine/demo_data.py): some of them find its real
effects (inviting a teammate, integrations, logins in week one, the referral channel,
bigger companies, trial plans), one has no effect (gender), one falls into its trap
(mobile users look worse only because they start on the free plan). Afterwards the
timestamps are moved back to a plausible meeting a week ago."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Team, User
from analytics.models import AnalysisJob, Dataset, JobStatus, SuccessDefinition
from analytics.tasks import run_analysis

from . import services
from .models import (
    Discovery,
    Finding,
    Hypothesis,
    HypothesisTest,
    NextStep,
    Participant,
    SessionEvent,
    WorkingSession,
)
from .results import session_results
from .selectors import unnamed_suggestions
from .steps import Step

log = logging.getLogger(__name__)

TITLE = "What makes trial users subscribe in their first two weeks?"
# Minutes into the meeting at which each step began.
SCHEDULE = {Step.ALIGN: 0, Step.HYPOTHESES: 6, Step.TEST: 17, Step.EXPLORE: 29, Step.TEST_AND_LEARN: 37,
            Step.RESULTS: 62, Step.NEXT_STEPS: 70, Step.UNSUCCESSFUL: 76, Step.CLOSED: 84}
JOB_WAIT_SECONDS = 300

INVITED = {"kind": "did_event", "event": "invite_teammate", "within_days": 7}
LOGINS = {"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7}
MOBILE = {"kind": "first_event_property", "property": "device", "op": "=", "value": "mobile"}
INTEGRATION = {"kind": "did_event", "event": "connect_integration", "within_days": 14}
REFERRAL = {"kind": "property", "property": "acquisition_channel", "op": "=",
            "value": "referral"}
WOMEN = {"kind": "property", "property": "gender", "op": "=", "value": "female"}
BIG = {"kind": "property", "property": "company_size", "op": "in",
       "value": ["51-200", "201-1000", "1000+"]}
PRICING = {"kind": "did_event", "event": "view_pricing", "within_days": 7}
TRIAL = {"kind": "property", "property": "plan", "op": "in", "value": ["pro", "business"]}
GROWING = {"kind": "property", "property": "growth_trend", "op": "=", "value": "growing"}
TIME_IN_APP = {"kind": "time_in_app", "op": ">=", "value": 60, "within_days": 7}

# (member index, text, criterion, expected direction, confidence)
HYPOTHESES = [
    (0, "Users who invite a teammate in their first week subscribe more often", INVITED,
     "more", 80),
    (0, "Users who log in three or more times in week one subscribe more often", LOGINS,
     "more", 65),
    (0, "Users who start on mobile subscribe less often", MOBILE, "less", 65),
    (1, "Teams that connect an integration in the first two weeks subscribe more", INTEGRATION,
     "more", 95),
    (1, "Referred users convert better than the rest", REFERRAL, "more", 50),
    (1, "Women subscribe more often than the rest", WOMEN, "more", 50),
    (2, "Bigger companies (51+ people) subscribe more often", BIG, "more", 80),
    (2, "Users who look at pricing in week one subscribe more often", PRICING, "more", 65),
    (2, "Users who start on a Pro or Business trial subscribe more often", TRIAL, "more", 80),
]
IDEAS = [
    (0, "Users who spend an hour or more in the app in week one subscribe more often",
     TIME_IN_APP, "more", 65),
    (2, "Users from growing companies subscribe more often", GROWING, "more", 50),
]


def create_demo_session(*, team: Team, dataset: Dataset, success_definition: SuccessDefinition,
                        members: Sequence[User]) -> WorkingSession:
    """A complete, closed session of `team` with up to three `members` (the first one
    facilitates), its hypotheses tested on `dataset` against `success_definition`."""
    members = list(members)[:3]
    if not members:
        raise ValueError("the demo session needs at least one member")
    cast = [members[i % len(members)] for i in range(3)]
    ada = cast[0]
    made: list[tuple[type, int, str]] = []  # (model, pk, step) for the timeline

    session = services.session_create(team=team, dataset=dataset,
                                      success_definition=success_definition, title=TITLE,
                                      facilitator=ada, created_by=ada)
    for member in members[1:]:
        services.session_join(session=session, user=member)
    for member in members:
        services.definition_confirm(session=session, by=member)

    session = _move(session, ada, Step.HYPOTHESES)
    entries = {}
    for who, text, criterion, direction, confidence in HYPOTHESES:
        entry = services.hypothesis_create(session=session, author=cast[who], text=text,
                                           criterion=criterion, expected_direction=direction,
                                           confidence=confidence)
        entries[text] = entry
        made.append((Hypothesis, entry.pk, Step.HYPOTHESES))
    services.entries_reveal(session=session, by=ada)

    session = _move(session, ada, Step.TEST)
    tests = services.session_tests_run(session=session, by=ada)
    _wait_for([t.job_id for t in tests])
    by_text = {t.hypothesis.text: t for t in tests}
    _finding(made, session, cast[1], Step.TEST,
             "Inviting a teammate in week one is the strongest early signal we tested: "
             "inviters subscribe about twice as often as the rest.",
             test=by_text[HYPOTHESES[0][1]])
    _finding(made, session, cast[0], Step.TEST,
             "Mobile-first users do subscribe less, as I expected, but most of them start on "
             "the free plan. Check this within each plan before believing it.",
             test=by_text[HYPOTHESES[2][1]], kind=Finding.Kind.QUESTION)

    session = _move(session, ada, Step.EXPLORE)
    discovery = services.discovery_run(session=session, by=cast[1])
    _wait_for([discovery.job_id])
    discovery.refresh_from_db()
    for who, text, criterion, direction, confidence in IDEAS:
        entry = services.hypothesis_create(session=session, author=cast[who], text=text,
                                           kind=Hypothesis.Kind.IDEA, criterion=criterion,
                                           expected_direction=direction, confidence=confidence)
        made.append((Hypothesis, entry.pk, Step.EXPLORE))
    adopted = _adopt_first_suggestion(session, discovery, cast[1])
    if adopted is not None:
        made.append((Hypothesis, adopted.pk, Step.EXPLORE))
    tests = services.session_tests_run(session=session, by=ada, kind=Hypothesis.Kind.IDEA)
    _wait_for([t.job_id for t in tests])

    session = _move(session, ada, Step.TEST_AND_LEARN)
    _finding(made, session, cast[0], Step.TEST_AND_LEARN,
             "The mobile gap is the plan in disguise: within free, Pro and Business trials "
             "alike, mobile-first users subscribe as often as desktop ones.")
    _finding(made, session, cast[2], Step.TEST_AND_LEARN,
             "Gender, age and education: nothing there. Demographics are not where the "
             "difference is.", kind=Finding.Kind.UNSUCCESSFUL,
             test=by_text[HYPOTHESES[5][1]])
    session = services.timer_extend(session=session, by=ada, minutes=5)
    _finding(made, session, cast[1], Step.TEST_AND_LEARN,
             "Integrations matter on every plan, most for teams of 11-200 people.")

    session = _move(session, ada, Step.RESULTS)
    _finding(made, session, cast[0], Step.RESULTS,
             "Collaboration goes with subscribing: inviting, integrating and coming back "
             "three times in week one. An association, not yet a cause: worth an experiment.",
             test=by_text[HYPOTHESES[3][1]])
    _finding(made, session, cast[2], Step.RESULTS,
             "Pricing views look like a strong signal, but people view pricing as they "
             "subscribe (see the overlap warning): a consequence of success, not a sign of "
             "it. A dead end.", kind=Finding.Kind.UNSUCCESSFUL,
             test=by_text[HYPOTHESES[7][1]])

    session = _move(session, ada, Step.NEXT_STEPS)
    today = timezone.localdate()
    for owner, kind, text, days in (
        (cast[1], NextStep.Kind.EXPERIMENT,
         "A/B test an “invite a teammate” prompt on day one of the trial", 14),
        (cast[2], NextStep.Kind.INVESTIGATE,
         "Do integrations help free-plan teams too? Stratify by plan and company size", 7),
        (cast[0], NextStep.Kind.EXPERIMENT,
         "Show the integrations gallery in the first session for trial users", 21),
    ):
        item = services.next_step_create(session=session, by=ada, owner=owner, kind=kind,
                                         text=text, due_date=today + timedelta(days=days))
        made.append((NextStep, item.pk, Step.NEXT_STEPS))

    session = _move(session, ada, Step.UNSUCCESSFUL)
    other = services.discovery_run(session=session, by=ada, unsuccessful=True)
    _wait_for([other.job_id])
    _finding(made, session, cast[1], Step.UNSUCCESSFUL,
             "Users who did not subscribe mostly never invited anyone and came back at most "
             "twice in week one: the same story from the other side.",
             test=by_text[HYPOTHESES[0][1]])
    session = services.session_close(session=session, by=ada, expected=Step.UNSUCCESSFUL)
    _backdate(session, made)
    return WorkingSession.objects.get(pk=session.pk)


def _move(session: WorkingSession, by: User, to: str) -> WorkingSession:
    return services.step_move(session=session, by=by, to=to, expected=session.step)


def _finding(made: list, session: WorkingSession, author: User, step: str, text: str, *,
             test: HypothesisTest | None = None, kind: str = Finding.Kind.INSIGHT) -> None:
    finding = services.finding_create(session=session, author=author, text=text, step=step,
                                      kind=kind, test=test)
    made.append((Finding, finding.pk, step))


def _adopt_first_suggestion(session: WorkingSession, discovery: Discovery,
                            member: User) -> Hypothesis | None:

    # A user property first: behaviour in the success window may be its consequence.
    suggestions = sorted(unnamed_suggestions(session, discovery),
                         key=lambda s: (s.get("criterion", {}).get("kind") != "property",
                                        s["index"]))
    for suggestion in suggestions:
        lift = suggestion.get("lift")
        if lift is not None and lift > 0:
            try:
                return services.suggestion_adopt(discovery=discovery,
                                                 index=suggestion["index"], by=member)
            except services.SessionRefused:
                log.info("demo: suggestion %s not adopted", suggestion.get("label"))
                return None
    return None


def _wait_for(job_ids: list[int]) -> None:
    """Run the jobs here if nobody has taken them yet; otherwise wait for whoever did (the
    web process's background thread, or a worker). The demo must read their results."""

    for job_id in job_ids:
        if AnalysisJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).exists():
            run_analysis.apply(args=[job_id])
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while AnalysisJob.objects.filter(pk__in=job_ids,
                                     status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the demo session's analyses did not finish in time")
        time.sleep(0.2)


@transaction.atomic
def _backdate(session: WorkingSession, made: list[tuple[type, int, str]]) -> None:
    """Lay the meeting out over an hour and a half, a week ago, step by step."""
    start = (timezone.now() - timedelta(days=7)).replace(hour=10, minute=0, second=0,
                                                         microsecond=0)

    def at(step: str, order: int = 0) -> datetime:
        return start + timedelta(minutes=SCHEDULE[step], seconds=45 * order)

    counters: dict[str, int] = {}
    for model, pk, step in made:
        counters[step] = counters.get(step, 0) + 1
        moment = at(step, counters[step])
        fields = {"created_at": moment}
        if model is Hypothesis:
            fields.update(updated_at=moment, revealed_at=at(Step.HYPOTHESES, 14)
                          if step == Step.HYPOTHESES else moment)
        model.objects.filter(pk=pk).update(**fields)
    dig_start = at(Step.TEST_AND_LEARN)
    session_row = WorkingSession.objects.get(pk=session.pk)
    extension = session_row.dig_extension
    deadline = dig_start + session_row.dig_duration + extension
    WorkingSession.objects.filter(pk=session.pk).update(
        created_at=start, step_changed_at=at(Step.CLOSED), dig_started_at=dig_start,
        closed_at=at(Step.CLOSED))
    Participant.objects.filter(session=session).update(joined_at=start, last_seen_at=at(
        Step.CLOSED))
    HypothesisTest.objects.filter(session=session, hypothesis__kind=Hypothesis.Kind.HYPOTHESIS
                                  ).update(created_at=at(Step.TEST, 1))
    HypothesisTest.objects.filter(session=session, hypothesis__kind=Hypothesis.Kind.IDEA
                                  ).update(created_at=at(Step.EXPLORE, 6))
    Discovery.objects.filter(session=session).update(created_at=at(Step.EXPLORE, 1))
    for event in SessionEvent.objects.filter(session=session).order_by("pk"):
        if event.kind == SessionEvent.Kind.STEP:
            moment = at(event.data.get("to", Step.ALIGN))
        elif event.kind == SessionEvent.Kind.TIMER_STARTED:
            moment = dig_start
            event.data["deadline"] = (dig_start + session_row.dig_duration).isoformat()
        elif event.kind == SessionEvent.Kind.TIMER_EXTENDED:
            moment = dig_start + timedelta(minutes=16)
            event.data["deadline_before"] = (dig_start + session_row.dig_duration).isoformat()
            event.data["deadline_after"] = deadline.isoformat()
        elif event.kind == SessionEvent.Kind.REVEALED:
            moment = at(Step.HYPOTHESES, 14)
        elif event.kind == SessionEvent.Kind.CLOSED:
            moment = at(Step.CLOSED)
        else:
            moment = start
        SessionEvent.objects.filter(pk=event.pk).update(at=moment, data=event.data)
    results = session_results(session)
    log.info("demo session %s: %s tests, %s", session.pk, len(results.rows), results.counts())
