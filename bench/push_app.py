"""The server half of `python -m bench.push_transport`: a bare ASGI app (no Django, so the
figures compare the transports and not our app) that fans one message out to every open
stream of one kind, the way sessions.feed does: a queue per stream, the frame built once
per broadcast and put in every queue.

    GET  /sse                      text/event-stream (chunked), one `id/event/data` frame
                                   per message, as sessions.feed.sse writes them
    WS   /ws                       one text frame per message (the same JSON)
    POST /broadcast?kind=sse|ws    draws one ~2 KB message and queues it to every open
                                   stream of that kind; answers with how many
    GET  /count?kind=sse|ws        how many streams of that kind are open

Run by the benchmark as `uvicorn bench.push_app:app` in its own process."""

from __future__ import annotations

import asyncio
import json
import random
import time
from urllib.parse import parse_qs

KINDS = ("sse", "ws")
MESSAGE_BYTES = 2048

# Open streams by kind: each one's queue. Frames are put with put_nowait (never blocks).
STREAMS: dict[str, set[asyncio.Queue]] = {kind: set() for kind in KINDS}
_revision = 0

_WORDS = ("signup", "export", "retention", "week", "plan", "trial", "lift", "segment",
          "cohort", "invite", "onboarding", "login", "team", "report", "pricing", "mobile")


def message(revision: int, sent_at: float) -> str:
    """The JSON a change carries in sessions.feed (`{"rev", "ops": [[key, html], ...]}`), about
    MESSAGE_BYTES long, with the broadcast's time.monotonic() (the clock the client reads
    too) so the client can time the delivery. Words vary by revision, like real HTML does,
    so that compression (if any) is not flattered by a repeated text."""
    rng = random.Random(revision)
    rows = []
    size = 0
    while size < MESSAGE_BYTES - 200:
        words = " ".join(rng.choice(_WORDS) for _ in range(6))
        row = (f'<li class="hyp" id="h{rng.randrange(10**6)}"><span>{words}</span>'
               f'<b>{rng.randrange(1000)}</b></li>')
        rows.append(row)
        size += len(row) + 4
    html = '<ul id="hypotheses" hx-swap-oob="true">' + "".join(rows) + "</ul>"
    data = {"rev": revision, "t": sent_at, "ops": [["hypotheses", html]]}
    return json.dumps(data, separators=(",", ":"))


def sse_frame(revision: int, data: str) -> bytes:
    # As sessions.feed.sse: the id lets a reconnecting EventSource send Last-Event-ID.
    return f"id: {revision}\nevent: ops\ndata: {data}\n\n".encode()


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "websocket" and scope["path"] == "/ws":
        await _websocket(receive, send)
    elif scope["type"] == "http" and scope["path"] == "/sse":
        await _sse(receive, send)
    elif scope["type"] == "http" and scope["path"] == "/broadcast":
        await _drain(receive)
        await _answer(send, str(broadcast(_kind(scope))))
    elif scope["type"] == "http" and scope["path"] == "/count":
        await _answer(send, str(len(STREAMS[_kind(scope)])))
    elif scope["type"] == "http":
        await _answer(send, "not found", status=404)


def broadcast(kind: str) -> int:
    """Draw the message once and queue it to every stream of `kind`: the number reached."""
    global _revision
    _revision += 1
    data = message(_revision, time.monotonic())
    frame = sse_frame(_revision, data) if kind == "sse" else data
    for queue in STREAMS[kind]:
        queue.put_nowait(frame)
    return len(STREAMS[kind])


async def _sse(receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    # An empty comment, so the client knows the stream is open before any message.
    await send({"type": "http.response.body", "body": b":\n\n", "more_body": True})

    async def send_frame(frame: bytes) -> None:
        await send({"type": "http.response.body", "body": frame, "more_body": True})

    await _pump("sse", receive, send_frame, "http.disconnect")


async def _websocket(receive, send) -> None:
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})

    async def send_frame(frame: str) -> None:
        await send({"type": "websocket.send", "text": frame})

    await _pump("ws", receive, send_frame, "websocket.disconnect")


async def _pump(kind: str, receive, send_frame, disconnect: str) -> None:
    """Send what the stream's queue gets until the client goes away. A watcher waits for
    the disconnect and wakes the pump with None (cheaper than racing two awaits per frame)."""
    queue: asyncio.Queue = asyncio.Queue()

    async def watch() -> None:
        while (await receive())["type"] != disconnect:
            pass
        queue.put_nowait(None)

    watcher = asyncio.get_running_loop().create_task(watch())
    STREAMS[kind].add(queue)
    try:
        while (frame := await queue.get()) is not None:
            await send_frame(frame)
    finally:
        STREAMS[kind].discard(queue)
        watcher.cancel()


def _kind(scope) -> str:
    kind = parse_qs(scope["query_string"].decode()).get("kind", ["sse"])[0]
    return kind if kind in KINDS else "sse"


async def _drain(receive) -> None:
    while (await receive()).get("more_body"):
        pass


async def _answer(send, text: str, status: int = 200) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive, send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
