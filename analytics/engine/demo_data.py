"""The demo product: a SaaS tool with an add-on store, its users and ten weeks of events.

A new team imports these two CSV files and can run a whole working session at once, so
the data has to behave like a real product: effects worth finding, characteristics that
do nothing, and one trap. Deterministic by seed; plain Python (no duckdb, no Django).

What is built in, for success = `subscribe` within 14 days of the first visit:
- Real effects: inviting a teammate in week one, connecting an integration (within 14
  days), 3+ logins in the first 7 days, the referral channel (ads below organic), larger
  companies, a growing company, and starting on a pro or business trial.
- No effect at all: gender, age, education, ownership, industry, organization_type.
- The trap (Simpson's paradox): users whose first device is mobile succeed less overall,
  only because more of them start on the free plan. Within each plan the first device
  makes no difference (stratify by `plan`, or use a Mantel-Haenszel test).
`purchase` (the add-on store) is the second success: more likely with an integration,
in larger companies and on a desktop; guest shoppers rarely come back.

`plan` (users) is the plan the account started on: free, or a trial of pro or business;
`subscribe` is converting to a paid plan. An engagement trait nobody can see drives
logins, invites and integrations together, as in real products, so the behaviours
are correlated with one another and not only with success.
"""

from __future__ import annotations

import csv
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

DATA_END = datetime(2026, 11, 1, tzinfo=UTC)
SIGNUP_SPAN = timedelta(weeks=10)
DAY = 86_400
WEEK = 7 * DAY

# Sessions start at a random moment in the first half of a 4-hour slot and last at most
# 90 minutes, so two sessions are always more than 30 minutes apart and never merge.
SLOT = 4 * 3600
SLOTS_PER_WEEK = WEEK // SLOT
MAX_SESSION_SECONDS = 5400
MAX_EVENT_GAP = 420  # seconds
MAX_FILLER_EVENTS = 8

EVENT_COLUMNS = [
    "user_id",
    "event",
    "timestamp",
    "device",
    "country",
    "tool",
    "plan",
    "amount",
    "coupon",
    "guest_checkout",
]
USER_COLUMNS = [
    "user_id",
    "plan",
    "company_size",
    "industry",
    "organization_type",
    "ownership",
    "age",
    "gender",
    "education",
    "country",
    "acquisition_channel",
    "growth_trend",
]

# country: (share of users, fixed UTC offset in minutes); offsets differ so that the
# importer's handling of them matters, and fixed so there is no daylight-saving guess.
COUNTRIES = {
    "US": (0.34, -300),
    "GB": (0.12, 0),
    "DE": (0.11, 60),
    "FR": (0.07, 60),
    "IN": (0.1, 330),
    "BR": (0.08, -180),
    "CA": (0.06, -300),
    "AU": (0.05, 600),
    "JP": (0.04, 540),
    "NL": (0.03, 60),
}
COMPANY_SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
COMPANY_SIZE_SHARES = [0.34, 0.28, 0.19, 0.12, 0.07]
INDUSTRIES = ["software", "retail", "finance", "healthcare", "education", "media", "manufacturing"]
ORGANIZATION_TYPES = ["company", "agency", "freelancer", "public sector", "school"]
OWNERSHIP = ["private", "public", "nonprofit"]
GENDERS = ["female", "male", "nonbinary"]
EDUCATION = ["high school", "bachelor", "master", "doctorate", "other"]
CHANNELS = ["organic", "ads", "referral", "partner"]
GROWTH = ["growing", "flat", "shrinking"]
DEVICES = ["desktop", "mobile", "tablet"]
TOOLS = ["slack", "jira", "github", "gitlab", "salesforce", "zapier"]
FILLER_EVENTS = ["page_view", "create_project", "export", "view_pricing", "add_to_cart"]
FILLER_WEIGHTS = [0.62, 0.12, 0.1, 0.08, 0.08]

# First device -> plan started on (free, pro trial, business trial): the confounder.
PLAN_BY_DEVICE = {
    "desktop": [0.45, 0.38, 0.17],
    "mobile": [0.9, 0.08, 0.02],
    "tablet": [0.7, 0.22, 0.08],
}
PLANS = ["free", "pro", "business"]

# Log-odds of subscribing within 14 days.
SUCCESS_BASE = -3.05
SUCCESS_EFFECTS = {
    "invited_week_one": 1.0,
    "integration": 0.85,
    "three_logins": 0.8,
    "engagement": 0.25,
    "size_rank": 0.22,
    "plan": {"free": 0.0, "pro": 1.0, "business": 1.2},
    "channel": {"organic": 0.0, "ads": -0.35, "referral": 0.75, "partner": 0.25},
    "growth": {"growing": 0.3, "flat": 0.0, "shrinking": -0.3},
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: means here stay small (< 15), where it is exact and quick.
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _pick(rng: random.Random, values: list, weights: list[float]):
    return rng.choices(values, weights)[0]


class _User:
    """One user's traits and timeline while it is generated."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.user_id = f"u{index:05d}"
        self.country = _pick(rng, list(COUNTRIES), [c[0] for c in COUNTRIES.values()])
        self.offset_seconds = COUNTRIES[self.country][1] * 60
        self.tz = timezone(timedelta(seconds=self.offset_seconds))
        self.signup = self._signup_time(rng)
        self.device = _pick(rng, DEVICES, [0.5, 0.38, 0.12])
        self.size_rank = COMPANY_SIZES.index(_pick(rng, COMPANY_SIZES, COMPANY_SIZE_SHARES))
        # The plan depends on the first device and on nothing else, so that within a plan
        # the device is independent of every other cause of success.
        self.plan = _pick(rng, PLANS, PLAN_BY_DEVICE[self.device])
        self.channel = _pick(rng, CHANNELS, [0.42, 0.3, 0.16, 0.12])
        self.growth = _pick(rng, GROWTH, [0.35, 0.45, 0.2])
        # Traits with no effect on anything: drawn on their own.
        self.properties = {
            "industry": _pick(rng, INDUSTRIES, [0.3, 0.15, 0.12, 0.1, 0.1, 0.1, 0.13]),
            "organization_type": _pick(rng, ORGANIZATION_TYPES, [0.6, 0.15, 0.12, 0.07, 0.06]),
            "ownership": _pick(rng, OWNERSHIP, [0.72, 0.18, 0.1]),
            "age": "" if rng.random() < 0.08 else str(min(70, max(18, round(rng.gauss(36, 10))))),
            "gender": "" if rng.random() < 0.1 else _pick(rng, GENDERS, [0.46, 0.5, 0.04]),
            "education": _pick(rng, EDUCATION, [0.18, 0.45, 0.25, 0.05, 0.07]),
        }
        channel_push = {"referral": 0.3, "partner": 0.15, "ads": -0.2, "organic": 0.0}
        self.engagement = rng.gauss(0, 1) + 0.12 * (self.size_rank - 1) + channel_push[self.channel]
        self.sessions: list[list] = []  # [start second, [(event, properties), ...]]

    def _signup_time(self, rng: random.Random) -> datetime:
        # A growing product: more sign-ups in recent weeks than in the first ones; and
        # people sign up in their waking hours, mostly.
        first_day = DATA_END - SIGNUP_SPAN
        day = int(rng.random() ** 0.8 * SIGNUP_SPAN.days)
        if rng.random() < 0.9:
            local_second = rng.randrange(8 * 3600, 23 * 3600)
        else:
            local_second = rng.randrange(DAY)
        moment = first_day + timedelta(days=day, seconds=local_second - self.offset_seconds)
        # Local days straddle UTC ones: keep the moment inside the ten weeks, with a little
        # room at the end for the signup session itself.
        if moment < first_day:
            moment += timedelta(days=1)
        if moment > DATA_END - timedelta(hours=2):
            moment -= timedelta(days=1)
        return moment

    def user_row(self) -> list[str]:
        p = self.properties
        return [
            self.user_id,
            self.plan,
            COMPANY_SIZES[self.size_rank],
            p["industry"],
            p["organization_type"],
            p["ownership"],
            p["age"],
            p["gender"],
            p["education"],
            self.country,
            self.channel,
            self.growth,
        ]


def _choose_slots(rng: random.Random, user: _User, week: int, k: int, first: int) -> list[int]:
    """k distinct slots of one week (seconds after signup); waking hours far more likely."""
    if k <= 0:
        return []
    keyed = []
    local_signup = int(user.signup.timestamp()) + user.offset_seconds
    for slot in range(first, SLOTS_PER_WEEK):
        offset = week * WEEK + slot * SLOT
        hour = (local_signup + offset) % DAY // 3600
        weight = 1.0 if 8 <= hour < 23 else 0.12
        # Efraimidis-Spirakis: the k largest u ** (1 / w) are a weighted sample
        keyed.append((rng.random() ** (1.0 / weight), offset))
    keyed.sort(reverse=True)
    return sorted(offset for _, offset in keyed[:k])


def _build_sessions(rng: random.Random, user: _User, logins_week_one: int, weeks: int) -> None:
    """Session starts (seconds after signup) with filler events; the first is signup."""
    starts = [0]
    starts += [
        s + rng.randrange(0, SLOT // 2) for s in _choose_slots(rng, user, 0, logins_week_one, 1)
    ]
    weekly_mean = math.exp(0.35 + 0.5 * user.engagement)
    for week in range(1, weeks):
        k = min(_poisson(rng, weekly_mean), 12)
        starts += [s + rng.randrange(0, SLOT // 2) for s in _choose_slots(rng, user, week, k, 0)]
    filler_mean = max(0.5, 2.5 + 0.8 * user.engagement)
    for start in starts:
        first_event = "signup" if start == 0 else "login"
        n_filler = min(_poisson(rng, filler_mean), MAX_FILLER_EVENTS)
        events = [(first_event, {})]
        events += [(e, {}) for e in rng.choices(FILLER_EVENTS, FILLER_WEIGHTS, k=n_filler)]
        user.sessions.append([start, events])


def _insert(rng: random.Random, user: _User, low: int, high: int, events: list) -> bool:
    """Put events (in order) into one session starting in [low, high); False if none."""
    candidates = [s for s in user.sessions if low <= s[0] < high]
    if not candidates:
        return False
    session = rng.choice(candidates)
    position = rng.randint(1, len(session[1]))
    session[1][position:position] = events
    return True


def _add_behaviour(rng: random.Random, user: _User, logins_week_one: int) -> None:
    e = user.engagement
    size = user.size_rank
    invited = rng.random() < _sigmoid(-1.75 + 0.9 * e + 0.35 * (size - 1))
    if invited:
        invites = [("invite_teammate", {}) for _ in range(1 + _poisson(rng, 0.6))]
        _insert(rng, user, 0, WEEK, invites)
    elif rng.random() < 0.2:
        _insert(rng, user, WEEK, 10 * WEEK, [("invite_teammate", {})])

    integration = rng.random() < _sigmoid(-1.45 + 0.8 * e + 0.3 * (user.plan != "free"))
    if integration:
        tools = rng.sample(TOOLS, 1 + (rng.random() < 0.25))
        events = [("connect_integration", {"tool": tool}) for tool in tools]
        # the session must end before day 14, so it starts at least 90 minutes earlier
        integration = _insert(rng, user, 0, 2 * WEEK - 5400, events)
    elif rng.random() < 0.15:
        _insert(rng, user, 2 * WEEK, 10 * WEEK, [("connect_integration", {"tool": "slack"})])

    effects = SUCCESS_EFFECTS
    logit = (
        SUCCESS_BASE
        + effects["invited_week_one"] * invited
        + effects["integration"] * integration
        + effects["three_logins"] * (logins_week_one >= 3)
        + effects["engagement"] * e
        + effects["size_rank"] * size
        + effects["plan"][user.plan]
        + effects["channel"][user.channel]
        + effects["growth"][user.growth]
    )
    seats = [1, 3, 8, 20, 45][size]
    if rng.random() < _sigmoid(logit):
        plan = user.plan if user.plan != "free" else _pick(rng, ["pro", "business"], [0.85, 0.15])
        amount = {"pro": 29.0, "business": 79.0}[plan] * seats
        events = [("view_pricing", {}), ("subscribe", {"plan": plan, "amount": amount})]
        _insert(rng, user, 0, 2 * WEEK - 5400, events)
    elif rng.random() < 0.08:  # subscribes, but too late to count as success
        _insert(rng, user, 2 * WEEK, 10 * WEEK, [("subscribe", {"plan": "pro", "amount": 29.0})])

    shopper = _sigmoid(
        -1.35 + 0.35 * e + 0.6 * integration + 0.15 * size + 0.4 * (user.device == "desktop")
    )
    if rng.random() < shopper:
        guest = rng.random() < 0.25
        purchases = 1 if guest and rng.random() < 0.85 else 1 + _poisson(rng, 0.9)
        for _ in range(purchases):
            coupon = rng.random() < 0.25
            amount = math.exp(rng.gauss(3.6 + 0.2 * size, 0.55)) * (0.85 if coupon else 1.0)
            properties = {"amount": round(amount, 2), "coupon": coupon, "guest_checkout": guest}
            _insert(rng, user, 0, 10 * WEEK, [("add_to_cart", {}), ("purchase", properties)])


def _event_rows(rng: random.Random, user: _User) -> list[tuple[int, list[str]]]:
    """(epoch second, CSV row) of every event before DATA_END."""
    rows = []
    signup_epoch = int(user.signup.timestamp())
    end_epoch = int(DATA_END.timestamp())
    for start, events in sorted(user.sessions, key=lambda s: s[0]):
        device = user.device if start == 0 or rng.random() < 0.75 else rng.choice(DEVICES)
        country = user.country if rng.random() < 0.98 else rng.choice(list(COUNTRIES))
        moment = signup_epoch + start
        # Busy sessions get shorter gaps, so that every session fits its slot.
        max_gap = min(MAX_EVENT_GAP, MAX_SESSION_SECONDS // max(1, len(events) - 1))
        for position, (event, properties) in enumerate(events):
            if position:
                moment += rng.randrange(20, max(21, max_gap))
            if moment >= end_epoch:
                return rows
            local = datetime.fromtimestamp(moment, user.tz)
            amount = properties.get("amount")
            rows.append(
                (
                    moment,
                    [
                        user.user_id,
                        event,
                        local.isoformat(),
                        device,
                        country,
                        properties.get("tool", ""),
                        properties.get("plan", ""),
                        "" if amount is None else f"{amount:.2f}",
                        _flag(properties.get("coupon")),
                        _flag(properties.get("guest_checkout")),
                    ],
                )
            )
    return rows


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def write_demo_files(directory: Path, *, seed: int = 7, n_users: int = 4000) -> tuple[Path, Path]:
    """Write events.csv and users.csv (the raw import form) into directory.

    Same seed and size, same bytes. Returns (events_path, users_path).
    """
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    users = []
    events: list[tuple[int, int, list[str]]] = []
    for index in range(1, n_users + 1):
        user = _User(rng, index)
        logins_week_one = min(_poisson(rng, math.exp(0.55 + 0.55 * user.engagement)), 14)
        active_weeks = 1 + min(
            9, int(rng.expovariate(1.0) * (2.5 + 1.5 * max(user.engagement, -1)))
        )
        _build_sessions(rng, user, logins_week_one, max(active_weeks, 2))
        _add_behaviour(rng, user, logins_week_one)
        users.append(user.user_row())
        events += [(moment, index, row) for moment, row in _event_rows(rng, user)]
    # Exports usually come in time order; ties keep each user's own order.
    events.sort(key=lambda item: (item[0], item[1]))

    events_path = directory / "events.csv"
    users_path = directory / "users.csv"
    with events_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EVENT_COLUMNS)
        writer.writerows(row for _, _, row in events)
    with users_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(USER_COLUMNS)
        writer.writerows(users)
    return events_path, users_path
