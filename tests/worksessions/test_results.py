"""Tests of hypotheses: one AnalysisJob each, q-values over the whole session that move
as tests are added, verdicts, the smallest detectable lift, warnings, the other side."""

from datetime import timedelta

import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from analytics.models import AnalysisJob, JobStatus
from sessions import services
from sessions.models import Hypothesis, HypothesisTest
from sessions.results import overlap_warning, session_results
from sessions.steps import Step

from .factories import INVITED, LOGINS, MOBILE_FIRST, PRO, entry, move_to, product_rows

FEW = {"all": [PRO, {"kind": "event_count", "event": "login", "op": "=", "value": 5}]}


def expected_counts(criterion_of_user) -> tuple[int, int, int, int]:
    """Group and rest (successes, users) counted in plain Python from the generator rows."""
    events, users = product_rows()
    by_user: dict[str, list[dict]] = {}
    for event in events:
        by_user.setdefault(event["user_id"], []).append(event)
    x1 = n1 = x0 = n0 = 0
    for user in users:
        evs = by_user[user["user_id"]]
        first = min(e["timestamp"] for e in evs)
        success = any(e["event"] == "purchase" and e["timestamp"] < first + timedelta(days=14)
                      for e in evs)
        if criterion_of_user(user, evs, first):
            x1, n1 = x1 + success, n1 + 1
        else:
            x0, n0 = x0 + success, n0 + 1
    return x1, n1, x0, n0


def invited(user, evs, first):
    return any(e["event"] == "invite_teammate" and e["timestamp"] < first + timedelta(days=7)
               for e in evs)


def test_a_test_is_an_analysis_job_with_the_engines_numbers(testing, teammate):
    test = services.hypothesis_test_run(hypothesis=entry("Inviters"), by=teammate)
    assert test.job.kind == AnalysisJob.Kind.ANALYZE
    test.job.refresh_from_db()
    assert test.job.status == JobStatus.DONE, test.job.error
    [row] = session_results(testing).rows
    x1, n1, x0, n0 = expected_counts(invited)
    assert (row.group["successes"], row.group["users"]) == (x1, n1)
    assert (row.rest["successes"], row.rest["users"]) == (x0, n0)
    _, p = proportions_ztest([x1, x0], [n1, n0])
    assert row.p_value == pytest.approx(p, rel=1e-9)
    assert row.q_value == pytest.approx(p, rel=1e-9)  # a family of one
    assert row.verdict == "supported" and row.lift > 0
    assert row.sentence.startswith("Users who did invite_teammate in the first 7 days "
                                   "succeed more often than the rest")
    assert "because" not in row.sentence.split(":")[0]  # association, never cause
    assert row.expectation_outcome == "right"
    assert row.chart is not None and len(row.chart.bars) == 2


def test_q_values_update_as_tests_are_added(testing, owner, teammate):
    seen_p: list[float] = []
    first_q = []
    for text in ("Inviters", "Pro users", "Mobile-first"):
        services.hypothesis_test_run(hypothesis=entry(text), by=owner)
        rows = session_results(testing).rows
        seen_p = [row.p_value for row in rows]
        reference = multipletests(seen_p, method="fdr_bh")[1]
        assert [row.q_value for row in rows] == pytest.approx(list(reference), rel=1e-12)
        first_q.append(rows[0].q_value)
    # The first test's q was its p alone; with three in the family it is adjusted upward.
    assert first_q[0] == pytest.approx(seen_p[0])
    assert first_q[-1] > first_q[0]
    verdicts = {row.test.hypothesis.text: row.verdict for row in session_results(testing).rows}
    assert verdicts["Mobile-first users purchase less"] == "inconclusive"


def test_an_inconclusive_result_says_what_it_could_have_detected(testing, teammate):
    from analytics.engine import stats

    services.hypothesis_test_run(hypothesis=entry("Mobile-first"), by=teammate)
    [row] = session_results(testing).rows
    assert row.verdict == "inconclusive"
    assert row.min_detectable_lift == pytest.approx(stats.min_detectable_lift(
        row.group["users"], row.rest["users"], row.rest["rate"]))
    assert row.min_detectable_lift > 0
    assert "does not show that there is no difference" in row.sentence


def test_the_smallest_detectable_lift_is_worked_out_where_the_test_ran_not_when_read(
        testing, teammate, monkeypatch):
    """The worker stores it on the test (sessions.readings) for both outcomes; reading the
    results never solves the power equation (scipy stays out of web processes)."""
    from analytics.engine import stats

    test = services.hypothesis_test_run(hypothesis=entry("Mobile-first"), by=teammate)
    test.refresh_from_db()
    result = test.job.result
    n1, n0 = result["group"]["users"], result["rest"]["users"]
    failure = (n0 - result["rest"]["successes"]) / n0
    assert test.detectable == {
        "success": stats.min_detectable_lift(n1, n0, result["rest"]["rate"]),
        "failure": stats.min_detectable_lift(n1, n0, failure)}

    def refuse(*args, **kwargs):
        raise AssertionError("solved at read time")

    monkeypatch.setattr(stats, "min_detectable_lift", refuse)
    [row] = session_results(testing).rows
    assert row.verdict == "inconclusive"
    assert row.min_detectable_lift == test.detectable["success"]
    [other] = session_results(testing, unsuccessful=True).rows
    if other.verdict == "inconclusive":
        assert other.min_detectable_lift == test.detectable["failure"]
    # Not stored yet (the worker's write is on its way): nothing shown, nothing solved.
    HypothesisTest.objects.filter(pk=test.pk).update(detectable=None)
    [row] = session_results(testing).rows
    assert row.min_detectable_lift is None


def test_running_again_unchanged_makes_no_second_job(testing, owner, teammate):
    first = services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    again = services.hypothesis_test_run(hypothesis=entry("Pro"), by=owner)
    assert again.pk == first.pk and AnalysisJob.objects.count() == 1


def test_a_changed_criterion_is_a_new_test_and_both_count(testing, teammate):
    pro = entry("Pro")
    services.hypothesis_test_run(hypothesis=pro, by=teammate)
    services.hypothesis_update(hypothesis=pro, by=teammate, text=pro.text,
                               criterion={**PRO, "op": "!="}, expected_direction="more")
    services.hypothesis_test_run(hypothesis=Hypothesis.objects.get(pk=pro.pk), by=teammate)
    results = session_results(testing)
    assert len(results.rows) == 2 and results.family_size == 2
    assert [row.is_latest for row in results.rows] == [False, True]
    assert len(results.latest) == 1


def test_a_failed_job_is_not_part_of_the_family(testing, teammate):
    services.hypothesis_test_run(hypothesis=entry("Inviters"), by=teammate)
    broken = services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    AnalysisJob.objects.filter(pk=broken.job_id).update(status=JobStatus.FAILED,
                                                        error="worker lost")
    results = session_results(testing)
    assert results.family_size == 1
    assert results.rows[0].q_value == pytest.approx(results.rows[0].p_value)
    assert results.rows[1].verdict is None and results.rows[1].error == "worker lost"
    # A failed test can be run again.
    again = services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    assert again.pk != broken.pk


def test_fewer_than_30_users_a_side_is_marked_low_data(testing, teammate):
    few = entry("Pro")
    services.hypothesis_update(hypothesis=few, by=teammate, text=few.text, criterion=FEW,
                               expected_direction="more")
    services.hypothesis_test_run(hypothesis=Hypothesis.objects.get(pk=few.pk), by=teammate)
    [row] = session_results(testing).rows
    assert row.group["users"] < 30
    assert row.low_data and row.verdict == "not enough data"
    assert row.sentence.startswith("Too few users to judge")


def test_behaviour_windows_that_overlap_success_are_flagged():
    success = {"events": ["purchase"], "within_days": 14}
    assert "overlap for 7 days" in overlap_warning(INVITED, success)
    assert "overlap for 7 days" in overlap_warning({"not": LOGINS}, success)
    assert "including those after" in overlap_warning(
        {"kind": "did_event", "event": "login"}, success)
    assert overlap_warning(PRO, success) is None
    assert overlap_warning(MOBILE_FIRST, success) is None
    assert overlap_warning({"all": [PRO, INVITED]}, {"events": ["purchase"]}).startswith(
        "Success is counted at any time")


def test_the_unsuccessful_side_reads_the_same_tests_the_other_way(testing, teammate):
    from analytics.engine import stats

    services.hypothesis_test_run(hypothesis=entry("Inviters"), by=teammate)
    services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    normal = session_results(testing).rows
    other = session_results(testing, unsuccessful=True).rows
    for a, b in zip(normal, other, strict=True):
        assert b.group["users"] == a.group["users"]
        assert b.group["successes"] == a.group["users"] - a.group["successes"]
        assert b.group["rate"] == pytest.approx(1 - a.group["rate"])
        assert b.p_value == pytest.approx(a.p_value, rel=1e-9)  # same test, other column
        assert b.q_value == pytest.approx(a.q_value, rel=1e-9)
        assert b.lift == pytest.approx(b.group["rate"] / b.rest["rate"] - 1)
        # Judged against the same expectation read for failure ("more" success is "less"
        # failure), so both sides give the same verdict; the raw direction flips.
        assert b.verdict == stats.verdict(b.q_value, b.lift, b.group["users"], b.rest["users"],
                                          "less") == a.verdict
    assert other[0].direction == "less"  # inviters are rarely among those who did not
    assert other[0].verdict == "supported" and other[0].verdict_text == "Fail less often"
    assert "less often among those who did not succeed" in other[0].sentence


def test_the_other_side_is_compared_where_the_test_ran_not_when_read(testing, teammate,
                                                                     monkeypatch):
    """Its exact test needs scipy for a small table, which web processes never import:
    the worker stores the comparison (sessions.readings), the Unsuccessful step reads it."""
    from analytics.engine import stats

    test = services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    test.refresh_from_db()
    group, rest = test.job.result["group"], test.job.result["rest"]
    assert test.other_side == stats.compare(group["users"] - group["successes"], group["users"],
                                            rest["users"] - rest["successes"], rest["users"])

    def refuse(*args, **kwargs):
        raise AssertionError("compared at read time")

    monkeypatch.setattr(stats, "compare", refuse)
    [row] = session_results(testing, unsuccessful=True).rows
    assert (row.p_value, row.lift, row.lift_ci95) == (
        test.other_side["p_value"], test.other_side["lift"], test.other_side["lift_ci95"])
    # Not stored yet (the worker's write is on its way): shown as still running.
    stored = test.other_side
    HypothesisTest.objects.filter(pk=test.pk).update(other_side=None)
    [row] = session_results(testing, unsuccessful=True).rows
    assert row.status == "running" and row.group is None
    # Tests made before the worker stored it get it from their migration.
    from sessions.readings import fill_done_tests, other_side

    monkeypatch.undo()  # (the migration compares, as the worker does)
    fill_done_tests(HypothesisTest, "other_side", other_side)
    test.refresh_from_db()
    assert test.other_side == stored


def test_who_may_run_and_when(session, owner, teammate, third):
    from sessions.services import session_join

    session = move_to(session, Step.HYPOTHESES)
    session_join(session=session, user=third)
    toms = services.hypothesis_create(session=session, author=teammate, text="t",
                                      criterion=INVITED)
    untestable = services.hypothesis_create(session=session, author=owner, text="no criterion")
    with pytest.raises(services.StepClosed, match="Tests belong to"):
        services.hypothesis_test_run(hypothesis=toms, by=teammate)
    session = move_to(session, Step.TEST)
    with pytest.raises(services.NotAllowed, match="author or the facilitator"):
        services.hypothesis_test_run(hypothesis=toms, by=third)
    with pytest.raises(services.BadInput, match="criterion first"):
        services.hypothesis_test_run(hypothesis=untestable, by=owner)
    with pytest.raises(services.NotAllowed):
        services.session_tests_run(session=session, by=teammate)
    made = services.session_tests_run(session=session, by=owner)
    assert [t.hypothesis_id for t in made] == [toms.pk]
    assert HypothesisTest.objects.count() == 1
    # Testing shows the hypothesis to everyone, even before the reveal.
    assert Hypothesis.objects.get(pk=toms.pk).revealed_at is not None


def test_kept_results_of_a_live_drawing_equal_a_fresh_read_after_every_change(testing,
                                                                               teammate):
    """sessions.regions keeps the rows between drawings and reads in full only the tests
    that changed: new tests, a job finishing or failing, an entry's words or expectation
    edited; q-values and verdicts move with the family each time."""
    from sessions.results import kept_session_results

    def same() -> None:
        kept, fresh = kept_session_results(testing), session_results(testing)
        assert kept.rows == fresh.rows  # every field but the chart drawn on demand
        assert [r.test.hypothesis.text for r in kept.rows] == [
            r.test.hypothesis.text for r in fresh.rows]

    same()
    services.hypothesis_test_run(hypothesis=entry("Inviters"), by=teammate)
    same()
    pro = services.hypothesis_test_run(hypothesis=entry("Pro"), by=teammate)
    same()
    of_two = kept_session_results(testing).rows[0].q_value
    AnalysisJob.objects.filter(pk=pro.job_id).update(status=JobStatus.RUNNING, result=None)
    same()
    assert kept_session_results(testing).rows[0].q_value != of_two  # the family shrank
    AnalysisJob.objects.filter(pk=pro.job_id).update(status=JobStatus.FAILED, error="lost")
    same()
    services.hypothesis_test_run(hypothesis=entry("Mobile"), by=teammate)
    same()
    mobile = entry("Mobile")
    services.hypothesis_update(hypothesis=mobile, by=teammate, text="Mobile-first users stay",
                               criterion=mobile.criterion,
                               expected_direction=mobile.expected_direction)
    same()
    assert kept_session_results(testing).rows[-1].hypothesis.text == "Mobile-first users stay"
    # Nothing of the tests changed (a finding written): the results judged last time.
    before = kept_session_results(testing)
    services.finding_create(session=testing, author=teammate, text="Mobile users stay",
                            step=testing.step)
    assert kept_session_results(testing) is before
    same()
