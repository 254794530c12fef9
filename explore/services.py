"""Writes of the explorer: ask a question (queue an AnalysisJob) and keep a result as a
finding with its evidence (the session's, or outside one the team's, to attach later). Inside a working session both go through the sessions
services, which refuse them once "Test and learn" is over (sessions.services.StepClosed)."""

from __future__ import annotations

from accounts.models import Team, User
from analytics.engine.console import check_query
from analytics.engine.refusals import Refused
from analytics.models import AnalysisJob, JobStatus
from analytics.services import analysis_submit
from sessions import selectors as session_selectors
from sessions import services as session_services
from sessions.models import WorkingSession
from sessions.steps import Step

from . import snapshots
from .selectors import Where

KINDS = ("breakdown", "compare", "stratify", "sql")


class ExploreRefused(Refused, ValueError):
    """A request the explorer cannot honour, with a message for people."""


def question_ask(*, team: Team, user: User, where: Where, kind: str, question: dict,
                 unsuccessful: bool = False) -> AnalysisJob:
    """Queue one explorer question as an AnalysisJob. Raises DefinitionError (a bad
    definition), ConsoleRefused (SQL the console will not run), ExploreRefused, or
    sessions.services.StepClosed (inside a session, once its Test and learn is over)."""
    if kind not in KINDS:
        raise ExploreRefused(f"Unknown kind of question {kind!r}.")
    if not where.is_ready:
        raise ExploreRefused("Pick a dataset with imported data and a success definition.")
    options: dict = {}
    if where.session is not None:
        _ensure_dig_open(where.session)
    if unsuccessful:
        options["unsuccessful"] = True
    if question.get("population_filter") is not None:
        options["population_filter"] = question["population_filter"]
    submit = {"team": team, "dataset": where.dataset, "success": where.success.definition,
              "created_by": user, "session": where.session,
              "success_definition": where.success}
    if kind == "breakdown":
        return analysis_submit(**submit, breakdown=question["breakdown"], options=options)
    if kind == "compare":
        options["group_b"] = question["group_b"]
        return analysis_submit(**submit, kind=AnalysisJob.Kind.COMPARE,
                               criterion=question["group_a"], options=options)
    if kind == "stratify":
        return analysis_submit(**submit, kind=AnalysisJob.Kind.STRATIFY,
                               criterion=question["criterion"], breakdown=question["strata"],
                               options=options)
    options["sql"] = check_query(question["sql"])
    return analysis_submit(**submit, kind=AnalysisJob.Kind.SQL, options=options)


def finding_from_result(*, job: AnalysisJob, where: Where, author: User, text: str,
                        kind: str = "insight"):
    """Keep a finished result as a finding, with a frozen snapshot of its numbers and the
    definitions that produced them: of the session it was asked in, or, asked outside any
    session, of the team (to attach to a session later)."""

    if job.status != JobStatus.DONE or job.result is None:
        raise ExploreRefused("Only a finished result can be kept as evidence.")
    evidence = snapshots.evidence_of(job, where)
    if where.session is None:
        return session_services.team_finding_create(team=job.team, author=author, text=text,
                                                    kind=kind, evidence=evidence)
    return session_services.finding_create(session=where.session, author=author, text=text,
                                           step=Step.TEST_AND_LEARN, kind=kind, evidence=evidence)


def _ensure_dig_open(session) -> None:
    # Read the row again: the facilitator may have extended or closed the step meanwhile.
    current = WorkingSession.objects.get(pk=session.pk)
    session_services.ensure_step_open(current, Step.TEST_AND_LEARN)



def finding_attach(*, team: Team, finding_id: int, session_id: int, by: User):
    """Attach one of the team's unattached findings to one of its open sessions. Another
    team's finding or session is a 404 (Http404 from the selectors)."""
    finding = session_selectors.unattached_finding_of(team, finding_id)
    session = session_selectors.session_of(team, session_id)
    return session_services.finding_attach(finding=finding, session=session, by=by)
