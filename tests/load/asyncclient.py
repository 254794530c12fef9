"""The load test's HTTP/1.1 client on one asyncio loop: raw non-blocking sockets,
responses parsed by httptools (the C parser uvicorn itself uses, chunked bodies included),
so that 200 open event streams and their writers cost the client little of this 2-core
machine. Only 127.0.0.1 is ever contacted.

Every moment it reports (an answer fully read, a piece of a stream read) is the kernel's
receive time of those bytes (SO_TIMESTAMPNS), not the moment the loop got round to
reading them: on a shared, busy machine the loop may wake up late, and that lateness
must not count as the server's. Those moments are on CLOCK (the kernel stamps wall-clock
time); whatever is compared with them must read CLOCK too.

Two uses: `Connection.request`, one request at a time on a keep-alive connection (page
loads and writes, as htmx sends them), and `open_stream`, a GET whose body never ends
(an event stream), handed piece by piece to a callback as it arrives."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import httptools

HOST = "127.0.0.1"
TIMEOUT = 30.0
IDLE_SAFE = 1.0  # seconds a keep-alive connection may idle before a write reopens it
CLOCK = time.time
SO_TIMESTAMPNS = 35  # Linux (asm-generic/socket.h); Python's socket module does not name it
STAMP_SPACE = socket.CMSG_SPACE(16)  # one struct timespec
READ_SIZE = 256 * 1024
# How long after their arrival the loop read the bytes (seconds, one per stamped read): the
# lateness the kernel's times keep out of the figures, reported beside them.
read_delays: list[float] = []


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated ones joined by ", "
    body: bytes
    cookies: dict[str, str]  # from Set-Cookie
    finished_at: float  # CLOCK: when the answer's last bytes reached this machine's socket

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Socket:
    """A TCP connection to 127.0.0.1 read as soon as the loop can, each read passed on
    with the kernel's receive time of its bytes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receiver: _Protocol) -> None:
        self.loop = loop
        self.receiver = receiver
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.stamped = True
        except OSError:
            self.stamped = False  # then the moment the loop reads them
        self.closing = False

    async def connect(self, port: int) -> None:
        try:
            await self.loop.sock_connect(self.sock, (HOST, port))
        except BaseException:
            self.sock.close()
            raise
        self.loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(READ_SIZE, STAMP_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self.close(error)
            return
        if not data:
            self.close(None)
            return
        at = None
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanoseconds = struct.unpack_from("qq", value)
                at = seconds + nanoseconds / 1e9
        if at is None:
            at = CLOCK()
        else:
            read_delays.append(CLOCK() - at)
        self.receiver.data_received(data, at)

    async def write(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    def close(self, error: Exception | None = None) -> None:
        if self.closing:
            return
        self.closing = True
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self.receiver.connection_lost(error)


class _Protocol:
    """One connection's answers: the bytes that arrive go through httptools; each
    complete answer resolves `waiter`; in streaming mode the body goes to `body_sink`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.parser = httptools.HttpResponseParser(self)
        self.socket = _Socket(loop, self)
        self.waiter: asyncio.Future | None = None  # the answer being read
        self.head: asyncio.Future | None = None  # streaming: status and headers
        self.body_sink: Callable[[bytes, float], None] | None = None
        self.closed = loop.create_future()
        self.at = 0.0  # CLOCK: when the bytes being parsed arrived
        self._reset()

    @classmethod
    async def open(cls, port: int, timeout: float) -> _Protocol:
        protocol = cls(asyncio.get_running_loop())
        await asyncio.wait_for(protocol.socket.connect(port), timeout)
        return protocol

    def _reset(self) -> None:
        self.headers: dict[str, str] = {}
        self.cookies: dict[str, str] = {}
        self.body: list[bytes] = []

    def data_received(self, data: bytes, at: float) -> None:
        self.at = at
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"bad HTTP answer: {error}"))
            self.socket.close()

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        self._fail(ConnectionError("connection closed before the answer was complete"))

    def _fail(self, error: Exception) -> None:
        for future in (self.head, self.waiter):
            if future is not None and not future.done():
                future.set_exception(error)

    # httptools
    def on_message_begin(self) -> None:
        self._reset()

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        if key == "set-cookie":
            cookie = SimpleCookie()
            cookie.load(text)
            self.cookies.update({k: morsel.value for k, morsel in cookie.items()})
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        if self.head is not None and not self.head.done():
            self.head.set_result((self.parser.get_status_code(), dict(self.headers)))

    def on_body(self, body: bytes) -> None:
        if self.body_sink is not None:
            self.body_sink(body, self.at)
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(Response(
                self.parser.get_status_code(), self.headers, b"".join(self.body),
                self.cookies, self.at))
        if not self.parser.should_keep_alive():
            self.socket.close()


def _request_bytes(method: str, path: str, port: int, headers: dict[str, str],
                   body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


class Connection:
    """A browser's keep-alive connection for ordinary requests, one at a time. The
    server may close an idle one; a write is never sent twice, so a write goes on a
    connection opened or used within IDLE_SAFE."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.protocol: _Protocol | None = None
        self.last_used = 0.0

    async def request(self, method: str, path: str, *, headers: dict[str, str],
                      form: dict | None = None, timeout: float = TIMEOUT) -> Response:
        body = urlencode(form or {}, doseq=True).encode() if method != "GET" else b""
        if method != "GET":
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        if self._stale():
            self.close()
        # A read may go on a reused connection the server has just closed: once more on
        # a new one. A write never (it might have been done).
        attempts = 2 if method == "GET" and self.protocol is not None else 1
        for attempt in range(attempts):
            reused = self.protocol is not None
            try:
                response = await self._exchange(
                    _request_bytes(method, path, self.port, headers, body), timeout)
                break
            except (OSError, TimeoutError):
                self.close()
                if not reused or attempt == attempts - 1:
                    raise
        self.last_used = time.monotonic()
        return response

    async def _exchange(self, request: bytes, timeout: float) -> Response:
        if self.protocol is None:
            self.protocol = await _Protocol.open(self.port, timeout)
        protocol = self.protocol
        protocol.waiter = asyncio.get_running_loop().create_future()
        await protocol.socket.write(request)
        response = await asyncio.wait_for(protocol.waiter, timeout)
        if protocol.closed.done() or protocol.socket.closing:
            self.protocol = None
        return response

    def _stale(self) -> bool:
        return self.protocol is not None and (
            self.protocol.closed.done() or time.monotonic() - self.last_used > IDLE_SAFE)

    def close(self) -> None:
        if self.protocol is not None:
            self.protocol.socket.close()
        self.protocol = None


@dataclass
class Stream:
    """An open event stream: its status and headers, and a future that resolves when the
    server ends it (or the connection breaks)."""

    status: int
    headers: dict[str, str]
    protocol: _Protocol

    @property
    def ended(self) -> asyncio.Future:
        return self.protocol.closed

    def close(self) -> None:
        self.protocol.socket.close()


async def open_stream(port: int, path: str, *, headers: dict[str, str],
                      on_body: Callable[[bytes, float], None],
                      timeout: float = TIMEOUT) -> Stream:
    """GET `path` and keep reading: each piece of the (de-chunked) body goes to
    `on_body(piece, CLOCK when it arrived)`. Returns once the headers are in."""
    protocol = await _Protocol.open(port, timeout)
    protocol.head = asyncio.get_running_loop().create_future()
    protocol.body_sink = on_body
    try:
        await protocol.socket.write(_request_bytes("GET", path, port, headers))
        status, head = await asyncio.wait_for(protocol.head, timeout)
    except (OSError, TimeoutError):
        protocol.socket.close()
        raise
    return Stream(status, head, protocol)
