"""The meeting, played on one asyncio loop (uvloop): every member loads the page and
opens their event stream; once all streams are open the clock starts and the members
write at their planned moments while every stream is read; then the last deliveries are
awaited (at most DELIVERY_TIMEOUT) and everything is closed.

Alongside: the web server's resident memory every second, and what the client itself
costs (its CPU, and how late its loop wakes up), so that a slow figure can be told from
a busy client."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from contextlib import contextmanager

from . import asyncclient, processes
from .asyncclient import CLOCK
from .client import Budget, Recorder
from .delivery import DeliveryBook
from .member import Member, Room
from .report import by_endpoint, latency, percentile
from .scenario import Meeting

OPENING_AT_ONCE = 16  # members loading the page and connecting at the same time
OPENING_TIMEOUT = 300
WRITE_ENDPOINTS = ("hypothesis", "test", "finding")
LAG_TICK = 0.05
CLIENT_NICE = -10  # see ahead_of_the_server


@contextmanager
def ahead_of_the_server():
    """The members' browsers are on other machines: their clock readings must not wait
    for the web server's processes on this one. So the loop's thread runs at a higher
    CPU priority while the meeting is played, when this user may raise it (it takes a
    few % of one core; its loop lag is reported either way). Yields whether it could."""
    before = os.getpriority(os.PRIO_PROCESS, 0)  # on Linux: this thread only
    try:
        os.setpriority(os.PRIO_PROCESS, 0, CLIENT_NICE)
        raised = True
    except OSError:
        raised = False
    try:
        yield raised
    finally:
        if raised:
            os.setpriority(os.PRIO_PROCESS, 0, before)  # processes started later inherit it


async def play(meeting: Meeting, port: int, args, web_group: int, database_url: str = ""
               ) -> tuple[dict, list[Member]]:
    n = len(meeting.cookies)
    room = Room(port=port, meeting=meeting, recorder=Recorder(),
                budget=Budget(seconds=args.seconds + 600, max_requests=args.max_requests),
                book=DeliveryBook(n))
    members = [Member(number, room, args.seconds, seed=number) for number in range(n)]
    setup = Recorder()  # the page loads before the clock starts: not in the figures
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def arrive(member: Member) -> None:
        async with gate:
            if await member.open_page("page", setup):
                await member.connect()

    await asyncio.wait_for(asyncio.gather(*(arrive(m) for m in members)), OPENING_TIMEOUT)
    opened = sum(m.connected for m in members)

    rss = RssSampler(web_group)
    lag = LagMeter()
    database = DatabaseSampler(database_url)
    background = [asyncio.create_task(rss.run()), asyncio.create_task(lag.run()),
                  asyncio.create_task(database.run())]
    asyncclient.read_delays.clear()
    cpu_before = _cpu_seconds()
    web_cpu_before = processes.group_cpu_seconds(web_group)
    machine_before = processes.machine_cpu_seconds()
    started = time.monotonic()
    room.budget.deadline = started + args.seconds
    holders = [asyncio.create_task(m.hold_stream()) for m in members]
    stuck = 0
    try:
        await asyncio.wait_for(asyncio.gather(*(m.run_writes(started) for m in members)),
                               args.seconds + 120)
    except TimeoutError:
        stuck = 1
    writes_over = time.monotonic()
    book = room.book
    while book.pending and book.oldest_pending_age(CLOCK()) <= book.timeout:
        await asyncio.sleep(0.05)
    held = sum(m.connected for m in members)
    waiting_on = book.waiting_on()
    book.close()
    wall = time.monotonic() - started
    cpu = _cpu_seconds() - cpu_before
    web_cpu = processes.group_cpu_seconds(web_group) - web_cpu_before
    machine_cpu = processes.machine_cpu_seconds() - machine_before

    room.stopping = True
    for member in members:
        member.close()
    tasks = [*holders, *background, *(m.reloading for m in members if m.reloading)]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    elapsed = writes_over - started
    counts = room.counts
    writes = [s for s in room.recorder.samples if s.endpoint in WRITE_ENDPOINTS]
    timings = book.timings()
    summary = {
        "members": n, "seconds": elapsed,
        "endpoints": by_endpoint(room.recorder.samples, elapsed),
        "writes": latency([s.seconds for s in writes]) | {
            "errors": sum(not s.ok for s in writes)},
        "delivery": latency(timings) | {
            "undelivered": book.undelivered, "late": len(book.late),
            "never": book.expired, "waiting_on_members": len(waiting_on)},
        "streams": {
            "of": n, "opened": opened, "held": held, "drops": counts.drops,
            "failed_opens": counts.failed_opens, "events": dict(sorted(counts.events.items())),
            "megabytes": counts.bytes / 1e6, "stale_reloads": counts.stale_reloads,
            "undispatched": sum(m.parser.undispatched for m in members),
            "comments": sum(m.parser.comments for m in members)},
        "protocol": dict(counts.protocol),
        "setup_errors": sum(not s.ok for s in setup.samples),
        "database_connections_peak": database.peak,
        "rss": {"held_mb": rss.first / 1e6, "peak_mb": rss.peak / 1e6,
                "peak_by_process_mb": [round(b / 1e6) for b in rss.peak_by_process],
                "samples": rss.samples},
        # Time on the machine's cores is shared with whatever else runs: the web server's
        # own CPU per write is the figure that does not depend on it.
        "web_cpu": {"seconds": web_cpu, "cores": web_cpu / wall if wall else 0.0,
                    "ms_per_write": 1000 * web_cpu / len(writes) if writes else 0.0},
        # Every process of the machine (PostgreSQL, Redis and the worker among them):
        # whether the cores were the limit.
        "machine_cpu": {"cores": machine_cpu / wall if wall else 0.0,
                        "of": os.cpu_count() or 1},
        "client": {"cpu_seconds": cpu, "cpu_share": cpu / wall if wall else 0.0,
                   "loop_lag_p99_ms": _p99_ms(lag.lags),
                   "loop_lag_max_ms": max(lag.lags, default=0.0) * 1000,
                   "read_delay_p99_ms": _p99_ms(asyncclient.read_delays),
                   "read_delay_max_ms": max(asyncclient.read_delays, default=0.0) * 1000,
                   "prioritized": getattr(args, "prioritized", False)},
        "stuck": stuck,
    }
    summary["errors"] = (summary["endpoints"].get("all", {}).get("errors", 0)
                         + summary["setup_errors"] + (n - opened) + counts.drops
                         + sum(counts.protocol.values()) + stuck)
    return summary, members


def _p99_ms(seconds: list[float]) -> float:
    return percentile(seconds, 99) * 1000 if seconds else 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RssSampler:
    """VmRSS summed over the web server's processes, every second; at the peak, how it
    was shared among them (the master first: the lowest pid)."""

    def __init__(self, group: int) -> None:
        self.group = group
        self.first = 0
        self.peak = 0
        self.peak_by_process: list[int] = []
        self.samples = 0

    async def run(self) -> None:
        while True:
            by_pid = processes.group_rss(self.group)
            value = sum(by_pid.values())
            self.first = self.first or value
            if value > self.peak:
                self.peak = value
                self.peak_by_process = [by_pid[pid] for pid in sorted(by_pid)]
            self.samples += 1
            await asyncio.sleep(1.0)


class DatabaseSampler:
    """How many connections the run's database holds, every second (the web processes',
    the worker's and this one): PostgreSQL refuses beyond max_connections, shared by
    everything on this server. One connection of its own, opened before it counts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.peak: int | None = None

    async def run(self) -> None:
        if not self.url:
            return
        import psycopg

        def count(connection) -> int:
            return connection.execute("SELECT count(*) FROM pg_stat_activity "
                                      "WHERE datname = current_database()").fetchone()[0]

        # In a thread: a busy server's slow answer must not hold up the loop.
        connection = await asyncio.to_thread(psycopg.connect, self.url, autocommit=True,
                                             connect_timeout=5)
        try:
            while True:
                self.peak = max(self.peak or 0, await asyncio.to_thread(count, connection))
                await asyncio.sleep(1.0)
        finally:
            connection.close()


class LagMeter:
    """How late the client's loop wakes up: if it is busy, its clock readings are late
    too, and delivery would look slower than it is."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(LAG_TICK)
            self.lags.append(max(0.0, time.monotonic() - asked - LAG_TICK))
