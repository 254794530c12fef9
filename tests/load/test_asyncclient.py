"""The load test's asyncio HTTP client against a small server on 127.0.0.1 that answers
as uvicorn does: a chunked event stream, and keep-alive answers with cookies."""

from __future__ import annotations

import asyncio
import time

from tests.load.asyncclient import CLOCK, Connection, open_stream
from tests.load.sse import EventStreamParser
from tests.own_loop import run_in_own_loop

EVENTS = b"event: hello\nid: 1\ndata: {}\n\n: ping\n\nevent: ops\nid: 2\ndata: {\"rev\": 2}\n\n"


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if line)
    body = await reader.readexactly(int(headers.get("Content-Length", 0)))
    return head[0], headers, body


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    seen = []
    while not reader.at_eof():
        try:
            line, headers, body = await read_request(reader)
        except asyncio.IncompleteReadError:
            break
        seen.append(line)
        if line.startswith("GET /stream"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            # Chunks cut across lines and events, sent apart.
            for start in range(0, len(EVENTS), 13):
                piece = EVENTS[start:start + 13]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.001)
            writer.write(b"0\r\n\r\n")
            break
        answer = (f"{line} #{len(seen)} body={body.decode()} "
                  f"cookie={headers.get('Cookie', '')}").encode()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"
                     b"set-cookie: csrftoken=abc; Path=/; SameSite=Lax\r\n"
                     b"x-session-revision: 17\r\ncontent-length: %d\r\n\r\n%s"
                     % (len(answer), answer))
        await writer.drain()
    writer.close()


async def exercise() -> tuple[list, list, list]:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        parser, events, pieces = EventStreamParser(), [], []

        def on_body(piece: bytes, at: float) -> None:
            pieces.append(piece)
            events.extend(parser.feed(piece))

        stream = await open_stream(port, "/stream?rev=1", headers={"Accept": "text/event-stream"},
                                   on_body=on_body)
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream"
        await asyncio.wait_for(stream.ended, 5)

        connection = Connection(port)
        answers = [await connection.request("POST", "/write/", form={"text": "a b&c"},
                                            headers={"Cookie": "sessionid=s"}),
                   await connection.request("GET", "/page/", headers={})]
        connection.close()
        return events, pieces, answers


def test_a_chunked_stream_and_keep_alive_answers():
    events, pieces, answers = run_in_own_loop(exercise())
    assert b"".join(pieces) == EVENTS  # de-chunked, nothing of the framing left
    assert [(e.type, e.id) for e in events] == [("hello", "1"), ("ops", "2")]
    post, get = answers
    assert post.status == 200 and post.headers["x-session-revision"] == "17"
    assert post.cookies == {"csrftoken": "abc"}
    assert post.text == "POST /write/ HTTP/1.1 #1 body=text=a+b%26c cookie=sessionid=s"
    # The second request went on the same connection (the server counts its requests).
    assert get.text.startswith("GET /page/ HTTP/1.1 #2 ")
    assert post.finished_at <= get.finished_at


async def late_reader() -> tuple[float, float, float]:
    """The server answers at once; the client's loop is busy for 0.3 s before it reads."""
    async def answer(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        connection = Connection(port)
        asked = CLOCK()
        pending = asyncio.ensure_future(connection.request("GET", "/", headers={}))
        await asyncio.sleep(0.05)  # the server has answered by now (it runs on this loop)
        time.sleep(0.3)  # the loop is held up: a busy machine, or a burst to read
        response = await pending
        connection.close()
        return asked, response.finished_at, CLOCK()


def test_an_answer_is_timed_when_it_arrived_not_when_a_busy_loop_read_it():
    asked, arrived, read = run_in_own_loop(late_reader())
    assert read - asked >= 0.35
    assert arrived - asked < 0.2  # ~0.05 s: before the loop was held up
