"""Fair share of the analysis workers between teams (settings.TEAM_MAX_RUNNING_JOBS).

A team runs at most its share of analysis jobs at once; a job of a team that already
does is not started but waits, its row still queued, and its task tries again a few
seconds later (a Celery retry, or the embedded pool's run_again_later). Meanwhile the
workers it would have taken run other teams' jobs, so one team's long queries never
stall another team. The share is a hard limit, not only a tie-break: a queued job of
another team can only go ahead if a worker is free when it comes.

Which job goes first among those that may run is the message's priority: a working
session's tests and discoveries (SESSION_PRIORITY) before the explorer, the console and
dashboards (NORMAL_PRIORITY), and those before what is prepared after an import
(LOW_PRIORITY), in Redis as on the embedded pool.

The decision and the claim are one step: the team's row is locked while its running jobs
are counted and the job is claimed (jobs.claim), so two workers cannot both take the
team's last place."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from hypothesislab.celery import HIGH_PRIORITY, LOW_PRIORITY, NORMAL_PRIORITY

from . import jobs
from .models import AnalysisJob, JobStatus

SESSION_PRIORITY = HIGH_PRIORITY
EXPLORE_PRIORITY = NORMAL_PRIORITY
BACKGROUND_PRIORITY = LOW_PRIORITY
# How long a job of a team at its share waits before it asks again.
WAIT_SECONDS = 2.0

WAIT = object()  # claim_within_share's answer: not now, try again later


def share() -> int:
    """The most jobs one team runs at once; 0 means no limit."""
    return max(0, settings.TEAM_MAX_RUNNING_JOBS)


def running_for_team(team_id: int, *, besides: int | None = None) -> int:
    """The team's jobs running now. A job whose heartbeat went quiet (its worker died)
    holds no place: the sweeper or the next delivery takes it over."""
    fresh_since = timezone.now() - jobs.STALE_AFTER
    running = AnalysisJob.objects.filter(team_id=team_id, status=JobStatus.RUNNING,
                                         heartbeat_at__gte=fresh_since)
    if besides is not None:
        running = running.exclude(pk=besides)
    return running.count()


def must_wait(job: AnalysisJob) -> bool:
    """Whether the job's team already runs its share, so the job must wait."""
    limit = share()
    return bool(limit) and running_for_team(job.team_id, besides=job.pk) >= limit


def claim_within_share(job_id: int):
    """jobs.claim for an analysis job, unless its team runs its share already: then WAIT
    (the row stays as it was). None when the job is not ours to run."""
    with transaction.atomic():
        job = (AnalysisJob.objects.filter(jobs.claimable(timezone.now()), pk=job_id)
               .only("pk", "team_id").first())
        if job is not None and share():
            # Serialises the claims of one team (PostgreSQL; SQLite's transactions are
            # serial anyway): the count below sees every claim made before ours.
            list(Team.objects.select_for_update().filter(pk=job.team_id)
                 .values_list("pk", flat=True))
            if must_wait(job):
                return WAIT
        return jobs.claim(AnalysisJob, job_id)
