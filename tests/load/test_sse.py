"""The load test's event-stream reader reads what a browser's EventSource reads, however
the bytes are cut into pieces."""

from __future__ import annotations

import pytest

from tests.load.sse import Event, EventStreamParser

STREAM = (
    b": keep-alive\n\n"
    b"event: hello\nid: 7\ndata: {}\n\n"
    b"event: ops\nid: 8\ndata: {\"rev\": 8, \"ops\": []}\n\n"
    b"data: first\ndata: second\n\n"
    b"event: stale\nid: 12\ndata: reload\n\n"
)
EXPECTED = [
    Event("hello", b"{}", "7"),
    Event("ops", b'{"rev": 8, "ops": []}', "8"),
    Event("message", b"first\nsecond", "8"),  # the last id stays the stream's
    Event("stale", b"reload", "12"),
]


def feed_in_pieces(stream: bytes, size: int, *, keep_data: bool = True
                   ) -> tuple[list[Event], EventStreamParser]:
    parser = EventStreamParser()
    parser.keep_data = keep_data
    events = []
    for start in range(0, len(stream), size):
        events += parser.feed(stream[start:start + size])
    return events, parser


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_events_are_the_same_however_the_stream_is_cut(size):
    events, parser = feed_in_pieces(STREAM, size)
    assert events == EXPECTED
    assert parser.last_event_id == "12" and parser.comments == 1


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_every_line_ending_the_standard_allows(newline, size):
    events, _ = feed_in_pieces(STREAM.replace(b"\n", newline), size)
    assert events == EXPECTED


def test_a_crlf_split_between_pieces_ends_one_line_not_two():
    parser = EventStreamParser()
    assert parser.feed(b"event: ops\r") == []
    assert parser.feed(b"\nid: 3\r\ndata: x\r") == []
    # Had the LF after the CR been read as a blank line, the event would have been
    # dispatched without its data and id.
    assert parser.feed(b"\n\r\n") == [Event("ops", b"x", "3")]


def test_a_line_is_kept_until_its_end_arrives():
    parser = EventStreamParser()
    assert parser.feed(b"event: op") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"s\nid: 4") == []
    assert parser.feed(b"0\ndata: {\"rev\": 40}") == []
    assert parser.feed(b"\n\n") == [Event("ops", b'{"rev": 40}', "40")]


def test_fields_as_the_standard_reads_them():
    parser = EventStreamParser()
    events = parser.feed(
        b"\xef\xbb\xbfdata:no space\n\n"  # a BOM is dropped; the space after ':' is optional
        b"data:  two spaces\n\n"  # only one is removed
        b"data\n\n"  # a field with no colon has an empty value
        b"retry: 2500\nfoo: ignored\nid: 9\0\ndata: x\n\n"  # an id with NUL is ignored
        b"data: caf\xc3\xa9\n\n"
    )
    assert [e.data for e in events] == ["no space", " two spaces", "", "x", "caf\u00e9"]
    assert parser.retry_ms == 2500 and events[3].id == ""


def test_an_event_without_data_is_not_dispatched_as_a_browser_would_not():
    parser = EventStreamParser()
    assert parser.feed(b"event: stale\nid: 5\n\n: ping\n\n\n") == []
    assert parser.undispatched == 1  # the keep-alive's and the extra blank line are no event
    assert parser.last_event_id == "5"


def test_a_bom_split_across_pieces():
    parser = EventStreamParser()
    assert parser.feed(b"\xef") == [] and parser.feed(b"\xbb") == []
    assert parser.feed(b"\xbfdata: a\n\n") == [Event("message", b"a", "")]


def test_a_long_data_line_in_many_pieces():
    line = b"data: " + b"x" * 100_000 + b"\n\n"
    events, _ = feed_in_pieces(b"event: ops\nid: 2\n" + line, 4096)
    assert events == [Event("ops", b"x" * 100_000, "2")]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 64, 10_000])
@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_data_not_kept_still_dispatches_as_with_data(size, newline):
    stream = (STREAM + b"data\n\ndata:\n\ndatum: not data\n\n" + b"data: " + b"y" * 9000
              + b"\n\n").replace(b"\n", newline)
    events, parser = feed_in_pieces(stream, size, keep_data=False)
    assert [(e.type, e.id, e.payload) for e in events] == [
        (e.type, e.id, b"") for e in EXPECTED] + [("message", "12", b"")] * 3
    assert parser.undispatched == 0  # "datum:" is not data, and its block names nothing
    assert parser.feed(b"event: stale\nid: 13\n\n") == [] and parser.undispatched == 1
