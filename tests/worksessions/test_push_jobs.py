"""A session's own jobs (its hypothesis tests, its discovery runs) change its live page
when they start and end: the job row does not name the session, so sessions.push finds it
through the test or the discovery. Jobs whose row names the session (a quick count before
a test, a breakdown opened from the session) are not on its page and change nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from analytics.models import AnalysisJob
from hypothesislab import broadcast
from sessions import push, services
from sessions.models import Hypothesis, WorkingSession
from sessions.steps import Step
from tests.worksessions.factories import INVITED, make_dataset, make_session, move_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_test(team, owner, teammate):
    session = make_session(team, owner, members=(teammate,), dataset=make_dataset(team, n_users=60))
    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                                       criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    return move_to(session, Step.TEST), entry


def notices(monkeypatch) -> list[dict]:
    published: list[dict] = []
    monkeypatch.setattr(broadcast, "publish", published.append)
    return published


def revision(session) -> int:
    return WorkingSession.objects.values_list("revision", flat=True).get(pk=session.pk)


def test_a_hypothesis_tests_job_changes_its_session(at_test, owner, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    session, entry = at_test
    test = services.hypothesis_test_run(hypothesis=entry, by=owner)
    before = revision(session)
    published = notices(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        push.job_changed(AnalysisJob, job_id=test.job_id)
    assert revision(session) == before + 1
    assert published == [{"type": "session", "session": session.pk, "users": [], "all": False}]


def test_a_discovery_runs_job_changes_its_session(at_test, owner, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    session = move_to(at_test[0], Step.EXPLORE)
    discovery = services.discovery_run(session=session, by=owner, unsuccessful=False)
    before = revision(session)
    published = notices(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        push.job_changed(AnalysisJob, job_id=discovery.job_id)
    assert revision(session) == before + 1
    assert [n["session"] for n in published] == [session.pk]


def test_a_job_of_no_session_changes_nothing(at_test, team, owner, monkeypatch,
                                             django_capture_on_commit_callbacks):
    from analytics.services import analysis_submit

    session, _ = at_test
    job = analysis_submit(team=team, dataset=session.dataset,
                          success=session.success_definition.definition,
                          criterion=INVITED, created_by=owner)
    before = revision(session)
    published = notices(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        push.job_changed(AnalysisJob, job_id=job.pk)
    assert revision(session) == before and published == []


@pytest.mark.parametrize("kind", ["count", "explorer"])
def test_a_job_asked_from_the_session_but_not_on_its_page_changes_nothing(
        kind, at_test, teammate, monkeypatch, django_capture_on_commit_callbacks):
    from analytics.services import analysis_submit, group_count_submit

    session, _ = at_test
    asked = dict(team=session.team, dataset=session.dataset,
                 success=session.success_definition.definition, criterion=INVITED,
                 created_by=teammate, session=session)
    job = group_count_submit(**asked) if kind == "count" else analysis_submit(**asked)
    assert job.session_id == session.pk  # its row names the session
    before = revision(session)
    published = notices(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        push.job_changed(AnalysisJob, job_id=job.pk)
    assert revision(session) == before and published == []


def test_a_hidden_entrys_test_names_its_author_in_one_look(at_test, teammate, monkeypatch,
                                                           django_assert_num_queries,
                                                           django_capture_on_commit_callbacks):
    session, entry = at_test
    test = services.hypothesis_test_run(hypothesis=entry, by=teammate)
    published = notices(monkeypatch)
    for revealed_at, users in ((None, [teammate.pk]), (timezone.now(), [])):
        # (a tested entry still hidden: the row as job_changed reads it)
        Hypothesis.objects.filter(pk=entry.pk).update(revealed_at=revealed_at)
        published.clear()
        # One query finds the session and a hidden entry's author, one bumps the revision.
        with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(2):
            push.job_changed(AnalysisJob, job_id=test.job_id)
        assert published == [{"type": "session", "session": session.pk, "users": users,
                              "all": False}]


def test_a_job_tells_when_it_starts_and_ends_and_readings_wait_for_the_end(
        at_test, owner, monkeypatch, django_assert_num_queries, settings):
    """execution.run sends job_changed with ended=False as a job starts (the readings ask
    no query then: a worker sent two per test) and ended=True once it has ended, when the
    test's readings are stored."""
    from analytics import execution
    from analytics.jobs import job_changed
    from sessions.models import HypothesisTest
    from sessions.readings import store_readings

    session, entry = at_test
    test = services.hypothesis_test_run(hypothesis=entry, by=owner)
    # Run once as the test ran it (at once, here); queued again for a worker to take.
    AnalysisJob.objects.filter(pk=test.job_id).update(status="queued", result=None)
    HypothesisTest.objects.filter(pk=test.pk).update(detectable=None)
    sent: list[bool] = []
    job_changed.connect(lambda sender, job_id, ended, **kw: sent.append(ended), weak=False,
                        dispatch_uid="test-ended")
    try:
        execution.run_analysis(test.job_id)
    finally:
        job_changed.disconnect(dispatch_uid="test-ended")
    assert sent == [False, True]
    assert HypothesisTest.objects.get(pk=test.pk).detectable is not None
    with django_assert_num_queries(0):
        store_readings(AnalysisJob, job_id=test.job_id, ended=False)
