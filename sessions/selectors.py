"""Reads of working sessions, always scoped to a team (or to a session of it)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import Team, User
from analytics.models import JobStatus
from dashboards.models import Dashboard

from . import kept_rows, verdicts
from .models import (
    DashboardPin,
    Discovery,
    Dot,
    DotVote,
    Finding,
    Hypothesis,
    HypothesisTest,
    NextStep,
    Participant,
    SessionEvent,
    WorkingSession,
)
from .results import family_verdicts, session_results
from .steps import Step


def presence_window() -> timedelta:
    """How long after its last sign of life a member still shows as here: the live stream
    renews it every few seconds while it is open (sessions.feed)."""
    return timedelta(seconds=settings.LIVE_PRESENCE_SECONDS)



def sessions_of(team: Team, *, query: str = "") -> QuerySet[WorkingSession]:
    """The team's sessions, newest first; `query` finds text in titles, hypotheses and
    findings."""
    sessions = WorkingSession.objects.filter(team=team).select_related(
        "facilitator", "success_definition", "dataset")
    query = (query or "").strip()
    if query:
        matching = (Q(title__icontains=query) | Q(hypotheses__text__icontains=query)
                    | Q(findings__text__icontains=query)
                    | Q(next_steps__text__icontains=query))
        ids = WorkingSession.objects.filter(team=team).filter(matching).values("pk")
        sessions = sessions.filter(pk__in=ids)
    return sessions.annotate(
        participant_count=Count("participants", distinct=True),
    ).order_by("-created_at", "-pk")


def recent_sessions(team: Team, limit: int = 5) -> list[WorkingSession]:
    return list(sessions_of(team)[:limit])


SESSION_RELATED = ("team", "dataset", "success_definition", "facilitator")


def session_of(team: Team, session_id: int) -> WorkingSession:
    joined = [name for name in SESSION_RELATED if name != "team"]
    session = (WorkingSession.objects.select_related(*joined)
               .filter(team=team, pk=session_id).first())
    if session is None:
        raise Http404("No such session")
    session.team = team  # the caller's row of it: no need to join it again
    return session


def session_to_write(team: Team, session_id: int) -> WorkingSession:
    """The session a write view works on (sessions.views.common.writes_session), read
    once for the request: the service's first check takes this row as it is
    (services.guards.fresh) instead of reading it again a moment later."""
    session = session_of(team, session_id)
    session.read_for_write = True
    return session


def session_now(session: WorkingSession,
                related: tuple[str, ...] = SESSION_RELATED) -> WorkingSession:
    """The session's row as it is now, with `related` loaded. A write changes the session's
    own columns (step, revision, clock); the related rows already read in this request are
    kept when the row still names them, so reading it again is one small query instead of
    four joins with the dataset's schema (a write reads the session three times)."""
    relations = [WorkingSession._meta.get_field(name) for name in related]
    missing = [relation.name for relation in relations if not relation.is_cached(session)]
    rows = WorkingSession.objects
    if missing:  # (select_related() with no names would join every relation)
        rows = rows.select_related(*missing)
    now = rows.get(pk=session.pk)
    for relation in relations:
        same = getattr(now, relation.attname) == getattr(session, relation.attname)
        if relation.name not in missing and same:
            relation.set_cached_value(now, relation.get_cached_value(session))
    return now


def participant_of(session: WorkingSession, user: User) -> Participant | None:
    return Participant.objects.filter(session=session, user=user).first()


# What a live drawing shows of each row (sessions.kept_rows): a row whose stamp is as the
# last drawing read it is not built again.
PARTICIPANT_STAMP = ("user_id", "joined_at", "confirmed_definition_id", "user__display_name",
                     "user__email")
ENTRY_STAMP = ("kind", "author_id", "slot", "rank", "text", "criterion", "origin",
               "expected_direction", "confidence", "revealed_at", "created_at", "updated_at",
               "author__display_name", "author__email")
FINDING_STAMP = ("author_id", "step", "kind", "text", "test_id", "evidence", "created_at",
                 "author__display_name", "author__email")


def participants_of(session: WorkingSession, *, kept: bool = False) -> list[Participant]:
    """Everyone who joined, each marked `.is_present` and `.has_confirmed`. `kept`: for a
    live drawing, rows unchanged since the last one are not built again."""
    now = timezone.now()
    rows = (Participant.objects.filter(session=session).select_related("user")
            .order_by("joined_at", "pk"))
    found = (kept_rows.instances(("participants", session.pk), rows, PARTICIPANT_STAMP,
                                 fresh=("last_seen_at",))
             if kept else list(rows))
    for participant in found:
        participant.is_present = (not session.is_closed
                                  and now - participant.last_seen_at <= presence_window())
        participant.has_confirmed = (participant.confirmed_definition_id
                                     == session.success_definition_id)
        participant.is_facilitator = participant.user_id == session.facilitator_id
    return found


@dataclass
class Entries:
    """What one member sees of a kind of entry: their own, and everyone's revealed ones."""

    mine: list[Hypothesis] = field(default_factory=list)
    visible: list[Hypothesis] = field(default_factory=list)
    # author name -> how many of their entries are still hidden from this viewer
    hidden: dict[str, int] = field(default_factory=dict)
    closed: bool = False

    @property
    def hidden_total(self) -> int:
        return sum(self.hidden.values())

    @property
    def own_hidden(self) -> list[Hypothesis]:
        """The viewer's own entries the others cannot see yet (drawn apart: they are the
        only entries that differ from one member's page to another's)."""
        return [e for e in self.mine if e.revealed_at is None and not self.closed]

    @cached_property
    def shared(self) -> list[Hypothesis]:
        """The entries every member sees. Worked out once: a live drawing asks for it four
        times over its 600 entries (the lists are complete when entries_for returns)."""
        hidden = {e.pk for e in self.own_hidden}
        return [e for e in self.visible if e.pk not in hidden]


def entries_for(session: WorkingSession, viewer: User, kind: str, *,
                only_own: bool = False, kept: bool = False) -> Entries:
    """`only_own`: the viewer's entries alone (`visible` and `hidden` then hold only them).
    `kept`: for a live drawing (see participants_of)."""
    entries = Entries(closed=session.is_closed)
    rows = (Hypothesis.objects.filter(session=session, kind=kind)
            .order_by("author_id", "rank", "pk"))
    if only_own:
        rows = rows.filter(author_id=viewer.pk)  # their author is the viewer: not joined
    else:
        rows = rows.select_related("author")
    if kept and not only_own:
        rows = kept_rows.instances(("entries", session.pk, kind), rows, ENTRY_STAMP)
    for entry in rows:
        if only_own:
            entry.author = viewer
        if entry.author_id == viewer.pk:
            entries.mine.append(entry)
            entries.visible.append(entry)
        elif entry.revealed_at is not None or session.is_closed:
            entries.visible.append(entry)
        else:
            name = entry.author.name if entry.author else "a former member"
            entries.hidden[name] = entries.hidden.get(name, 0) + 1
    return entries


def own_tested_entries(session: WorkingSession, user: User) -> dict:
    """The member's entries of the session that have a test: entry id -> when it was
    revealed (None: still hidden from the others)."""
    return dict(HypothesisTest.objects.filter(hypothesis__session=session,
                                              hypothesis__author=user)
                .values_list("hypothesis_id", "hypothesis__revealed_at"))


def hidden_count(session: WorkingSession) -> int:
    known = getattr(session, "known_hidden_count", None)  # read with the row to draw
    if known is not None:
        return known
    return Hypothesis.objects.filter(session=session, revealed_at__isnull=True).count()


def session_to_draw(session_id: int) -> WorkingSession | None:
    """The session's row for a live drawing (sessions.regions), its related rows joined,
    with what the drawing would otherwise ask in two more queries: how many entries are
    still hidden, and its latest vote (None: no vote, and vote_board asks nothing). On a
    busy machine each query of a drawing costs 10-20 ms of its wall time."""
    hidden = (Hypothesis.objects.filter(session=OuterRef("pk"), revealed_at__isnull=True)
              .order_by().values("session").annotate(n=Count("pk")).values("n"))
    latest_vote = (DotVote.objects.filter(session=OuterRef("pk"))
                   .order_by("-opened_at", "-pk").values("pk")[:1])
    return (WorkingSession.objects.select_related(*SESSION_RELATED)
            .annotate(known_hidden_count=Coalesce(Subquery(hidden), 0),
                      known_latest_vote_id=Subquery(latest_vote))
            .filter(pk=session_id).first())


def findings_of(session: WorkingSession, *, kept: bool = False) -> list[Finding]:
    """`kept`: for a live drawing (see participants_of)."""
    rows = (Finding.objects.filter(session=session)
            .select_related("author", "test", "test__hypothesis").order_by("created_at", "pk"))
    if kept:
        return kept_rows.instances(("findings", session.pk), rows, FINDING_STAMP)
    return list(rows)


def unattached_findings(team: Team, limit: int = 50) -> list[Finding]:
    """The team's findings kept outside any session, newest first, waiting to be attached."""
    return list(Finding.objects.filter(team=team, session__isnull=True)
                .select_related("author").order_by("-created_at", "-pk")[:limit])


def unattached_finding_of(team: Team, finding_id: int) -> Finding:
    finding = Finding.objects.filter(team=team, session__isnull=True, pk=finding_id).first()
    if finding is None:
        raise Http404("No such finding")
    return finding


def open_sessions_of(team: Team, limit: int = 20) -> list[WorkingSession]:
    """The team's sessions that are not closed yet, newest first (where a finding can go)."""
    return list(WorkingSession.objects.filter(team=team).exclude(step=Step.CLOSED)
                .order_by("-created_at", "-pk")[:limit])


def open_next_steps_of(team: Team, user: User, limit: int = 20) -> list[NextStep]:
    """The next steps this person owns and has not done, across the team's sessions: the
    soonest due first, those without a date last."""
    return list(NextStep.objects.filter(owner=user, done_at__isnull=True, session__team=team)
                .select_related("session")
                .order_by(F("due_date").asc(nulls_last=True), "created_at", "pk")[:limit])


def next_steps_of(session: WorkingSession) -> list[NextStep]:
    return list(NextStep.objects.filter(session=session)
                .select_related("owner", "done_by", "done_in").order_by("created_at", "pk"))


def carried_next_steps(session: WorkingSession) -> list[NextStep]:
    """Next steps from the team's earlier sessions that were still open when this one
    started, or that were marked done in it: what the meeting starts by looking at."""
    return list(
        NextStep.objects.filter(session__team_id=session.team_id,
                                session__created_at__lt=session.created_at)
        .filter(Q(done_at__isnull=True) | Q(done_in=session))
        .select_related("owner", "session", "done_by").order_by("due_date", "created_at", "pk")
    )


BUSY = (JobStatus.QUEUED, JobStatus.RUNNING)


def latest_discovery(session: WorkingSession, *, unsuccessful: bool) -> Discovery | None:
    return (Discovery.objects.filter(session=session, unsuccessful=unsuccessful,
                                     success_definition=session.success_definition)
            .exclude(job__status=JobStatus.FAILED)
            .select_related("job").order_by("-created_at", "-pk").first())


def unnamed_suggestions(session: WorkingSession, discovery: Discovery | None) -> list[dict]:
    """The discovery's candidates that no entry of the session names yet, each with its
    index in the job's result (what "adopt" refers to)."""
    if discovery is None or discovery.job.status != JobStatus.DONE or not discovery.job.result:
        return []
    named = {_key(c) for c in Hypothesis.objects.filter(session=session, criterion__isnull=False)
             .values_list("criterion", flat=True)}
    suggestions = []
    for index, candidate in enumerate(discovery.job.result.get("characteristics") or []):
        if _key(candidate.get("criterion")) in named:
            continue
        suggestions.append({"index": index, **candidate})
    return suggestions


def _key(criterion) -> str:
    return json.dumps(criterion, sort_keys=True)


def timer_log(session: WorkingSession) -> list[SessionEvent]:
    return list(SessionEvent.objects.filter(session=session).select_related("actor")
                .order_by("at", "pk"))


def verdict_counts(sessions: list[WorkingSession]) -> dict[int, verdicts.VerdictCounts]:
    """Each session's latest tests counted by state (sessions.verdicts.count), from one
    query over their tests: only the numbers a verdict needs are read, not whole
    results."""
    counts = {s.pk: verdicts.count([]) for s in sessions}
    if not sessions:
        return counts
    rows = (HypothesisTest.objects.filter(session__in=[s.pk for s in sessions])
            .order_by("session_id", "created_at", "pk")
            .values_list("session_id", "hypothesis_id", "job__status", "job__result__p_value",
                         "job__result__lift", "job__result__group__users",
                         "job__result__rest__users", "hypothesis__expected_direction"))
    by_session: dict[int, list] = defaultdict(list)
    for row in rows:
        by_session[row[0]].append(row)
    for session_id, tests in by_session.items():
        numbers = [(p, lift, n1, n0, direction) if status == JobStatus.DONE and n1 is not None
                   else (None, None, None, None, direction)
                   for _, _, status, p, lift, n1, n0, direction in tests]
        judged = family_verdicts(numbers)
        latest: dict[int, str] = {}
        for (_, hypothesis_id, status, *_rest), verdict in zip(tests, judged, strict=True):
            latest[hypothesis_id] = verdict or (
                verdicts.RUNNING if status in BUSY else verdicts.FAILED)
        counts[session_id] = verdicts.count(latest.values())
    return counts


@dataclass
class MemberRecord:
    user: User
    entries: list[dict] = field(default_factory=list)
    right: int = 0
    wrong: int = 0
    unsettled: int = 0
    no_expectation: int = 0
    by_confidence: list[dict] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return self.right + self.wrong

    @property
    def share_right(self) -> float | None:
        return self.right / self.settled if self.settled else None


def member_record(team: Team, user: User) -> MemberRecord:
    """How the member's expectations fared, over every session of the team: for each of
    their tested entries, what they expected and what the latest test said."""
    record = MemberRecord(user=user)
    session_ids = set(Hypothesis.objects.filter(session__team=team, author=user)
                      .values_list("session_id", flat=True))
    sessions = {s.pk: s for s in WorkingSession.objects.filter(pk__in=session_ids)}
    confidence: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for session_id in sorted(session_ids, key=lambda pk: sessions[pk].created_at, reverse=True):
        session = sessions[session_id]
        latest = session_results(session).latest_by_hypothesis()
        for entry in (Hypothesis.objects.filter(session=session, author=user)
                      .order_by("kind", "rank")):
            row = latest.get(entry.pk)
            verdict = row.verdict if row is not None else None
            outcome = verdicts.expectation_outcome(entry.expected_direction, verdict)
            record.entries.append({"session": session, "hypothesis": entry, "result": row,
                                   "verdict": verdict, "outcome": outcome})
            if not entry.expected_direction:
                record.no_expectation += 1
            elif outcome is None:
                record.unsettled += 1
            else:
                setattr(record, outcome, getattr(record, outcome) + 1)
                if entry.confidence:
                    confidence[entry.confidence][0 if outcome == "right" else 1] += 1
    labels = dict(Hypothesis.CONFIDENCE_CHOICES)
    record.by_confidence = [
        {"confidence": level, "label": labels[level], "right": right, "wrong": wrong,
         "share": right / (right + wrong)}
        for level, (right, wrong) in sorted(confidence.items())
    ]
    return record



def split_by_direction(discovery: Discovery | None, limit: int = 8) -> dict[str, list[dict]]:
    """A discovery run's characteristics by the direction of their lift: for the
    unsuccessful side, "more" are traits the users who did not succeed share."""
    split: dict[str, list[dict]] = {"more": [], "less": []}
    if discovery is None or discovery.job.status != JobStatus.DONE or not discovery.job.result:
        return split
    for candidate in discovery.job.result.get("characteristics") or []:
        lift = candidate.get("lift")
        if lift is None or lift == 0:
            continue
        side = split["more" if lift > 0 else "less"]
        if len(side) < limit:
            side.append(candidate)
    return split


@dataclass
class VoteLine:
    hypothesis: Hypothesis
    mine: int = 0  # this member's dots on it (always theirs to see)
    total: int | None = None  # everyone's, once the vote is closed


@dataclass
class VoteBoard:
    """The session's latest dot vote as one member may see it: their own dots while it is
    open, everyone's totals (most dots first) once it is closed."""

    vote: DotVote
    lines: list[VoteLine]
    voters: int  # how many members have placed a dot (not where)

    @property
    def is_open(self) -> bool:
        return self.vote.is_open

    @property
    def my_dots(self) -> int:
        return sum(line.mine for line in self.lines)

    @property
    def dots_left(self) -> int:
        return max(0, self.vote.dots_per_member - self.my_dots)


def vote_board(session: WorkingSession, viewer: User | None, *,
               closed_only: bool = False) -> VoteBoard | None:
    """The latest vote (the latest closed one with `closed_only`, as the report shows)."""
    if (not closed_only and hasattr(session, "known_latest_vote_id")
            and session.known_latest_vote_id is None):
        return None  # read with the row to draw (session_to_draw): no vote
    votes = DotVote.objects.filter(session=session)
    if closed_only:
        votes = votes.filter(closed_at__isnull=False)
    vote = votes.order_by("-opened_at", "-pk").first()
    if vote is None:
        return None
    dots = Dot.objects.filter(vote=vote)
    mine: dict[int, int] = defaultdict(int)
    if viewer is not None and viewer.pk is not None:  # not the drawing for everyone
        for hypothesis_id in dots.filter(voter=viewer).values_list("hypothesis_id", flat=True):
            mine[hypothesis_id] += 1
    totals: dict[int, int] = {}
    if not vote.is_open:
        totals = dict(dots.values("hypothesis_id").annotate(n=Count("pk"))
                      .values_list("hypothesis_id", "n"))
    entries = (Hypothesis.objects.filter(session=session, kind=Hypothesis.Kind.HYPOTHESIS)
               .filter(Q(revealed_at__isnull=False) | Q(pk__in=totals.keys()))
               .select_related("author").order_by("created_at", "pk"))
    lines = [VoteLine(hypothesis=h, mine=mine.get(h.pk, 0),
                      total=None if vote.is_open else totals.get(h.pk, 0)) for h in entries]
    if not vote.is_open:
        lines.sort(key=lambda line: -line.total)  # stable: ties keep the written order
    return VoteBoard(vote=vote, lines=lines,
                     voters=dots.values("voter").distinct().count())


def pins_of(dashboard: Dashboard) -> QuerySet[DashboardPin]:
    return (DashboardPin.objects.filter(dashboard=dashboard)
            .select_related("finding", "finding__session", "finding__author", "pinned_by"))


def findings_to_pin(team: Team, dashboard: Dashboard, limit: int = 50) -> QuerySet[Finding]:
    """The team's recent findings that are not pinned to this dashboard yet."""
    pinned = DashboardPin.objects.filter(dashboard=dashboard).values("finding_id")
    return (Finding.objects.filter(session__team=team).exclude(pk__in=pinned)
            .select_related("session").order_by("-created_at")[:limit])
