"""What a test's numbers allow that does not depend on the rest of the session, worked out
once where the test ran: the smallest lift it could have detected, for each outcome, and
the comparison of the same counts for the users who did not succeed.

The verdict and q-value move with the session's family and are computed when results are
read (sessions.results); the smallest detectable lift depends only on the test's own
counts, and solving for it needs scipy's optimiser and normal quantiles (about 90 MB in a
process), as a small table's exact test does. So the worker that ran the test stores them
on the test's row, and the pages read them from there."""

from __future__ import annotations

from analytics.engine import stats
from analytics.models import AnalysisJob, JobStatus

from .models import HypothesisTest
from .results import failure_side


def detectable(result: dict) -> dict | None:
    """{"success": lift, "failure": lift} from a test's result (group vs rest counts), for
    the rest's success rate and its failure rate; None for a result without counts."""
    if not result or "group" not in result or "rest" not in result:
        return None
    group, rest = result["group"], result["rest"]
    n1, n0 = group["users"], rest["users"]
    if rest.get("rate") is None:
        return {"success": None, "failure": None}
    # The failure rate exactly as sessions.results reads the other side.
    return {"success": stats.min_detectable_lift(n1, n0, rest["rate"]),
            "failure": stats.min_detectable_lift(n1, n0, failure_side(rest)["rate"])}


def other_side(result: dict) -> dict | None:
    """The group against the rest counted by who did not succeed; None without counts."""
    if not result or "group" not in result or "rest" not in result:
        return None
    group, rest = failure_side(result["group"]), failure_side(result["rest"])
    return stats.compare(group["successes"], group["users"], rest["successes"], rest["users"])


def store_readings(sender, job_id: int, ended: bool = True, **kwargs) -> None:
    """analytics.jobs.job_changed: the test of a job that is done, if it has none yet, gets
    its `detectable` and `other_side`, before the session is told it changed
    (sessions.push, connected after). A test's job is queued once the test's row exists
    (sessions.services.testing), so the row is there whenever and wherever the job ends.
    A job only starting has nothing to read: no query then."""
    if sender is not AnalysisJob or not ended:
        return
    test = (HypothesisTest.objects.filter(job_id=job_id, job__status=JobStatus.DONE,
                                          detectable__isnull=True)
            .select_related("job").only("pk", "job__result", "job__status").first())
    if test is None:
        return
    result = test.job.result
    HypothesisTest.objects.filter(pk=test.pk).update(detectable=detectable(result),
                                                     other_side=other_side(result))


def fill_done_tests(tests, field: str, compute) -> None:
    """For a migration adding a reading: each done test of `tests` (the migration's
    historical model) gets `field` from compute(its job's result), unless that is None."""
    for test in tests.objects.filter(job__status="done").select_related("job").iterator():
        value = compute(test.job.result)
        if value is not None:
            tests.objects.filter(pk=test.pk).update(**{field: value})
