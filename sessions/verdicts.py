"""Verdicts as every page, export, API answer and record shows them, and the one count of
them.

A hypothesis states what it expects of the users it names: that they succeed "more",
"less" or "different" (either way) than the rest. Its verdict is judged against that
(analytics.engine.stats.verdict): supported when the data goes that way at q < 0.05,
contradicted when it goes the other way, inconclusive, or not enough data. An entry that
says nothing ("", as every entry written before directions could be chosen) is read as
"more": the contract's own reading, "users with X succeed more often".

A session's latest tests are counted in every state they can be in, running and failed
included, so the parts always add up to the number of tests."""

from __future__ import annotations

from collections.abc import Iterable

from analytics.engine import stats

SUPPORTED, CONTRADICTED = "supported", "contradicted"
INCONCLUSIVE, NOT_ENOUGH_DATA = "inconclusive", "not enough data"
RUNNING, FAILED = "running", "failed"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_ENOUGH_DATA)
# Order of every count shown: the four verdicts, then tests without one.
STATES = (*VERDICTS, RUNNING, FAILED)

LABELS = {SUPPORTED: "Supported", CONTRADICTED: "Contradicted", INCONCLUSIVE: "Inconclusive",
          NOT_ENOUGH_DATA: "Not enough data", RUNNING: "Running", FAILED: "Failed"}
BADGES = {SUPPORTED: "badge-supported", CONTRADICTED: "badge-contradicted",
          INCONCLUSIVE: "badge-inconclusive", NOT_ENOUGH_DATA: "badge-low-data",
          RUNNING: "badge-neutral", FAILED: "badge-neutral"}
# The unsuccessful side of a test is labelled by where the data goes, not by the verdict:
# being more often among those who did not succeed is the bad news.
FAILURE_DIRECTION_LABELS = {"more": "Fail more often", "less": "Fail less often"}
FAILURE_DIRECTION_BADGES = {"more": "badge-contradicted", "less": "badge-supported"}

DEFAULT_EXPECTATION = "more"
_MIRRORED = {"more": "less", "less": "more", "different": "different"}


def expectation(direction: str | None) -> str:
    """The direction a verdict is judged against: the stated one, or "more" when none was
    stated."""
    return direction or DEFAULT_EXPECTATION


def mirrored(direction: str | None) -> str:
    """The same expectation read for users who did not succeed: succeeding less often is
    failing more often."""
    return _MIRRORED[expectation(direction)]


def judge(q_value: float | None, lift: float | None, n_group: int, n_rest: int,
          direction: str | None) -> str:
    return stats.verdict(q_value, lift, n_group, n_rest, expectation(direction))


def label(state: str | None) -> str:
    return LABELS.get(state or "", "")


def badge(state: str | None) -> str:
    return BADGES.get(state or "", "badge-inconclusive")


EXPECTATION_WORDS = {"more": "succeed more often", "less": "succeed less often",
                     "different": "succeed at a different rate"}


def explanation(verdict: str | None, expected: str, *, stated: bool = True) -> str:
    """Why the verdict is what it is, in a sentence, for the "what this means" disclosure."""
    words = f"“{EXPECTATION_WORDS.get(expected, expected)}”"
    if not stated:
        words += " (no expectation was said, so the default reading)"
    threshold = f"q below {stats.SIGNIFICANCE:g}"
    if verdict == SUPPORTED:
        return (f"Supported: the expectation was {words}, and the data goes that way with "
                f"{threshold}, so chance alone is an unlikely explanation.")
    if verdict == CONTRADICTED:
        return (f"Contradicted: the expectation was {words}, but the data goes the other way, "
                f"with {threshold}.")
    if verdict == INCONCLUSIVE:
        return (f"Inconclusive: the expectation was {words}; q is {stats.SIGNIFICANCE:g} or "
                "more, so the difference could be chance.")
    if verdict == NOT_ENOUGH_DATA:
        return (f"Not enough data: a verdict needs at least {stats.MIN_USERS_FOR_VERDICT} users "
                "in the group and in the rest.")
    return ""


def expectation_outcome(direction: str | None, verdict: str | None) -> str | None:
    """For a member's record: "right", "wrong", or None when they stated no expectation
    (nothing of theirs to score) or the test settled nothing."""
    if not direction or verdict not in (SUPPORTED, CONTRADICTED):
        return None
    return "right" if verdict == SUPPORTED else "wrong"


class VerdictCounts(dict):
    """State -> number of tests, every state present (zeros included), in STATES order.
    A dict, so that templates read `counts.supported` and the API sends it as it is."""

    @property
    def total(self) -> int:
        return sum(self.values())

    @property
    def shown(self) -> list[dict]:
        """What a page lists: the four verdicts always, running and failed when any."""
        return [{"state": state, "count": self[state], "label": label(state).lower(),
                 "badge": badge(state)}
                for state in STATES if state in VERDICTS or self[state]]

    @property
    def text(self) -> str:
        """"16 tests: 10 supported, 1 contradicted, 4 inconclusive, 1 not enough data"."""
        total = self.total
        parts = ", ".join(f"{item['count']} {item['label']}" for item in self.shown)
        return f"{total} test{'' if total == 1 else 's'}: {parts}"


def count(states: Iterable[str | None]) -> VerdictCounts:
    """Counts of the given states (one per latest test); a test without a state counts as
    failed, so that nothing drops out of the total."""
    counts = VerdictCounts((state, 0) for state in STATES)
    for state in states:
        counts[state if state in counts else FAILED] += 1
    return counts
