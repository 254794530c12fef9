"""The meeting the load test plays: a team of N members with the demo product's data in
one working session at its "Test" step (members' behaviour: tests/load/member.py), and
the check, after the run, that every write the server acknowledged is a row.

Setup and the final count of rows run in this process through the ORM; everything the
members do goes through HTTP to the web server."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Meeting:
    team_slug: str
    session_id: int
    session_path: str
    step: str
    events: list[str]
    cookies: list[dict[str, str]]  # one per member: their signed-in browser


def signed_in(user) -> dict[str, str]:
    """The cookie of a browser where `user` has signed in (a session row, as the log-in
    view writes it; no password involved)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return {"sessionid": store.session_key}


SUCCESS = {"events": ["subscribe"], "within_days": 14}


def build_meeting(*, members: int, users: int) -> Meeting:
    """A team of `members` people with the demo product's data (analytics/engine/demo_data.py),
    all in one session at "Test". Built from the data and the services only (not the
    whole demo, whose dashboards and past session the load test does not need)."""
    from accounts.models import Membership, Team, User
    from analytics.engine.demo_data import write_demo_files
    from analytics.services import import_now, success_definition_create
    from sessions import services
    from sessions.page import session_url
    from sessions.steps import Step

    team = Team.objects.create(name="Load test", slug=f"load-{uuid.uuid4().hex[:8]}")
    people = []
    for number in range(members):
        user = User.objects.create_user(email=f"member{number}@{team.slug}.test",
                                        password=None, display_name=f"Member {number}")
        role = Membership.Role.OWNER if number == 0 else Membership.Role.MEMBER
        Membership.objects.create(team=team, user=user, role=role)
        people.append(user)
    facilitator = people[0]
    with tempfile.TemporaryDirectory(prefix="hl-load-data-") as tmp:
        events_file, users_file = write_demo_files(Path(tmp), seed=7, n_users=users)
        job = import_now(team=team, name="Product events", events=[events_file],
                         users=users_file, mapping={}, created_by=facilitator)
    if job.status != "done":
        raise RuntimeError(f"the load test's data did not import: {job.error}")
    dataset = job.dataset
    dataset.refresh_from_db()
    success = success_definition_create(team=team, name="Subscribed within 14 days",
                                        definition=SUCCESS, created_by=facilitator,
                                        dataset=dataset)
    session = services.session_create(
        team=team, dataset=dataset, success_definition=success,
        title="What makes users subscribe? (load test)", facilitator=facilitator)
    for person in people[1:]:
        services.session_join(session=session, user=person)
    for step in (Step.HYPOTHESES, Step.TEST):
        session = services.step_move(session=session, by=facilitator, to=step,
                                     expected=session.step)
    events = sorted(set(dataset.schema["events"]) - set(SUCCESS["events"]))
    cookies = [signed_in(person) for person in people]
    return Meeting(team_slug=team.slug, session_id=session.pk,
                   session_path=session_url(session), step=session.step, events=events,
                   cookies=cookies)


@dataclass
class Written:
    """What the server acknowledged (saved, with no refusal in its answer) and what was
    tried."""

    hypotheses_tried: set[str] = field(default_factory=set)
    hypotheses: set[str] = field(default_factory=set)
    findings_tried: set[str] = field(default_factory=set)
    findings: set[str] = field(default_factory=set)
    tests: set[int] = field(default_factory=set)  # entry ids whose test was acknowledged


@dataclass
class Lost:
    hypotheses: int
    findings: int
    tests: int
    unexpected: int  # rows nobody asked for
    acknowledged: dict[str, int]

    @property
    def total(self) -> int:
        return self.hypotheses + self.findings + self.tests + self.unexpected


def count_lost(meeting: Meeting, members: list) -> Lost:
    """Every acknowledged write must be a row, and every row a write that was tried."""
    from sessions.models import Finding, Hypothesis, HypothesisTest

    hypotheses = set(Hypothesis.objects.filter(session_id=meeting.session_id)
                     .values_list("text", flat=True))
    findings = set(Finding.objects.filter(session_id=meeting.session_id)
                   .values_list("text", flat=True))
    tested = set(HypothesisTest.objects.filter(session_id=meeting.session_id)
                 .values_list("hypothesis_id", flat=True))
    acked_h = set().union(*(m.written.hypotheses for m in members))
    tried_h = set().union(*(m.written.hypotheses_tried for m in members))
    acked_f = set().union(*(m.written.findings for m in members))
    tried_f = set().union(*(m.written.findings_tried for m in members))
    acked_t = set().union(*(m.written.tests for m in members))
    return Lost(
        hypotheses=len(acked_h - hypotheses), findings=len(acked_f - findings),
        tests=len(acked_t - tested),
        unexpected=len(hypotheses - tried_h) + len(findings - tried_f),
        acknowledged={"hypotheses": len(acked_h), "findings": len(acked_f),
                      "tests": len(acked_t)},
    )
