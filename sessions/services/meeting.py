"""The meeting itself: starting a session, joining it, moving through its steps, the
"Test and learn" countdown, the success definition, revealing entries, closing."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Team, User
from analytics.engine.definitions import DefinitionError, validate_success
from analytics.models import Dataset, SuccessDefinition
from analytics.services import DatasetRefused, success_definition_revise

from .. import push, steps
from ..models import Hypothesis, HypothesisTest, Participant, SessionEvent, WorkingSession
from ..steps import Step
from .errors import BadInput, StaleStep, StepClosed
from .guards import (
    fresh,
    log,
    record_change,
    require_facilitator,
    require_open,
    require_participant,
    require_team_member,
)
from .timebox import cleared_fields, planned_minutes, started_fields

MIN_DIG_MINUTES = 1
MAX_DIG_MINUTES = 180
MAX_EXTENSION_MINUTES = 60


def session_create(*, team: Team, dataset: Dataset, success_definition: SuccessDefinition,
                   title: str, facilitator: User, created_by: User | None = None,
                   dig_minutes: int = 20, hide_entries: bool = True) -> WorkingSession:
    """A new session at its first step, with the facilitator already in it."""
    title = (title or "").strip()
    if not title:
        raise BadInput("Give the session a title, e.g. “What makes trial users subscribe?”.")
    if len(title) > 200:
        raise BadInput("Keep the title under 200 characters.")
    if dataset.team_id != team.pk or success_definition.team_id != team.pk:
        raise BadInput("The dataset and the success definition must belong to this team.")
    if not dataset.is_ready:
        raise BadInput(f"The dataset “{dataset.name}” has no imported data yet.")
    _check_definition_fits(success_definition, dataset)
    _check_minutes(dig_minutes)
    with transaction.atomic():
        session = WorkingSession.objects.create(
            team=team, dataset=dataset, success_definition=success_definition, title=title,
            facilitator=facilitator, created_by=created_by or facilitator,
            dig_duration=timedelta(minutes=dig_minutes), hide_entries=hide_entries,
        )
        require_team_member(session, facilitator)
        Participant.objects.create(session=session, user=facilitator)
        log(session, SessionEvent.Kind.CREATED, created_by or facilitator,
            definition=success_definition.description, dataset=dataset.name)
    return session


def session_join(*, session: WorkingSession, user: User) -> Participant:
    """Make the team member a participant (idempotent). A closed session takes nobody."""
    existing = Participant.objects.filter(session=session, user=user).first()
    if existing is not None:
        return existing
    require_open(session)
    require_team_member(session, user)
    try:
        with transaction.atomic():
            participant = Participant.objects.create(session=session, user=user)
            record_change(session)
    except IntegrityError:  # the same person's two tabs joined at once
        return Participant.objects.get(session=session, user=user)
    return participant


def presence_touch(*, participant_id: int) -> None:
    """The live poll says this participant is still there."""
    Participant.objects.filter(pk=participant_id).update(last_seen_at=timezone.now())


def step_move(*, session: WorkingSession, by: User, to: str,
              expected: str) -> WorkingSession:
    """Move the session to step `to`, as drawn on the facilitator's page at `expected`.

    Forward one step at a time, back to any earlier step. A second click on the same
    "Next" carries the same `expected` step, which is no longer current: refused, so the
    session never skips a step. Entering "Test and learn" for the first time starts its
    countdown."""
    session = fresh(session)
    require_facilitator(session, by, "move the session between steps")
    if to == Step.CLOSED:
        return session_close(session=session, by=by, expected=expected)
    if session.step != expected:
        raise StaleStep(f"The session is already at {steps.label(session.step)}; "
                        "nothing changed.")
    problem = steps.move_problem(session.step, to)
    if problem:
        raise (StepClosed if session.is_closed else BadInput)(problem)
    now = timezone.now()
    with transaction.atomic():
        starts_timer = to == Step.TEST_AND_LEARN and session.dig_started_at is None
        fields = {"step": to, "step_changed_at": now, "revision": F("revision") + 1}
        if starts_timer:
            fields["dig_started_at"] = Coalesce(F("dig_started_at"), now)
        # A step's timebox ends with the step; a planned one starts with its step.
        box = planned_minutes(session, to)
        fields.update(started_fields(to, box, now) if box else cleared_fields())
        updated = WorkingSession.objects.filter(pk=session.pk, step=expected).update(**fields)
        if not updated:
            raise StaleStep("Someone moved the session meanwhile; nothing changed.")
        push.session_changed(session.pk)
        log(session, SessionEvent.Kind.STEP, by, **{"from": expected, "to": to})
        if box:
            log(session, SessionEvent.Kind.TIMEBOX_SET, by, step=to, minutes=box,
                deadline=(now + timedelta(minutes=box)).isoformat(), planned=True)
        if starts_timer:
            log(session, SessionEvent.Kind.TIMER_STARTED, by,
                minutes=_minutes(session.dig_duration),
                deadline=(now + session.dig_duration).isoformat())
    return fresh(session)


def session_close(*, session: WorkingSession, by: User,
                  expected: str | None = None) -> WorkingSession:
    """End the meeting. From here on the session is a read-only record."""
    session = fresh(session)
    require_facilitator(session, by, "close the session")
    require_open(session)
    if expected is not None and session.step != expected:
        raise StaleStep(f"The session is at {steps.label(session.step)} now; "
                        "look again before closing it.")
    now = timezone.now()
    with transaction.atomic():
        updated = WorkingSession.objects.filter(pk=session.pk, step=session.step).update(
            step=Step.CLOSED, closed_at=now, step_changed_at=now, revision=F("revision") + 1
        )
        if not updated:
            raise StaleStep("Someone moved the session meanwhile; nothing changed.")
        push.session_changed(session.pk)
        log(session, SessionEvent.Kind.CLOSED, by, **{"from": session.step})
    return fresh(session)


def timer_extend(*, session: WorkingSession, by: User, minutes: int) -> WorkingSession:
    """Give "Test and learn" more time: the new deadline is `minutes` after the old one,
    or after now when the old one has passed (reopening the step)."""
    session = fresh(session)
    require_facilitator(session, by, "extend the timer")
    require_open(session)
    if session.step != Step.TEST_AND_LEARN or session.dig_started_at is None:
        raise StepClosed("The timer can only be extended during Test and learn.")
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise BadInput(f"Extend by 1 to {MAX_EXTENSION_MINUTES} minutes.")
    now = timezone.now()
    before = session.dig_deadline()
    after = max(before, now) + timedelta(minutes=minutes)
    extension = after - session.dig_started_at - session.dig_duration
    with transaction.atomic():
        WorkingSession.objects.filter(pk=session.pk).update(dig_extension=extension)
        record_change(session, step=Step.TEST_AND_LEARN)
        log(session, SessionEvent.Kind.TIMER_EXTENDED, by, minutes=minutes,
            deadline_before=before.isoformat(), deadline_after=after.isoformat(),
            was_over=before <= now)
    return fresh(session)


def session_settings_update(*, session: WorkingSession, by: User,
                            dig_minutes: int | None = None,
                            hide_entries: bool | None = None) -> WorkingSession:
    """The facilitator's settings: the countdown's length (before it starts) and whether
    entries stay hidden until revealed."""
    session = fresh(session)
    require_facilitator(session, by, "change the session's settings")
    require_open(session)
    fields: dict = {}
    if dig_minutes is not None and timedelta(minutes=dig_minutes) != session.dig_duration:
        if session.dig_started_at is not None:
            raise BadInput("The timer has started: extend it instead of changing its length.")
        _check_minutes(dig_minutes)
        fields["dig_duration"] = timedelta(minutes=dig_minutes)
    if hide_entries is not None and hide_entries != session.hide_entries:
        fields["hide_entries"] = hide_entries
    if not fields:
        return session
    with transaction.atomic():
        WorkingSession.objects.filter(pk=session.pk).update(**fields)
        if "hide_entries" in fields and not hide_entries:
            # Showing entries from now on also shows those written so far.
            Hypothesis.objects.filter(session=session, revealed_at__isnull=True).update(
                revealed_at=timezone.now())
        record_change(session)
        push.session_changed(session.pk, everyone=True)
        if "dig_duration" in fields:
            log(session, SessionEvent.Kind.DURATION_SET, by, minutes=dig_minutes)
    return fresh(session)


def entries_reveal(*, session: WorkingSession, by: User) -> int:
    """Show everyone's hidden entries to everyone; returns how many were revealed."""
    session = fresh(session)
    require_facilitator(session, by, "reveal the entries")
    require_open(session)
    with transaction.atomic():
        count = Hypothesis.objects.filter(session=session, revealed_at__isnull=True).update(
            revealed_at=timezone.now())
        record_change(session)
        log(session, SessionEvent.Kind.REVEALED, by, count=count, step=session.step)
    return count


def definition_confirm(*, session: WorkingSession, by: User) -> Participant:
    """This member agrees with the session's success definition (as it is now)."""
    session = fresh(session)
    require_open(session)
    participant = require_participant(session, by)
    with transaction.atomic():
        Participant.objects.filter(pk=participant.pk).update(
            confirmed_definition=session.success_definition)
        record_change(session)
    participant.confirmed_definition = session.success_definition
    return participant


def definition_change(*, session: WorkingSession, by: User,
                      success_definition: SuccessDefinition) -> WorkingSession:
    """Start from another of the team's success definitions, before anything is tested.
    The change is logged; members confirm the new one afresh."""
    session = fresh(session)
    require_facilitator(session, by, "change the success definition")
    require_open(session)
    if success_definition.team_id != session.team_id:
        raise BadInput("That success definition belongs to another team.")
    if success_definition.pk == session.success_definition_id:
        return session
    if HypothesisTest.objects.filter(session=session).exists():
        raise StepClosed("Tests have already run against the current definition: it can no "
                         "longer change in this session. Start a new session instead.")
    _check_definition_fits(success_definition, session.dataset)
    previous = session.success_definition
    with transaction.atomic():
        WorkingSession.objects.filter(pk=session.pk).update(
            success_definition=success_definition)
        record_change(session)
        log(session, SessionEvent.Kind.DEFINITION_CHANGED, by,
            from_id=previous.pk, from_text=f"{previous}: {previous.description}",
            to_id=success_definition.pk,
            to_text=f"{success_definition}: {success_definition.description}")
    return fresh(session)


def definition_revise(*, session: WorkingSession, by: User, definition: dict,
                      name: str | None = None) -> WorkingSession:
    """Adjust the session's definition: saves a new version of it for the team (earlier
    results keep the version they used) and moves the session onto it."""

    session = fresh(session)
    require_facilitator(session, by, "change the success definition")
    require_open(session)
    if HypothesisTest.objects.filter(session=session).exists():
        raise StepClosed("Tests have already run against the current definition: it can no "
                         "longer change in this session.")
    current = session.success_definition
    if not current.is_current:
        raise BadInput(f"“{current.name}” has a newer version already: choose it from the "
                       "list instead.")
    try:
        revised = success_definition_revise(current=current, definition=definition, name=name,
                                            created_by=by, dataset=session.dataset)
    except DefinitionError as error:
        raise BadInput(f"That success definition cannot be used: {error}") from error
    except DatasetRefused as refusal:
        raise BadInput(str(refusal)) from refusal
    return definition_change(session=session, by=by, success_definition=revised)


def _check_definition_fits(success_definition: SuccessDefinition, dataset: Dataset) -> None:
    schema = dataset.schema_object()
    if schema is None:
        raise BadInput(f"The dataset “{dataset.name}” has no imported data yet.")
    try:
        validate_success(success_definition.definition, schema)
    except DefinitionError as error:
        raise BadInput(f"“{success_definition.name}” does not fit the dataset "
                       f"“{dataset.name}”: {error}") from error


def _check_minutes(minutes) -> None:
    if not isinstance(minutes, int) or not MIN_DIG_MINUTES <= minutes <= MAX_DIG_MINUTES:
        raise BadInput(f"The Test and learn step lasts {MIN_DIG_MINUTES} to "
                       f"{MAX_DIG_MINUTES} minutes.")


def _minutes(duration: timedelta) -> float:
    minutes = duration.total_seconds() / 60
    return int(minutes) if minutes.is_integer() else round(minutes, 2)
