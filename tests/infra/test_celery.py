from hypothesislab.celery import ANALYTICS_QUEUE, DEFAULT_QUEUE, app

# Renaming a task strands the messages already queued under the old name: change this
# list only together with a plan for those.
EXPECTED_TASKS = {
    "analytics.run_import": ANALYTICS_QUEUE,
    "analytics.run_analysis": ANALYTICS_QUEUE,
    "analytics.profile_values": ANALYTICS_QUEUE,
    "ops.requeue_stale_jobs": DEFAULT_QUEUE,
    "ops.remove_abandoned_uploads": DEFAULT_QUEUE,
    "dashboards.weekly_review": DEFAULT_QUEUE,
    "dashboards.finish_snapshot": DEFAULT_QUEUE,
    "dashboards.apply_profile": DEFAULT_QUEUE,
}


def registered_task_names() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_registered_task_names_are_pinned(db):
    assert registered_task_names() == set(EXPECTED_TASKS)


def test_each_task_goes_to_its_queue():
    router = app.amqp.router
    for name, queue in EXPECTED_TASKS.items():
        route = router.route({}, name)
        assert route["queue"].name == queue, name


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit and conf.task_time_limit > conf.task_soft_time_limit
    assert {q.name for q in conf.task_queues} == {DEFAULT_QUEUE, ANALYTICS_QUEUE}
