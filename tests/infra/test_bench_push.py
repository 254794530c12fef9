"""The pure parts of `make bench-push` (issue 10): the SSE reader that counts framing
bytes, and the figures and ratios printed. The timed run itself is only in `make bench-push`."""

from __future__ import annotations

import pytest

from bench.push_app import message, sse_frame
from bench.push_client import SseParser
from bench.push_report import percentile, summarise, table


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_sse_parser_reads_events_split_anywhere_across_chunks_and_reads():
    data = message(7, 123.5)
    wire = chunked(b":\n\n", sse_frame(7, data)[:100], sse_frame(7, data)[100:],
                   b"event: x\ndata: a\ndata: b\n\n")
    for cut in (1, 3, 50, 101, len(wire) - 2):
        parser = SseParser()
        events = parser.feed(wire[:cut]) + parser.feed(wire[cut:])
        assert events == [data, "a\nb"]
        assert parser.blocks == 3  # the opening comment counts as a block, not an event


def test_sse_parser_stops_at_the_last_chunk():
    parser = SseParser()
    with pytest.raises(EOFError):
        parser.feed(chunked(b"data: x\n\n") + b"0\r\n\r\n")


def test_the_message_is_about_2_kb_and_starts_with_its_revision_and_time():
    data = message(42, 1000.25)
    assert 1800 <= len(data.encode()) <= 2300
    assert data.startswith('{"rev":42,"t":1000.25,')


def trial(kind: str, n: int, latency_s: float, cpu_s: float, wire: float) -> dict:
    return {"kind": kind, "connections": n, "latencies_s": [latency_s] * 4, "lost": 0,
            "rss_delta_kb": 10 * n, "cpu_s": cpu_s, "cpu_empty_s": 0.0, "client_cpu_s": 0.01,
            "wire_bytes_per_msg": wire, "payload_bytes_per_msg": 2000.0}


def test_summary_and_table_give_each_kind_beside_sse_with_ratios():
    rows = summarise([trial("sse", 50, 0.004, 0.04, 2040.0), trial("ws", 50, 0.002, 0.08, 2004.0),
                      trial("ws", 50, 0.002, 0.12, 2004.0)])
    sse, ws = rows[("sse", 50)], rows[("ws", 50)]
    assert sse["p50_ms"] == pytest.approx(4.0)
    assert sse["cpu_ms_per_msg"] == pytest.approx(10.0)  # 0.04 s over 4 messages
    assert ws["cpu_us_per_delivery"] == pytest.approx(0.10 / 4 / 50 * 1e6)  # median of rounds
    assert ws["rounds"] == 2 and ws["messages"] == 8
    text = table(rows)
    ratio_line = next(line for line in text.splitlines() if "ws/sse" in line)
    assert "0.50x" in ratio_line  # latency
    assert "2.50x" in ratio_line  # CPU per message: 25 ms against 10 ms
    assert "0.10x" in ratio_line  # framing: 4 bytes against 40


def test_a_compressed_kind_has_no_framing_ratio():
    rows = summarise([trial("sse", 50, 0.004, 0.04, 2040.0),
                      trial("ws-deflate", 50, 0.008, 0.12, 400.0)])
    ratio_line = next(line for line in table(rows).splitlines() if "ws-deflate/sse" in line)
    assert ratio_line.split()[-1] == "-"  # 400 - 2000 framing bytes: no ratio to 40
    assert ratio_line.split()[-2] == "0.20x"  # wire bytes: 400 against 2040
