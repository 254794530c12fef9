"""Reading a session's tests: the numbers of each job, the session-wide q-values, the
verdicts, and the words and warnings that go with them.

q-values are never stored: every read recomputes them over all finished tests of the
session, so adding a test (or one finishing) updates the earlier ones at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics import numbers
from analytics.charts import CompactRateChart, group_vs_rest_chart
from analytics.engine import stats
from analytics.engine.definitions import describe_criterion
from analytics.models import JobStatus

from .models import HypothesisTest, WorkingSession

BEHAVIOUR_KINDS = frozenset({"event_count", "did_event", "event_property", "session_count",
                             "time_in_app"})
VERDICT_BADGES = {"supported": "badge-supported", "contradicted": "badge-contradicted",
                  "inconclusive": "badge-inconclusive", "not enough data": "badge-low-data"}
VERDICT_LABELS = {"supported": "Supported", "contradicted": "Contradicted",
                  "inconclusive": "Inconclusive", "not enough data": "Low data"}
OTHER_SIDE_BADGES = {**VERDICT_BADGES, "supported": "badge-contradicted",
                     "contradicted": "badge-supported"}
OTHER_SIDE_LABELS = {**VERDICT_LABELS, "supported": "Fail more often",
                     "contradicted": "Fail less often"}


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
    min_detectable_lift: float | None = None
    overlap_warning: str | None = None
    low_data: bool = False
    sentence: str = ""
    chart: CompactRateChart | None = None
    is_latest: bool = True
    unsuccessful: bool = False

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
    def verdict_badge(self) -> str:
        if self.unsuccessful:
            return OTHER_SIDE_BADGES.get(self.verdict or "", "badge-inconclusive")
        return VERDICT_BADGES.get(self.verdict or "", "badge-inconclusive")

    @property
    def verdict_text(self) -> str:
        """The verdict as a label; read for the other side, "supported" means these users
        are more often among those who did not succeed."""
        labels = OTHER_SIDE_LABELS if self.unsuccessful else VERDICT_LABELS
        return labels.get(self.verdict or "", "")

    @property
    def expectation_outcome(self) -> str | None:
        """"right", "wrong" or None (no expectation stated, or the test settled nothing)."""
        return expectation_outcome(self.test.hypothesis.expected_direction, self.verdict)


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

    def counts(self) -> dict[str, int]:
        counts = {verdict: 0 for verdict in VERDICT_BADGES}
        for row in self.latest:
            if row.verdict in counts:
                counts[row.verdict] += 1
        return counts


def expectation_outcome(direction: str, verdict: str | None) -> str | None:
    if not direction or verdict not in ("supported", "contradicted"):
        return None
    went = "more" if verdict == "supported" else "less"
    return "right" if went == direction else "wrong"


def session_results(session: WorkingSession, *, unsuccessful: bool = False,
                    tests=None) -> SessionResults:
    """Every test of the session, oldest first, with q over the session's whole family.
    With unsuccessful=True the same tests are read for the other side: the outcome is
    "did not succeed" (same p and q; failure rates, lifts and verdicts)."""
    if tests is None:
        tests = (HypothesisTest.objects.filter(session=session)
                 .select_related("job", "hypothesis", "hypothesis__author",
                                 "success_definition")
                 .order_by("created_at", "pk"))
    tests = list(tests)
    latest_ids = {}
    for test in tests:
        latest_ids[test.hypothesis_id] = test.pk
    rows = [_row(test, unsuccessful=unsuccessful, is_latest=latest_ids[test.hypothesis_id]
                 == test.pk) for test in tests]
    q_values = stats.bh_adjust([row.p_value for row in rows])
    for row, q in zip(rows, q_values, strict=True):
        row.q_value = q
        if row.is_done and row.group is not None:
            _judge(row)
    return SessionResults(rows=rows)


def family_verdicts(
    results: list[tuple[float | None, float | None, int | None, int | None]],
) -> list[str | None]:
    """Verdicts of a whole family from (p, lift, group users, rest users) per test, None
    for a test without numbers: for lists of sessions, which load only these four values."""
    q_values = stats.bh_adjust([p for p, _, _, _ in results])
    return [None if n1 is None or n0 is None else stats.verdict(q, lift, n1, n0)
            for (_, lift, n1, n0), q in zip(results, q_values, strict=True)]


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
        group, rest = _failure_side(group), _failure_side(rest)
        compared = stats.compare(group["successes"], group["users"],
                                 rest["successes"], rest["users"])
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
    row.chart = group_vs_rest_chart(group, rest, outcome="did not succeed" if unsuccessful
                                    else "succeeded")
    return row


def _failure_side(side: dict) -> dict:
    """The same users counted by the other outcome: who did not succeed."""
    return stats.side_summary(side["users"] - side["successes"], side["users"])


def _judge(row: TestResult) -> None:
    group, rest = row.group, row.rest
    row.verdict = stats.verdict(row.q_value, row.lift, group["users"], rest["users"])
    if row.verdict == "inconclusive" and rest["rate"] is not None:
        row.min_detectable_lift = stats.min_detectable_lift(group["users"], rest["users"],
                                                            rest["rate"])
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


def sentence(row: TestResult) -> str:
    """The result in words, as an association, never as a cause."""
    who = users_phrase(row.test.criterion, row.description)
    group, rest = row.group, row.rest
    verb = "did not succeed" if row.unsuccessful else "succeeded"
    rates = f"{_pct(group['rate'])} of them {verb}, against {_pct(rest['rate'])} of the rest"
    more = "are more often among those who did not succeed" if row.unsuccessful \
        else "succeed more often"
    less = "are less often among those who did not succeed" if row.unsuccessful \
        else "succeed less often"
    if row.verdict == "not enough data":
        return (f"Too few users to judge: {group['users']} in the group and {rest['users']} in "
                f"the rest; at least {stats.MIN_USERS_FOR_VERDICT} on each side are needed.")
    if row.p_value is None:
        return f"No test was possible: {row.note or 'the sides cannot be compared.'}"
    if row.verdict == "supported":
        return f"{who} {more} than the rest: {rates}."
    if row.verdict == "contradicted":
        return f"{who} {less} than the rest: {rates}."
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
