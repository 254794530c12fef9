"""Delivery bookkeeping: for every acknowledged write, how long until EVERY OTHER member's
event stream has received an event (`ops` or `stale`) that brings its page to the
write's revision or later.

Times are the caller's (the kernel's receive times of the answer's and the event's last
bytes, see asyncclient), so the book itself is plain arithmetic and can be tested
without a server. A member whose stream
reached the revision before the writer had read its answer counts as zero: the change
was on their page first."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DELIVERY_TIMEOUT = 10.0  # seconds: a write not everywhere by then counts as undelivered


@dataclass
class PendingWrite:
    writer: int
    revision: int
    acknowledged_at: float
    waiting: set[int]
    last_arrival: float = field(default=-math.inf)


class DeliveryBook:
    def __init__(self, members: int, *, timeout: float = DELIVERY_TIMEOUT) -> None:
        self.members = members
        self.timeout = timeout
        self.seen = [0] * members  # the highest revision each member's stream has brought
        self.pending: list[PendingWrite] = []
        self.delivered: list[float] = []  # seconds, one per write delivered within timeout
        self.late: list[float] = []  # delivered, but after the timeout
        self.expired = 0  # never delivered by the time the book was closed

    def received(self, member: int, revision: int, at: float) -> None:
        """Member's stream got an `ops` or `stale` event with this id, at `at`."""
        before = self.seen[member]
        if revision <= before:
            return
        self.seen[member] = revision
        if not self.pending:
            return
        still = []
        for write in self.pending:
            if before < write.revision <= revision and member in write.waiting:
                write.waiting.discard(member)
                write.last_arrival = max(write.last_arrival, at)
                if not write.waiting:
                    self._finish(write, write.last_arrival - write.acknowledged_at)
                    continue
            still.append(write)
        self.pending = still

    def acknowledged(self, writer: int, revision: int, at: float) -> None:
        """Writer read the whole answer to a write that brought the session to `revision`."""
        waiting = {member for member in range(self.members)
                   if member != writer and self.seen[member] < revision}
        if not waiting:
            self._finish(None, 0.0)
            return
        self.pending.append(PendingWrite(writer, revision, at, waiting))

    def _finish(self, write: PendingWrite | None, seconds: float) -> None:
        seconds = max(0.0, seconds)
        (self.delivered if seconds <= self.timeout else self.late).append(seconds)

    def oldest_pending_age(self, now: float) -> float:
        return max((now - w.acknowledged_at for w in self.pending), default=0.0)

    def close(self) -> None:
        """The run is over: what is still waiting was never delivered."""
        self.expired += len(self.pending)
        self.pending = []

    @property
    def writes(self) -> int:
        return len(self.delivered) + len(self.late) + self.expired + len(self.pending)

    @property
    def undelivered(self) -> int:
        """Writes whose delivery did not complete within the timeout: failures."""
        return len(self.late) + self.expired

    def timings(self) -> list[float]:
        """One figure per write, undelivered ones as infinity, so that a percentile over
        them can never look better than what members saw."""
        return self.delivered + [math.inf] * self.undelivered

    def waiting_on(self) -> dict[int, int]:
        """For a failed run: how many pending writes each member is still missing."""
        counts: dict[int, int] = {}
        for write in self.pending:
            for member in write.waiting:
                counts[member] = counts.get(member, 0) + 1
        return counts
