"""Reading a session's tests: the numbers of each job, the session-wide q-values, the
verdicts, and the words and warnings that go with them.

q-values are never stored: every read recomputes them over all finished tests of the
session, so adding a test (or one finishing) updates the earlier ones at once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from analytics import numbers
from analytics.charts import CompactRateChart, group_vs_rest_chart
from analytics.engine import stats
from analytics.engine.definitions import describe_criterion
from analytics.models import JobStatus, SuccessDefinition

from . import verdicts
from .models import HypothesisTest, WorkingSession

BEHAVIOUR_KINDS = frozenset({"event_count", "did_event", "event_property", "session_count",
                             "time_in_app"})


@dataclass
class TestResult:
    test: HypothesisTest
    status: str
    error: str = ""
    description: str = ""
    population: dict | None = None
    group: dict | None = None
    rest: dict | None = None
    diff: float | None = None
    lift: float | None = None
    lift_ci95: list | None = None
    p_value: float | None = None
    test_name: str | None = None
    note: str | None = None
    q_value: float | None = None
    verdict: str | None = None
    # Where the data goes at q < 0.05, whatever was expected: "more", "less" or None.
    direction: str | None = None
    min_detectable_lift: float | None = None
    overlap_warning: str | None = None
    low_data: bool = False
    sentence: str = ""
    is_latest: bool = True
    unsuccessful: bool = False
    _chart: CompactRateChart | None = field(default=None, repr=False, compare=False)
    _data_key: str | None = field(default=None, repr=False, compare=False)

    @property
    def chart(self) -> CompactRateChart | None:
        """Drawn when a page shows it: a live page keeps cards already drawn, and a
        session's drawing reads every result but draws only the cards that changed."""
        if self.group is None or self.rest is None:
            return None
        if self._chart is None:
            self._chart = group_vs_rest_chart(
                self.group, self.rest,
                outcome="did not succeed" if self.unsuccessful else "succeeded")
        return self._chart

    @property
    def data_key(self) -> str:
        """The test's own numbers as text, for sessions.cards: fixed once the row is read
        (what the family makes of them, q and verdict, is not in it), so a row kept from
        one drawing to the next (kept_session_results) carries it along."""
        if self._data_key is None:
            self._data_key = repr((
                self.test.pk, self.status, self.error, self.group, self.rest, self.lift,
                self.lift_ci95, self.low_data, self.overlap_warning, self.note,
                self.test_name, self.unsuccessful))
        return self._data_key

    @property
    def hypothesis(self):
        return self.test.hypothesis

    @property
    def is_done(self) -> bool:
        return self.status == JobStatus.DONE

    @property
    def is_pending(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def expected(self) -> str:
        """The direction the verdict is judged against ("more" when none was stated); for
        the other side, the same expectation read for those who did not succeed."""
        direction = self.test.hypothesis.expected_direction
        return verdicts.mirrored(direction) if self.unsuccessful \
            else verdicts.expectation(direction)

    @property
    def verdict_explanation(self) -> str:
        return verdicts.explanation(self.verdict, self.expected,
                                    stated=bool(self.test.hypothesis.expected_direction))

    @property
    def state(self) -> str:
        """Its verdict, or "running" / "failed" for a test without one."""
        if self.verdict:
            return self.verdict
        return verdicts.RUNNING if self.is_pending else verdicts.FAILED

    @property
    def verdict_badge(self) -> str:
        if self.unsuccessful and self.direction:
            return verdicts.FAILURE_DIRECTION_BADGES[self.direction]
        return verdicts.badge(self.verdict)

    @property
    def verdict_text(self) -> str:
        """The verdict as a label; the other side says where the data goes instead ("Fail
        more often"), which is what that step asks."""
        if self.unsuccessful and self.direction:
            return verdicts.FAILURE_DIRECTION_LABELS[self.direction]
        return verdicts.label(self.verdict)

    @property
    def expectation_outcome(self) -> str | None:
        """"right", "wrong" or None (no expectation stated, or the test settled nothing)."""
        return verdicts.expectation_outcome(self.test.hypothesis.expected_direction,
                                            self.verdict)


@dataclass
class SessionResults:
    rows: list[TestResult] = field(default_factory=list)

    @property
    def family_size(self) -> int:
        """Tests that count in the Benjamini-Hochberg family: every finished one with a p."""
        return sum(1 for row in self.rows if row.p_value is not None)

    @property
    def pending(self) -> int:
        return sum(1 for row in self.rows if row.is_pending)

    @property
    def latest(self) -> list[TestResult]:
        return [row for row in self.rows if row.is_latest]

    def latest_by_hypothesis(self) -> dict[int, TestResult]:
        return {row.test.hypothesis_id: row for row in self.rows if row.is_latest}

    def counts(self) -> verdicts.VerdictCounts:
        """Every latest test in its state: the parts add up to len(self.latest)."""
        return verdicts.count(row.state for row in self.latest)


UNREAD_JOB_FIELDS = ("job__success", "job__criterion", "job__breakdown", "job__options")


def session_results(session: WorkingSession, *, unsuccessful: bool = False,
                    tests=None) -> SessionResults:
    """Every test of the session, oldest first, with q over the session's whole family.
    With unsuccessful=True the same tests are read for the other side: the outcome is
    "did not succeed" (same p and q; failure rates, lifts and verdicts)."""
    tests = _tests_of(session) if tests is None else list(tests)
    latest = _latest_ids((test.pk, test.hypothesis_id) for test in tests)
    return _judged([_row(test, unsuccessful=unsuccessful,
                         is_latest=latest[test.hypothesis_id] == test.pk) for test in tests])


# What a kept row depends on besides its test, which never changes: its job's state and
# what its hypothesis shows (an entry's words and expectation may be edited after a test).
STAMP = ("job__status", "job__finished_at", "detectable", "hypothesis__text",
         "hypothesis__expected_direction", "hypothesis__author_id",
         "hypothesis__author__display_name", "hypothesis__author__email")
KEPT_SESSIONS = 32
# Per session: each test's (stamp, row), and the results judged from them last time.
_kept: OrderedDict[int, tuple[dict[int, tuple[tuple, TestResult]], SessionResults]] = (
    OrderedDict())
_kept_lock = threading.Lock()


def forget_kept() -> None:
    """Drop every kept row (ids are never reused in one database; tests roll theirs back)."""
    with _kept_lock:
        _kept.clear()


def kept_session_results(session: WorkingSession) -> SessionResults:
    """session_results(session), reading in full only the tests that are new or changed
    since the last call for this session (one process's earlier drawing): sessions.regions
    draws a live session with every change, and at 500 tests loading every test, job and
    hypothesis was a third of a drawing. q-values and verdicts are computed afresh."""
    stamps = list(HypothesisTest.objects.filter(session=session).order_by("created_at", "pk")
                  .values_list("pk", "hypothesis_id", *STAMP))
    with _kept_lock:
        kept, judged = _kept.pop(session.pk, ({}, None))
    changed = [pk for pk, _, *stamp in stamps
               if pk not in kept or kept[pk][0] != tuple(stamp)]
    if judged is not None and not changed and len(stamps) == len(kept):
        # Not a test changed (a finding or an entry was written): the same results.
        with _kept_lock:
            _kept[session.pk] = (kept, judged)
        return judged
    fresh = {test.pk: test for test in _tests_of(session, only=changed)} if changed else {}
    latest = _latest_ids((pk, hypothesis_id) for pk, hypothesis_id, *_ in stamps)
    rows, keep = [], {}
    for pk, hypothesis_id, *stamp in stamps:
        is_latest = latest[hypothesis_id] == pk
        if pk in fresh:
            row = _row(fresh[pk], unsuccessful=False, is_latest=is_latest)
        elif pk in kept:
            # A copy: what the family makes of it (q, verdict, sentence) is redone below.
            row = replace(kept[pk][1], is_latest=is_latest, q_value=None, verdict=None,
                          direction=None, min_detectable_lift=None, sentence="")
        else:
            continue  # deleted since the stamps were read
        keep[pk] = (tuple(stamp), row)
        rows.append(row)
    judged = _judged(rows)
    with _kept_lock:
        _kept[session.pk] = (keep, judged)
        while len(_kept) > KEPT_SESSIONS:
            _kept.popitem(last=False)
    return judged


def _tests_of(session: WorkingSession, *, only: list[int] | None = None) -> list[HypothesisTest]:
    # A live session redraws with every change: read each job's status and numbers, not
    # what it was asked (the test has its criterion), and each success definition once,
    # not once per test.
    tests = (HypothesisTest.objects.filter(session=session)
             .select_related("job", "hypothesis", "hypothesis__author")
             .defer(*UNREAD_JOB_FIELDS).order_by("created_at", "pk"))
    if only is not None:
        tests = tests.filter(pk__in=only)
    tests = list(tests)
    # Most tests are of the session's own definition, which the caller has mostly read.
    definitions = ({session.success_definition_id: session.success_definition}
                   if WorkingSession.success_definition.is_cached(session) else {})
    missing = {test.success_definition_id for test in tests} - definitions.keys()
    if missing:
        definitions.update(SuccessDefinition.objects.in_bulk(missing))
    for test in tests:
        test.success_definition = definitions[test.success_definition_id]
    return tests


def latest_test_ids(session: WorkingSession) -> list[int]:
    """Each hypothesis' latest test in the session, as its results count latest: what a
    finding may link to, checked without reading any result."""
    tests = (HypothesisTest.objects.filter(session=session).order_by("created_at", "pk")
             .values_list("pk", "hypothesis_id"))
    return list(_latest_ids(tests).values())


def _latest_ids(tests) -> dict[int, int]:
    """Each hypothesis' latest test, from (test id, hypothesis id) oldest first."""
    latest: dict[int, int] = {}
    for pk, hypothesis_id in tests:
        latest[hypothesis_id] = pk
    return latest


def _judged(rows: list[TestResult]) -> SessionResults:
    q_values = stats.bh_adjust([row.p_value for row in rows])
    for row, q in zip(rows, q_values, strict=True):
        row.q_value = q
        if row.is_done and row.group is not None:
            _judge(row)
    return SessionResults(rows=rows)


def family_verdicts(
    results: list[tuple[float | None, float | None, int | None, int | None, str]],
) -> list[str | None]:
    """Verdicts of a whole family from (p, lift, group users, rest users, expected
    direction) per test, None for a test without numbers: for lists of sessions, which
    load only these values."""
    q_values = stats.bh_adjust([p for p, *_ in results])
    return [None if n1 is None or n0 is None
            else verdicts.judge(q, lift, n1, n0, direction)
            for (_, lift, n1, n0, direction), q in zip(results, q_values, strict=True)]


def _row(test: HypothesisTest, *, unsuccessful: bool, is_latest: bool) -> TestResult:
    job = test.job
    row = TestResult(test=test, status=job.status, error=job.error, is_latest=is_latest,
                     description=describe_criterion(test.criterion),
                     unsuccessful=unsuccessful)
    row.overlap_warning = overlap_warning(test.criterion, test.success_definition.definition)
    if job.status != JobStatus.DONE or not job.result or "group" not in job.result:
        return row
    result = job.result
    row.population = result.get("population")
    group, rest = result["group"], result["rest"]
    if unsuccessful:
        # Compared by the worker (sessions.readings): until its write lands (the moment
        # between the job's end and the readings), shown as still running.
        if test.other_side is None:
            row.status = JobStatus.RUNNING
            return row
        group, rest = failure_side(group), failure_side(rest)
        compared = test.other_side
    else:
        compared = result
    row.group, row.rest = group, rest
    row.diff = compared.get("diff")
    row.lift = compared.get("lift")
    row.lift_ci95 = compared.get("lift_ci95")
    row.p_value = compared.get("p_value")
    row.test_name = compared.get("test")
    row.note = compared.get("note")
    row.low_data = min(group["users"], rest["users"]) < stats.MIN_USERS_FOR_VERDICT
    return row


def failure_side(side: dict) -> dict:
    """The same users counted by the other outcome: who did not succeed."""
    return stats.side_summary(side["users"] - side["successes"], side["users"])


def _judge(row: TestResult) -> None:
    group, rest = row.group, row.rest
    row.verdict = stats.verdict(row.q_value, row.lift, group["users"], rest["users"],
                                row.expected)
    row.direction = stats.significant_direction(row.q_value, row.lift, group["users"],
                                                rest["users"])
    if row.verdict == "inconclusive" and rest["rate"] is not None:
        # Worked out by the worker that ran the test (sessions.readings): not here, where
        # it would bring scipy into every web process. Until it is stored: not shown.
        stored = row.test.detectable or {}
        row.min_detectable_lift = stored.get("failure" if row.unsuccessful else "success")
    row.sentence = sentence(row)


def _pct(rate: float | None) -> str:
    return numbers.percent(rate, missing=numbers.NA)


def users_phrase(criterion: dict, description: str) -> str:
    """"Users who did export…", "Users whose plan is pro", "Users with 3 or more…"."""
    kind = criterion.get("kind") if isinstance(criterion, dict) else None
    if kind == "did_event":
        return f"Users who {description}"
    if kind in ("property", "first_event_property", "event_property"):
        return f"Users whose {description}"
    if kind in ("event_count", "session_count", "time_in_app"):
        return f"Users with {description}"
    return f"Users matching “{description}”"


def how_much(group_rate: float | None, rest_rate: float | None) -> str:
    """The size of a difference as people say it: "2.1 times as often", "23% more often",
    "38% less often"; "" when the rest's rate leaves no ratio."""
    if group_rate is None or not rest_rate:
        return ""
    ratio = group_rate / rest_rate
    if ratio >= 1.5:
        return f"{ratio:.1f} times as often"
    if ratio >= 1:
        return f"{(ratio - 1) * 100:.0f}% more often"
    return f"{(1 - ratio) * 100:.0f}% less often"


def sentence(row: TestResult) -> str:
    """The result as one sentence a product manager would say aloud, led by where the data
    goes (not by the verdict, which depends on the expectation); an association, never a
    cause."""
    who = users_phrase(row.test.criterion, row.description)
    group, rest = row.group, row.rest
    if row.verdict == "not enough data":
        return (f"Too few users to judge: {numbers.count(group['users'])} in the group and "
                f"{numbers.count(rest['users'])} in the rest; at least "
                f"{stats.MIN_USERS_FOR_VERDICT} on each side are needed.")
    if row.p_value is None:
        return f"No test was possible: {row.note or 'the sides cannot be compared.'}"
    if row.direction in ("more", "less"):
        side = "among those who did not succeed" if row.unsuccessful else ""
        went = (f"are {row.direction} often {side}" if row.unsuccessful
                else f"succeed {row.direction} often")
        size = how_much(group["rate"], rest["rate"])
        return (f"{who} {went} than the rest: {_pct(group['rate'])} vs {_pct(rest['rate'])}"
                f"{', ' + size if size else ''}.")
    verb = "did not succeed" if row.unsuccessful else "succeeded"
    rates = f"{_pct(group['rate'])} of them {verb}, against {_pct(rest['rate'])} of the rest"
    return (f"No clear difference between {who[0].lower()}{who[1:]} and the rest: "
            f"{rates}. This may be chance; it does not show that there is no difference.")


def overlap_warning(criterion: dict, success: dict) -> str | None:
    """Why a behavioural criterion may be a consequence of success rather than a sign of
    it: its events are counted over a period that overlaps the success window."""
    windows = _behaviour_windows(criterion)
    if not windows:
        return None
    if "property" in success:
        return ("Success here is a user property with no date, so the behaviour may have "
                "come after it: read this as association only.")
    success_days = success.get("within_days")
    if None in windows:
        return ("The behaviour is counted over all of a user's events, including those after "
                "they succeeded: it may be a consequence of success, not a sign of it.")
    behaviour_days = max(windows)
    if success_days is None:
        return (f"Success is counted at any time, so it may come before the behaviour (first "
                f"{behaviour_days} days): users may do this because they succeeded.")
    overlap = min(behaviour_days, success_days)
    return (f"The behaviour (first {behaviour_days} days) and success (first {success_days} "
            f"days) both start at the first visit and overlap for {overlap} days: some users "
            "may do this because they already succeeded.")


def _behaviour_windows(criterion: dict) -> list[int | None]:
    found: list[int | None] = []
    stack = [criterion]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
        if isinstance(node.get("not"), dict):
            stack.append(node["not"])
        if node.get("kind") in BEHAVIOUR_KINDS:
            found.append(node.get("within_days"))
    return found
