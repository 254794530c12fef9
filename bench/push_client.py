"""The client half of `python -m bench.push_transport`: many streams in one asyncio process,
each counting the bytes it reads off its socket, and the server process's /proc figures.

Both kinds of stream read raw bytes from an asyncio socket and parse them themselves (HTTP
chunks + SSE here, the websockets package's sans-I/O protocol for WebSocket), so the client
does the same work per byte for both and sees every framing byte."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

HOST = "127.0.0.1"
_HEAD = re.compile(r'^\{"rev":(\d+),"t":([0-9.e+-]+),')


class Tracker:
    """Arrivals of the message being timed, across all streams: the broadcast is done when
    `expected` streams have it."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.expect()

    def expect(self) -> None:
        self.count = 0
        self.revisions: set[int] = set()
        self.sent_at = 0.0
        self.last_at = 0.0
        self.payload_bytes = 0
        self.done = asyncio.Event()

    def arrived(self, data: str, at: float) -> None:
        head = _HEAD.match(data)
        if head is None:
            raise ValueError(f"not a benchmark message: {data[:80]!r}")
        self.revisions.add(int(head.group(1)))
        self.sent_at = float(head.group(2))
        self.last_at = max(self.last_at, at)
        self.payload_bytes += len(data.encode())
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


class SseParser:
    """Chunked transfer coding, then Server-Sent Events: `feed` bytes as they come off the
    socket, get the `data` of each complete event (comments and other fields skipped)."""

    def __init__(self) -> None:
        self._raw = bytearray()
        self._text = bytearray()
        self.blocks = 0  # events and comments seen

    def feed(self, data: bytes) -> list[str]:
        self._raw += data
        while True:
            line_end = self._raw.find(b"\r\n")
            if line_end < 0:
                break
            size = int(bytes(self._raw[:line_end]).split(b";")[0], 16)
            start, end = line_end + 2, line_end + 2 + size
            if len(self._raw) < end + 2:
                break
            if size == 0:
                raise EOFError("the server ended the stream")
            self._text += self._raw[start:end]
            del self._raw[:end + 2]
        events = []
        while (cut := self._text.find(b"\n\n")) >= 0:
            block = bytes(self._text[:cut]).decode()
            del self._text[:cut + 2]
            self.blocks += 1
            data = [line[5:].removeprefix(" ") for line in block.split("\n")
                    if line.startswith("data:")]
            if data:
                events.append("\n".join(data))
        return events


class Stream:
    """One open push connection; `wire_bytes` counts every byte read after its handshake."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.wire_bytes = 0
        self.task: asyncio.Task | None = None

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.writer.close()


async def open_sse(port: int, tracker: Tracker) -> Stream:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /sse HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n"
                 "Cache-Control: no-cache\r\n\r\n".encode())
    head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
    if not head.startswith("http/1.1 200") or "transfer-encoding: chunked" not in head:
        raise RuntimeError(f"unexpected SSE answer: {head!r}")
    stream = Stream(reader, writer)
    parser = SseParser()
    # The server's opening comment: the stream is registered once it has come.
    while not parser.blocks:
        chunk = await reader.read(65536)
        if not chunk:
            raise RuntimeError("SSE stream closed before it opened")
        parser.feed(chunk)

    async def read() -> None:
        while chunk := await reader.read(65536):
            at = time.monotonic()
            stream.wire_bytes += len(chunk)
            for data in parser.feed(chunk):
                tracker.arrived(data, at)

    stream.task = asyncio.get_running_loop().create_task(read())
    return stream


async def open_ws(port: int, tracker: Tracker, *, deflate: bool = False) -> Stream:
    # Imported here: only the benchmark needs websockets (requirements-bench.txt).
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.frames import Opcode
    from websockets.http11 import Response
    from websockets.uri import parse_uri

    reader, writer = await asyncio.open_connection(HOST, port)
    protocol = ClientProtocol(
        parse_uri(f"ws://{HOST}:{port}/ws"), max_size=None,
        extensions=[ClientPerMessageDeflateFactory()] if deflate else None)
    protocol.send_request(protocol.connect())
    writer.write(b"".join(protocol.data_to_send()))
    stream = Stream(reader, writer)
    opened = asyncio.get_running_loop().create_future()

    async def read() -> None:
        while chunk := await reader.read(65536):
            at = time.monotonic()
            if opened.done():
                stream.wire_bytes += len(chunk)
            protocol.receive_data(chunk)
            for event in protocol.events_received():
                if isinstance(event, Response):
                    if protocol.handshake_exc is not None:
                        opened.set_exception(protocol.handshake_exc)
                        return
                    opened.set_result(None)
                elif event.opcode is Opcode.TEXT:
                    tracker.arrived(event.data.decode(), at)
            if outgoing := protocol.data_to_send():  # pongs, a close
                writer.write(b"".join(outgoing))
        if not opened.done():
            opened.set_exception(RuntimeError("WebSocket closed before it opened"))

    stream.task = asyncio.get_running_loop().create_task(read())
    await opened
    return stream


class Poster:
    """One keep-alive HTTP/1.1 connection for the small control requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Poster:
        return cls(*await asyncio.open_connection(HOST, port))

    async def request(self, method: str, path: str) -> str:
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
                          "Content-Length: 0\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode().lower()
        length = int(re.search(r"content-length: (\d+)", head).group(1))
        body = (await self.reader.readexactly(length)).decode()
        if not head.startswith("http/1.1 200"):
            raise RuntimeError(f"{method} {path}: {head.splitlines()[0]} {body}")
        return body

    def close(self) -> None:
        self.writer.close()


# ---------------------------------------------------------------- the server process

def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The process's CPU time so far, two ways: utime+stime from /proc/<pid>/stat (clock
    ticks, 10 ms), and the sum of its threads' run time from schedstat (nanoseconds; what
    the table uses, since a round of 50 messages can cost only tens of milliseconds)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)
    try:
        run_ns = sum(int((task / "schedstat").read_text().split()[0])
                     for task in Path(f"/proc/{pid}/task").iterdir())
    except (OSError, ValueError):
        return ticks, ticks
    return ticks, run_ns / 1e9
