"""Beat tasks of the ops app. Thin: the rules live in ops/sweeper.py."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from analytics.staging import remove_abandoned
from hypothesislab.celery import app

from . import sweeper

log = logging.getLogger(__name__)


def queue_size(task_name: str) -> int | None:
    """Messages waiting in the queue this task is routed to, or None if the broker cannot
    say (the sweeper then assumes a busy queue)."""

    queue = app.amqp.router.route({}, task_name)["queue"].name
    try:
        with app.connection_for_write() as connection:
            return connection.default_channel.queue_declare(queue=queue).message_count
    except Exception:  # any broker trouble: say "unknown", never guess "empty"
        log.warning("could not read the size of queue %s", queue, exc_info=True)
        return None


def send(task_name: str, job_id: int) -> None:
    # By name: routed like any other message of that task, whatever this process imported.
    app.send_task(task_name, args=(job_id,))


@shared_task(name="ops.requeue_stale_jobs")
def requeue_stale_jobs() -> int:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No broker: tasks run in-process and there is no message to lose.
        return 0
    sweep = sweeper.requeue_stale_jobs(queue_size=queue_size, send=send)
    if sweep.total:
        log.warning("re-queued jobs whose message was lost: %s", sweep.requeued)
    return sweep.total


@shared_task(name="ops.remove_abandoned_uploads")
def remove_abandoned_uploads() -> int:
    removed = remove_abandoned()
    if removed:
        log.info("removed %d abandoned uploads from staging", len(removed))
    return len(removed)
