"""The Celery app. Queue names live here and nowhere else; tasks are named explicitly
and routed by name, so a test can pin the registered set."""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hypothesislab.settings")

DEFAULT_QUEUE = "default"
ANALYTICS_QUEUE = "analytics"
# Message priorities, Redis' way round: a lower number is taken first. A working session's
# tests and discoveries are sent HIGH, what an import prepares for later LOW, everything
# else NORMAL (the explorer, the console, dashboards, imports). Redis keeps one list per step and queue; a HIGH message lands in
# the queue's own list ("analytics"), a NORMAL one in "analytics\x06\x166".
HIGH_PRIORITY = 0
NORMAL_PRIORITY = 6
LOW_PRIORITY = 9  # work nobody waits for: what is prepared after an import
PRIORITY_STEPS = [0, 3, 6, 9]

app = Celery("hypothesislab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=[Queue(DEFAULT_QUEUE), Queue(ANALYTICS_QUEUE)],
    task_default_queue=DEFAULT_QUEUE,
    # An analytics message sent without a priority (by name, by the sweeper) is NORMAL.
    task_routes={"analytics.*": {"queue": ANALYTICS_QUEUE, "priority": NORMAL_PRIORITY}},
    # The job row is the truth; a task is acknowledged only once it has finished, and a
    # worker that dies mid-task gets its message redelivered to another worker.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT,
                              "priority_steps": PRIORITY_STEPS},
    worker_hijack_root_logger=False,
    beat_schedule={
        # Files of uploads whose mapping was never confirmed (the page's two steps).
        "remove-abandoned-uploads": {"task": "ops.remove_abandoned_uploads",
                                     "schedule": 3600.0},
        # Jobs whose broker message was lost (ops/sweeper.py); every SWEEP_EVERY seconds,
        # and a sweep that waited longer than that is dropped, the next one does its work.
        "requeue-stale-jobs": {"task": "ops.requeue_stale_jobs", "schedule": 60.0,
                               "options": {"expires": 55}},
        # Phase 1's weekly review: a snapshot of every confirmed dashboard, Monday morning
        # UTC. Idempotent per (dashboard, ISO week), so a beat that fires twice is harmless.
        "dashboards-weekly-review": {"task": "dashboards.weekly_review",
                                     "schedule": crontab(minute=0, hour=6, day_of_week="mon")},
    },
)
app.autodiscover_tasks()
