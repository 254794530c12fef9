"""The look before a session's test runs (issue 11): are the criterion's values in the
data, and how many users would its group hold? The values are checked at once against the
stored profile; the group is counted by a quick job (analytics "count") whose outcome the
member sees, polled, before confirming. Nothing here reads the data."""

from __future__ import annotations

from accounts.models import User
from analytics import checks
from analytics.engine.definitions import DefinitionError, validate_criterion, validate_success
from analytics.engine.refusals import Refused
from analytics.models import AnalysisJob
from analytics.scheduling import SESSION_PRIORITY
from analytics.services import group_count_submit

from .models import Hypothesis, WorkingSession


def group_count(session: WorkingSession, criterion: dict, by: User, *,
                shown: bool = True) -> AnalysisJob | None:
    """The quick count of the criterion's group under the session's success definition
    (None when the criterion cannot run: saving or testing it says why). `shown`: the
    member is shown its state now (else it is only asked for, to be known later)."""
    try:
        # Asked only to be known later: the same question counted on this version by
        # anyone of the team serves (test_check takes it too). In a meeting members write
        # the same criteria, and each count asked is a job.
        job = group_count_submit(team=session.team, dataset=session.dataset,
                                 success=session.success_definition.definition,
                                 criterion=criterion, created_by=by, session=session,
                                 priority=SESSION_PRIORITY, anyones_done=not shown)
    except (DefinitionError, Refused):
        return None
    if shown:
        job.refresh_from_db()  # a pool with a free thread may have counted it already
    return job


def criterion_check(session: WorkingSession, criterion: dict | None, by: User, *,
                    confirmed: bool) -> dict | None:
    """When an entry's criterion is saved: None when it may be kept (no value warnings, or
    the member kept them anyway), else {"warnings", "count"} to show. Its group is
    counted either way, so the count is known when the test is asked for."""
    if criterion is None:
        return None
    warnings = checks.criterion_warnings(session.dataset, criterion)
    shown = bool(warnings) and not confirmed
    count = group_count(session, criterion, by, shown=shown)
    if not shown:
        return None
    return {"warnings": warnings, "count": count}


def test_check(session: WorkingSession, hypothesis: Hypothesis, by: User) -> dict | None:
    """When a test is asked for: None when it may be queued at once (no value warnings
    and a finished count of at least MIN_USERS_FOR_VERDICT users), else {"entry_id",
    "warnings", "count"} for the member to read before "Test anyway"."""
    if hypothesis.criterion is None:
        return None  # the service refuses it, with its own words
    schema = session.dataset.schema_object()
    try:
        criterion = validate_criterion(hypothesis.criterion, schema)
        success = validate_success(session.success_definition.definition, schema)
    except DefinitionError:
        return None  # likewise
    warnings = checks.criterion_warnings(session.dataset, criterion)
    known = checks.known_group_count(session.dataset, success, criterion)
    if known is not None and not warnings and not checks.group_size(known)["too_few"]:
        return None
    count = known or group_count(session, criterion, by)
    return {"entry_id": hypothesis.pk, "warnings": warnings, "count": count}
