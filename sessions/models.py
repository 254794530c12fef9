"""The meeting's records: the session, who takes part, what they wrote, what was tested,
found and decided, and the log of what happened when.

Rules live in sessions/services/; the only rules kept here are those that must hold
whatever code writes, as database constraints: at most three hypotheses (and three new
ideas) per member, one open dot vote per session, and one dot per place of a member's
dots."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .steps import Step

DEFAULT_DIG_DURATION = timedelta(minutes=20)
MAX_ENTRIES_PER_KIND = 3
# A dot vote gives each member 1 to this many dots (3 by default).
MAX_DOTS_PER_MEMBER = 10
DEFAULT_DOTS_PER_MEMBER = 3


class WorkingSession(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE,
                             related_name="working_sessions")
    dataset = models.ForeignKey("analytics.Dataset", on_delete=models.PROTECT,
                                related_name="working_sessions")
    # The exact version: results keep meaning what they meant when they were computed.
    success_definition = models.ForeignKey("analytics.SuccessDefinition",
                                           on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    facilitator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    step = models.CharField(max_length=20, choices=Step.choices, default=Step.ALIGN)
    step_changed_at = models.DateTimeField(default=timezone.now)
    # Entries stay hidden from the others until the facilitator reveals them, so that
    # nobody anchors on the first idea they read.
    hide_entries = models.BooleanField(default=True)
    # The "Test and learn" countdown, owned by the server: it started at dig_started_at
    # and lasts dig_duration plus every extension granted since (logged as events).
    dig_duration = models.DurationField(default=DEFAULT_DIG_DURATION)
    dig_started_at = models.DateTimeField(null=True, blank=True)
    dig_extension = models.DurationField(default=timedelta(0))
    # An optional timebox on the current step, advisory only (at zero the page says
    # "time's up" and nothing is refused): it belongs to `timebox_step` and counts from
    # `timebox_started_at`; a move to another step replaces it. Test and learn keeps its
    # own, enforced countdown above. Every read compares with the clock.
    timebox_step = models.CharField(max_length=20, choices=Step.choices, blank=True)
    timebox_started_at = models.DateTimeField(null=True, blank=True)
    timebox_duration = models.DurationField(null=True, blank=True)
    # Minutes planned per step ({"test": 10}): entering that step starts its timebox.
    timebox_plan = models.JSONField(default=dict, blank=True)
    # Bumped by every write, so that a poll learns "nothing changed" from one small query.
    revision = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "-created_at"], name="session_team_recent")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.step == Step.CLOSED

    @property
    def step_label(self) -> str:
        return Step(self.step).label

    def dig_deadline(self) -> datetime | None:
        """When the "Test and learn" step closes, or None before it has started."""
        if self.dig_started_at is None:
            return None
        return self.dig_started_at + self.dig_duration + self.dig_extension

    def dig_is_open(self, now: datetime | None = None) -> bool:
        deadline = self.dig_deadline()
        return deadline is not None and (now or timezone.now()) < deadline

    def dig_remaining(self, now: datetime | None = None) -> timedelta | None:
        deadline = self.dig_deadline()
        if deadline is None:
            return None
        return max(deadline - (now or timezone.now()), timedelta(0))

    def timebox_deadline(self) -> datetime | None:
        """When the current step's timebox runs out, or None without one."""
        if (self.timebox_step != self.step or self.timebox_started_at is None
                or self.timebox_duration is None):
            return None
        return self.timebox_started_at + self.timebox_duration


class Participant(models.Model):
    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE,
                                related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="session_participations")
    joined_at = models.DateTimeField(default=timezone.now)
    # Written by the live poll (at most every few seconds): who is in the room now.
    last_seen_at = models.DateTimeField(default=timezone.now)
    # The success definition version this member confirmed; a change of definition makes
    # the old confirmation no longer count, without touching these rows.
    confirmed_definition = models.ForeignKey("analytics.SuccessDefinition", null=True,
                                             blank=True, on_delete=models.SET_NULL,
                                             related_name="+")

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_participant_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.session}"


class Hypothesis(models.Model):
    class Kind(models.TextChoices):
        HYPOTHESIS = "hypothesis", "Hypothesis"
        IDEA = "idea", "New idea"

    class Direction(models.TextChoices):
        # Blank (nothing said) is judged as MORE: see sessions/verdicts.py.
        MORE = "more", "succeed more often"
        LESS = "less", "succeed less often"
        DIFFERENT = "different", "succeed at a different rate (more or less)"

    class Origin(models.TextChoices):
        OWN = "own", "Own words"
        CATALOG = "catalog", "Segment catalog"
        SUGGESTED = "suggested", "Suggested by discovery"

    CONFIDENCE_CHOICES = [(50, "A hunch (50%)"), (65, "Somewhat sure (65%)"),
                          (80, "Fairly sure (80%)"), (95, "Very sure (95%)")]

    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE,
                                related_name="hypotheses")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="session_hypotheses")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.HYPOTHESIS)
    # One of three places a member has per kind; the unique constraint below is what
    # keeps a fourth out, even when two requests race. `rank` is the member's own order.
    slot = models.PositiveSmallIntegerField()
    rank = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=500)
    criterion = models.JSONField(null=True, blank=True)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.OWN)
    expected_direction = models.CharField(max_length=9, choices=Direction.choices, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True,
                                                  choices=CONFIDENCE_CHOICES)
    revealed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "author_id", "rank", "pk"]
        verbose_name_plural = "hypotheses"
        constraints = [
            models.UniqueConstraint(fields=["session", "author", "kind", "slot"],
                                    name="at_most_three_per_member_and_kind"),
            models.CheckConstraint(condition=models.Q(slot__gte=1, slot__lte=3),
                                   name="hypothesis_slot_1_to_3"),
            models.CheckConstraint(condition=models.Q(rank__gte=1, rank__lte=3),
                                   name="hypothesis_rank_1_to_3"),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class HypothesisTest(models.Model):
    """One run of a hypothesis' criterion: every such test of a session belongs to the
    session's Benjamini-Hochberg family, re-runs included (each is another look at the
    data). The numbers live in the job's result; q-values are computed when read."""

    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE, related_name="tests")
    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.PROTECT, related_name="tests")
    job = models.OneToOneField("analytics.AnalysisJob", on_delete=models.PROTECT,
                               related_name="session_test")
    criterion = models.JSONField()
    success_definition = models.ForeignKey("analytics.SuccessDefinition",
                                           on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The smallest lift the test could have detected, per outcome ({"success": x,
    # "failure": y}, None where undefined): shown with an inconclusive verdict. Written
    # by the worker once the job is done (sessions.readings), because solving the power
    # equation needs scipy, which web processes never import (issue 10: their memory).
    detectable = models.JSONField(null=True, blank=True)
    # The same counts compared for the users who did not succeed ({"diff", "lift",
    # "lift_ci95", "p_value", "test"}, stats.compare on the failure side), for the
    # Unsuccessful step: also the worker's, as a small table's exact test needs scipy.
    other_side = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Test of “{self.hypothesis}”"


class Discovery(models.Model):
    """A discovery run asked for in the session ("suggest", or the unsuccessful side)."""

    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE,
                                related_name="discoveries")
    job = models.OneToOneField("analytics.AnalysisJob", on_delete=models.PROTECT,
                               related_name="session_discovery")
    unsuccessful = models.BooleanField(default=False)
    success_definition = models.ForeignKey("analytics.SuccessDefinition",
                                           on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "discoveries"

    def __str__(self) -> str:
        side = "unsuccessful users" if self.unsuccessful else "suggestions"
        return f"Discovery ({side}) in {self.session}"


class Finding(models.Model):
    class Kind(models.TextChoices):
        INSIGHT = "insight", "Finding"
        UNSUCCESSFUL = "unsuccessful", "Unsuccessful (still worth knowing)"
        QUESTION = "question", "Open question"

    # A finding kept from the explorer outside any session is the team's (session empty)
    # until someone attaches it to one of the team's open sessions.
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="findings")
    session = models.ForeignKey(WorkingSession, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="findings")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="session_findings")
    step = models.CharField(max_length=20, choices=Step.choices)
    kind = models.CharField(max_length=14, choices=Kind.choices, default=Kind.INSIGHT)
    text = models.TextField(max_length=2000)
    test = models.ForeignKey(HypothesisTest, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="findings")
    # What the author saw, frozen: numbers and the definition that produced them, so the
    # report shows it even if the data or the definitions change later. Shape in
    # sessions/evidence.py.
    evidence = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:80]

    def save(self, *args, **kwargs):
        # A session's finding is its team's: callers name the session, the team follows.
        if self.team_id is None and self.session_id is not None:
            if Finding.session.is_cached(self):  # the caller's row: no need to ask
                self.team_id = self.session.team_id
            else:
                self.team_id = WorkingSession.objects.values_list("team_id", flat=True).get(
                    pk=self.session_id)
        super().save(*args, **kwargs)


class DashboardPin(models.Model):
    """A finding pinned to a dashboard, where the team reviews weekly. It lives here, not
    in dashboards, because sessions sits above dashboards; the table kept the name it had
    there (dashboards_dashboardpin), so the move touched no row."""

    dashboard = models.ForeignKey("dashboards.Dashboard", on_delete=models.CASCADE,
                                  related_name="pins")
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE,
                                related_name="dashboard_pins")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                  on_delete=models.SET_NULL, related_name="+")
    pinned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "dashboards_dashboardpin"
        ordering = ["-pinned_at"]
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "finding"], name="pin_finding_once"),
        ]

    def __str__(self) -> str:
        return f"{self.finding} on {self.dashboard}"


class NextStep(models.Model):
    class Kind(models.TextChoices):
        EXPERIMENT = "experiment", "Experiment to run"
        INVESTIGATE = "investigate", "Area to investigate"

    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE,
                                related_name="next_steps")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.EXPERIMENT)
    text = models.TextField(max_length=1000)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="session_next_steps")
    due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    # The later session in which it was marked done, when it was.
    done_in = models.ForeignKey(WorkingSession, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class DotVote(models.Model):
    """A round of dot-voting on the session's revealed hypotheses. Each member places up
    to `dots_per_member` dots (several on one hypothesis if they like); nobody sees the
    others' dots until the facilitator closes the vote. One open vote per session."""

    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE, related_name="votes")
    dots_per_member = models.PositiveSmallIntegerField(default=DEFAULT_DOTS_PER_MEMBER)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                  on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["session"], condition=models.Q(closed_at=None),
                                    name="one_open_vote_per_session"),
            models.CheckConstraint(
                condition=models.Q(dots_per_member__gte=1,
                                   dots_per_member__lte=MAX_DOTS_PER_MEMBER),
                name="vote_dots_per_member_in_range"),
        ]

    def __str__(self) -> str:
        return f"Dot vote in {self.session}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Dot(models.Model):
    """One member's dot on one hypothesis. Like entries, each dot takes one of the
    member's numbered places (1..dots_per_member): the unique constraint keeps two racing
    requests out of the same place, so nobody ends up with more dots than places."""

    vote = models.ForeignKey(DotVote, on_delete=models.CASCADE, related_name="dots")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.CASCADE, related_name="dots")
    slot = models.PositiveSmallIntegerField()
    placed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["placed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["vote", "voter", "slot"], name="one_dot_per_place"),
            models.CheckConstraint(condition=models.Q(slot__gte=1, slot__lte=MAX_DOTS_PER_MEMBER),
                                   name="dot_slot_in_range"),
        ]

    def __str__(self) -> str:
        return f"Dot on “{self.hypothesis}”"


class SessionEvent(models.Model):
    """The session's log: step moves, the timer, changes of definition, reveals."""

    class Kind(models.TextChoices):
        CREATED = "created", "Session created"
        STEP = "step", "Step changed"
        TIMER_STARTED = "timer_started", "Timer started"
        TIMER_EXTENDED = "timer_extended", "Timer extended"
        DURATION_SET = "duration_set", "Timer duration set"
        DEFINITION_CHANGED = "definition_changed", "Success definition changed"
        REVEALED = "revealed", "Entries revealed"
        CLOSED = "closed", "Session closed"
        TIMEBOX_SET = "timebox_set", "Timebox started"
        TIMEBOX_CLEARED = "timebox_cleared", "Timebox removed"
        TIMEBOX_PLANNED = "timebox_planned", "Timebox planned"
        VOTE_OPENED = "vote_opened", "Dot vote opened"
        VOTE_CLOSED = "vote_closed", "Dot vote closed"

    session = models.ForeignKey(WorkingSession, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%H:%M}"
