"""The meeting the load test plays: a team of N members in one working session at its
"Test" step, each member in a browser that polls the session every 2 seconds (as
session.js does) and, spread over the run, writes three hypotheses with a criterion,
tests each of them, and writes a few findings, as a person without JavaScript would
(form posts answered by a redirect, then the page).

Setup and the final count of rows run in this process through the ORM; everything the
members do goes through HTTP to gunicorn."""

from __future__ import annotations

import random
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .client import Budget, Client, OutOfBudget, Recorder, poll_url_in

POLL_EVERY = 2.0
HYPOTHESES_EACH = 3
FINDINGS_EACH = (1, 4)
TEST_URL = re.compile(r"/entries/(\d+)/test/")


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
    """What the server acknowledged (a redirect after the post) and what was tried."""

    hypotheses_tried: set[str] = field(default_factory=set)
    hypotheses: set[str] = field(default_factory=set)
    findings_tried: set[str] = field(default_factory=set)
    findings: set[str] = field(default_factory=set)
    tests: set[int] = field(default_factory=set)  # entry ids whose test was acknowledged


class Member:
    """One person's browser: the page's poll (htmx: at most one in flight, the next one
    2 s after the previous started, at once if overdue) and, on its own connection as a
    browser opens several, the person's writes at their planned moments."""

    def __init__(self, number: int, meeting: Meeting, port: int, recorder: Recorder,
                 budget: Budget, seconds: float, seed: int):
        self.number = number
        self.meeting = meeting
        self.client = Client(port, recorder, budget, cookies=meeting.cookies[number])
        self.writer = Client(port, recorder, budget, cookies=meeting.cookies[number])
        self.budget = budget
        self.rng = random.Random(seed)
        self.written = Written()
        self.poll_path: str | None = None
        self.known_entries: set[int] = set()
        self.tested: set[int] = set()
        # Writes at random moments of the run (the last tenth kept free, so that the
        # last answers arrive before the deadline).
        plan = ["hypothesis"] * HYPOTHESES_EACH + ["finding"] * self.rng.randint(*FINDINGS_EACH)
        self.plan = sorted((self.rng.uniform(0, seconds * 0.9), kind) for kind in plan)
        self.started = time.monotonic()

    def prepare(self) -> None:
        """Before the clock starts: the page open in the browser (its poll address and the
        CSRF cookie), on both connections. Not counted in the figures."""
        budget, recorder = self.client.budget, self.client.recorder
        for client in (self.client, self.writer):
            client.budget, client.recorder = Budget(seconds=120, max_requests=2), Recorder()
            self.open_page(client)
            client.budget, client.recorder = budget, recorder

    def start(self) -> list[threading.Thread]:
        self.started = time.monotonic()
        threads = self.threads()
        for thread in threads:
            thread.start()
        return threads

    def threads(self) -> list[threading.Thread]:
        return [threading.Thread(target=self.run_poll, name=f"poll-{self.number}", daemon=True),
                threading.Thread(target=self.run_writes, name=f"write-{self.number}",
                                 daemon=True)]

    def run_poll(self) -> None:
        next_poll = self.started + self.rng.uniform(0, POLL_EVERY)
        try:
            while not self.budget.over:
                if self._wait_until(next_poll):
                    next_poll = time.monotonic() + POLL_EVERY
                    self.poll()
        except OutOfBudget:
            pass
        finally:
            self.client.close()

    def run_writes(self) -> None:
        try:
            for at, kind in self.plan:
                if not self._wait_until(self.started + at):
                    break
                getattr(self, f"write_{kind}")()
        except OutOfBudget:
            pass
        finally:
            self.writer.close()

    def _wait_until(self, moment: float) -> bool:
        """Sleep until `moment`; False if the run ends first."""
        while True:
            left = moment - time.monotonic()
            if left <= 0:
                return True
            if self.budget.over:
                return False
            time.sleep(min(left, max(0.01, self.budget.deadline - time.monotonic())))

    def open_page(self, client: Client) -> None:
        page = client.get(self.meeting.session_path, "page")
        if page is not None and page.status == 200:
            self.poll_path = poll_url_in(page.body) or self.poll_path
            self.known_entries |= {int(pk) for pk in TEST_URL.findall(page.body)}

    def poll(self) -> None:
        if self.poll_path is None:
            self.open_page(self.client)
            return
        answer = self.client.get(self.poll_path, "poll", expect=(200, 204),
                                 headers={"HX-Request": "true"})
        if answer is None or answer.status != 200:
            return
        if answer.headers.get("HX-Refresh"):
            self.open_page(self.client)
        else:
            self.poll_path = poll_url_in(answer.body) or self.poll_path

    def write_hypothesis(self) -> None:
        text = f"Load {self.number}-{len(self.written.hypotheses_tried)}: " \
               f"{uuid.uuid4().hex[:8]} users succeed more"
        self.written.hypotheses_tried.add(text)
        event = self.rng.choice(self.meeting.events)
        answer = self.writer.post(f"{self.meeting.session_path}entries/new/", "hypothesis", {
            "kind": "hypothesis", "text": text, "expected_direction": "more",
            "confidence": "", "new-rows": "1", "new-0-kind": "did_event",
            "new-0-event": event, "new-0-within_days": "7"})
        if answer is not None and answer.status == 302:
            self.written.hypotheses.add(text)
            self.open_page(self.writer)  # the redirect, followed like a browser does
            self.test_new_entries()

    def test_new_entries(self) -> None:
        for entry in sorted(self.known_entries - self.tested):
            self.tested.add(entry)
            # "confirmed": the member runs it at once, as after "Test anyway" (the quick
            # group count before a test is not what this load test measures).
            answer = self.writer.post(f"{self.meeting.session_path}entries/{entry}/test/",
                                      "test", {"confirmed": "1"})
            if answer is not None and answer.status == 302:
                self.written.tests.add(entry)

    def write_finding(self) -> None:
        text = f"Finding {self.number}-{len(self.written.findings_tried)}: {uuid.uuid4().hex}"
        self.written.findings_tried.add(text)
        answer = self.writer.post(f"{self.meeting.session_path}findings/new/", "finding", {
            "text": text, "kind": "insight", "test": "", "step": self.meeting.step})
        if answer is not None and answer.status == 302:
            self.written.findings.add(text)


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


def count_lost(meeting: Meeting, members: list[Member]) -> Lost:
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
