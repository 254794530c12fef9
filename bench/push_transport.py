"""Issue 10: Server-Sent Events or WebSockets for the live session? Measure both on the same
bare ASGI app (bench.push_app) under uvicorn (uvloop, httptools, one process), on
127.0.0.1, in one run:

1. memory: the server's RSS with N streams open and idle, less its RSS with none (KB per
   stream);
2. delivery: M broadcasts of one ~2 KB message, one at a time; for each, the time from the
   broadcast (its time.monotonic(), inside the message) until the last of the N streams has
   it: p50/p95/p99;
3. the server's CPU time per message delivered to all N, less the same broadcast sent to
   nobody (the POST and drawing the message cost the same for both);
4. bytes read off the socket per message per stream, and how many of them are framing.

Each (kind, N) runs `--rounds` times on a fresh server, kinds alternating in order. The
machine is shared and noisy: read the ratios to SSE (the yardstick) more than the
milliseconds. Bounded: stops starting trials after `--budget` seconds and always stops
the server.

    python -m bench.push_transport [--connections 50,200] [--messages 50] [--rounds 3]
                                   [--kinds sse,ws] [--budget 100] [--json PATH]

`ws-deflate` as a kind offers permessage-deflate, as browsers do."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import push_client as client
from .push_report import summarise, table

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("sse", "ws", "ws-deflate")
WAIT_S = 10.0  # longest wait for one broadcast to reach every stream before calling it lost
SETTLE_S = 0.5  # let the server go idle before reading its RSS
RUNNING: set[Server] = set()  # servers not yet stopped, stopped on the way out whatever happens


class Server:
    """uvicorn serving bench.push_app in its own process group, on a free port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="push-bench-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.push_app:app", "--host", client.HOST,
             "--port", str(self.port), "--loop", "uvloop", "--http", "httptools",
             "--ws", "websockets-sansio", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING.add(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{self.output()}")
            try:
                poster = await client.Poster.open(self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            poster.close()
            return
        raise RuntimeError(f"uvicorn did not listen within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text()[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        RUNNING.discard(self)
        if not self.log.closed:
            self.log.close()
            os.unlink(self.log.name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((client.HOST, 0))
        return probe.getsockname()[1]


async def open_stream(kind: str, port: int, tracker: client.Tracker) -> client.Stream:
    if kind == "sse":
        return await client.open_sse(port, tracker)
    return await client.open_ws(port, tracker, deflate=kind == "ws-deflate")


async def trial(kind: str, n: int, messages: int) -> dict:
    """One (kind, N) measurement on a fresh server."""
    wire = "ws" if kind.startswith("ws") else "sse"
    server = Server()
    streams: list[client.Stream] = []
    poster = None
    try:
        await server.ready()
        poster = await client.Poster.open(server.port)

        async def broadcast() -> int:
            return int(await poster.request("POST", f"/broadcast?kind={wire}"))

        async def count() -> int:
            return int(await poster.request("GET", f"/count?kind={wire}"))

        async def until_count(expected: int) -> None:
            deadline = time.monotonic() + WAIT_S
            while (have := await count()) != expected:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{have} {wire} streams open, expected {expected}")
                await asyncio.sleep(0.02)

        # Warm up the code paths of this kind (one stream, one message), so the baseline
        # RSS holds what any server has once it has served a stream.
        tracker = client.Tracker(1)
        warm = await open_stream(kind, server.port, tracker)
        await broadcast()
        await asyncio.wait_for(tracker.done.wait(), WAIT_S)
        warm.close()
        await until_count(0)
        await asyncio.sleep(SETTLE_S)
        rss_before = client.rss_kb(server.pid)

        # Yardstick: the same broadcasts with nobody listening.
        start = client.cpu_seconds(server.pid)
        for _ in range(messages):
            await broadcast()
        end = client.cpu_seconds(server.pid)
        cpu_empty = [b - a for a, b in zip(start, end, strict=True)]

        tracker = client.Tracker(n)
        gate = asyncio.Semaphore(50)  # connect in waves, not 200 SYNs at once

        async def connect() -> client.Stream:
            async with gate:
                return await open_stream(kind, server.port, tracker)

        streams = list(await asyncio.gather(*(connect() for _ in range(n))))
        await until_count(n)
        await asyncio.sleep(SETTLE_S)
        rss_after = client.rss_kb(server.pid)

        latencies, lost, payload = [], 0, 0
        wire_start = sum(s.wire_bytes for s in streams)
        start = client.cpu_seconds(server.pid)
        client_start = time.process_time()
        for _ in range(messages):
            tracker.expect()
            reached = await broadcast()
            try:
                await asyncio.wait_for(tracker.done.wait(), WAIT_S)
            except TimeoutError:
                lost += 1
                continue
            if reached != n or len(tracker.revisions) != 1:
                raise RuntimeError(f"broadcast reached {reached} of {n}, "
                                   f"revisions {sorted(tracker.revisions)}")
            latencies.append(tracker.last_at - tracker.sent_at)
            payload += tracker.payload_bytes
        end = client.cpu_seconds(server.pid)
        client_cpu = time.process_time() - client_start
        delivered = max(1, len(latencies) * n)
        return {
            "kind": kind, "connections": n, "latencies_s": latencies, "lost": lost,
            "rss_before_kb": rss_before, "rss_after_kb": rss_after,
            "rss_delta_kb": rss_after - rss_before,
            "cpu_s": end[1] - start[1], "cpu_empty_s": cpu_empty[1],
            "cpu_ticks_s": end[0] - start[0], "cpu_ticks_empty_s": cpu_empty[0],
            # This process reads and parses every delivery: it is in the latency too.
            "client_cpu_s": client_cpu,
            "wire_bytes_per_msg": (sum(s.wire_bytes for s in streams) - wire_start) / delivered,
            "payload_bytes_per_msg": payload / delivered,
        }
    finally:
        for stream in streams:
            stream.close()
        if poster is not None:
            poster.close()
        server.stop()


async def run(args) -> list[dict]:
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")
    sizes = [int(n) for n in str(args.connections).split(",") if n]
    started = time.monotonic()
    trials = []
    for n in sizes:
        for round_ in range(args.rounds):
            # Alternate the order, so neither kind always runs on a warmer machine.
            order = kinds if round_ % 2 == 0 else kinds[::-1]
            for kind in order:
                if time.monotonic() - started > args.budget:
                    print(f"  budget of {args.budget:.0f} s spent: stopping here", flush=True)
                    return trials
                record = await trial(kind, n, args.messages)
                trials.append(record)
                lat = sorted(record["latencies_s"])
                median = lat[len(lat) // 2] * 1000 if lat else float("nan")
                print(f"  {kind:<10} N={n:<4} round {round_ + 1}: "
                      f"RSS +{record['rss_delta_kb']} KB, median {median:.1f} ms, "
                      f"CPU {record['cpu_s']:.3f} s (empty {record['cpu_empty_s']:.3f} s), "
                      f"lost {record['lost']}", flush=True)
    return trials


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", default="50,200",
                        help="stream counts to measure, comma-separated (default 50,200)")
    parser.add_argument("--messages", type=int, default=50, help="broadcasts per trial")
    parser.add_argument("--rounds", type=int, default=3, help="trials per kind and count")
    parser.add_argument("--kinds", default="sse,ws", help=f"from {','.join(KINDS)}")
    parser.add_argument("--budget", type=float, default=100.0,
                        help="seconds after which no new trial starts")
    parser.add_argument("--json", type=Path, help="write the raw trials here")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"Push transport benchmark: uvicorn (uvloop, httptools), 1 process, 127.0.0.1; "
          f"{args.messages} broadcasts of ~2 KB per trial; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs", flush=True)
    # `timeout` or a CI runner stops us with SIGTERM: leave through the same finally.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        import uvloop
        trials = asyncio.run(run(args), loop_factory=uvloop.new_event_loop)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        for server in list(RUNNING):
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(trials, indent=1))
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          "latency: broadcast to the last of N streams (pooled over rounds); RSS, CPU, "
          "bytes: median of rounds; CPU net of the same broadcast to nobody\n")
    print(table(summarise(trials)))


if __name__ == "__main__":
    main()
