"""The delivery book: a write is delivered when every OTHER member's stream has reached
its revision, timed from the writer's acknowledgment."""

from __future__ import annotations

import math

import pytest

from tests.load.delivery import DeliveryBook
from tests.load.report import percentile


def test_delivered_when_the_last_other_member_reaches_the_revision():
    book = DeliveryBook(3)
    book.acknowledged(writer=0, revision=5, at=10.0)
    book.received(1, 5, at=10.1)
    assert book.delivered == [] and len(book.pending) == 1
    book.received(0, 5, at=10.2)  # the writer's own stream does not count
    assert book.delivered == []
    book.received(2, 6, at=10.3)  # a later revision brings the page past 5 as well
    assert book.delivered == [pytest.approx(0.3)] and book.pending == []


def test_a_member_who_had_it_before_the_answer_was_read_counts_as_zero():
    book = DeliveryBook(3)
    book.received(1, 5, at=9.9)
    book.received(2, 5, at=9.95)
    book.acknowledged(writer=0, revision=5, at=10.0)
    assert book.delivered == [0.0] and book.pending == []
    book.received(1, 6, at=10.0)
    book.acknowledged(writer=0, revision=6, at=10.1)
    book.received(2, 6, at=10.25)
    assert book.delivered == [0.0, pytest.approx(0.15)]


def test_old_or_repeated_revisions_change_nothing():
    book = DeliveryBook(2)
    book.acknowledged(writer=0, revision=3, at=1.0)
    book.received(1, 2, at=1.1)
    book.received(1, 2, at=1.2)
    assert book.pending and book.seen == [0, 2]
    book.received(1, 3, at=1.5)
    book.received(1, 1, at=1.6)  # an old event after the new one: nothing goes back
    assert book.delivered == [pytest.approx(0.5)] and book.seen == [0, 3]


def test_several_writes_in_flight_each_finish_on_their_own_revision():
    book = DeliveryBook(3)
    book.acknowledged(writer=0, revision=1, at=0.0)
    book.acknowledged(writer=1, revision=2, at=0.1)
    book.received(2, 1, at=0.2)
    book.received(1, 1, at=0.3)  # write 1 done: members 1 and 2 have it
    assert book.delivered == [pytest.approx(0.3)]
    book.received(0, 2, at=0.4)
    book.received(2, 2, at=0.6)
    assert book.delivered == [pytest.approx(0.3), pytest.approx(0.5)]


def test_late_and_never_delivered_writes_are_failures_and_rank_last():
    book = DeliveryBook(2, timeout=10)
    book.acknowledged(writer=0, revision=1, at=0.0)
    book.acknowledged(writer=0, revision=2, at=1.0)
    book.acknowledged(writer=1, revision=3, at=2.0)
    book.received(1, 1, at=0.2)
    book.received(1, 2, at=12.0)  # 11 s after its answer
    assert book.oldest_pending_age(now=14.0) == pytest.approx(12.0)
    assert book.waiting_on() == {0: 1}
    book.close()
    assert book.writes == 3 and book.undelivered == 2
    timings = book.timings()
    assert timings[0] == pytest.approx(0.2) and timings[1:] == [math.inf, math.inf]
    assert percentile(timings, 50) == math.inf and percentile(timings, 33) == pytest.approx(0.2)


def test_alone_in_the_room_a_write_is_delivered_at_once():
    book = DeliveryBook(1)
    book.acknowledged(writer=0, revision=4, at=3.0)
    assert book.delivered == [0.0] and book.undelivered == 0
