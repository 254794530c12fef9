"""Server-Sent Events as a browser's EventSource reads them (the WHATWG "event stream
interpretation"), fed with the bytes of a response body as they arrive, in pieces of
any size: a line or even a CR LF may be split between two pieces.

Kept to what the load test needs to judge delivery honestly: an event is dispatched only
when it carries data, as EventSource does, so an event the server sends without a `data:`
line is one a browser never sees (counted in `undispatched` for the report)."""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE_END = re.compile(rb"\r\n|\r|\n")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Event:
    type: str  # "message" when the server named none
    payload: bytes  # the data lines joined by LF, undecoded (the load test rarely reads it)
    id: str  # the stream's last event id once this event arrived ("" if none yet)

    @property
    def data(self) -> str:
        return self.payload.decode("utf-8", "replace")


class EventStreamParser:
    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the start of a line whose end has not arrived
        self._skip_lf = False  # the last piece ended with CR: a LF opening the next is its pair
        self._started = False
        self._type = ""
        self._data: list[bytes] = []
        self._named = False  # this block has an `event:` or `id:` line
        self._data_seen = False
        # False: data lines are noted but not kept (events then carry an empty payload),
        # which spares copying tens of kB per change when the reader needs only the ids.
        self.keep_data = True
        self.last_event_id = ""
        self.retry_ms: int | None = None
        self.comments = 0  # keep-alive lines (":..."), for the report
        self.undispatched = 0  # blank-line-terminated blocks with no data: a browser drops them

    def feed(self, piece: bytes) -> list[Event]:
        """The events completed by this piece of the body, in order."""
        if not piece:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if piece.startswith(b"\n"):
                piece = piece[1:]
        if piece.endswith(b"\r"):
            self._skip_lf = True
        if not self._started:
            buffered = b"".join(self._partial) + piece
            if len(buffered) < len(BOM) and BOM.startswith(buffered):
                self._partial = [buffered]  # too early to tell whether it opens with a BOM
                return []
            self._started = True
            self._partial = []
            piece = buffered.removeprefix(BOM)
        if b"\n" not in piece and b"\r" not in piece:
            # The middle of a long line (a change's fragments can be tens of kB): kept
            # aside, not copied and scanned again with every piece.
            self._partial.append(piece)
            return []
        if b"\r" in piece or any(b"\r" in part for part in self._partial):
            return self._lines(LINE_END.split(b"".join(self._partial) + piece))
        return self._lf_lines(piece)

    def _lines(self, lines: list[bytes]) -> list[Event]:
        last = lines.pop()  # after the last line end: unfinished (often b"")
        self._partial = [last] if last else []
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _lf_lines(self, piece: bytes) -> list[Event]:
        """The common case, lines ended by LF alone, read with find (memchr) and without
        copying the data lines when they are not kept: tens of MB a second at 200
        members, on the client's one core."""
        events = []
        start = 0
        if self._partial:
            end = piece.find(b"\n")  # the end of the line begun in earlier pieces
            first = self._partial[0]
            head = first if len(first) >= 5 else b"".join(self._partial)[:5]
            if self._skippable(head, 0, sum(map(len, self._partial)) + end):
                self._data_seen = True
            else:
                event = self._line(b"".join(self._partial) + piece[:end])
                if event is not None:
                    events.append(event)
            self._partial = []
            start = end + 1
        while True:
            end = piece.find(b"\n", start)
            if end < 0:
                break
            if self._skippable(piece, start, end):
                self._data_seen = True
            else:
                event = self._line(piece[start:end])
                if event is not None:
                    events.append(event)
            start = end + 1
        if start < len(piece):
            self._partial = [piece[start:]]
        return events

    def _skippable(self, buffer: bytes, start: int, end: int) -> bool:
        """A data line (field name exactly "data") while data is not kept."""
        return not self.keep_data and (buffer.startswith(b"data:", start, end) or (
            end - start == 4 and buffer.startswith(b"data", start)))

    def _line(self, raw: bytes) -> Event | None:
        if not raw:
            return self._dispatch()
        if raw.startswith(b":"):
            self.comments += 1
            return None
        if self._skippable(raw, 0, len(raw)):
            self._data_seen = True
            return None
        name, colon, value = raw.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)  # left as bytes: decoded only if someone reads it
        elif name == b"event":
            self._type, self._named = value.decode("utf-8", "replace"), True
        elif name == b"id":
            self._named = True
            if b"\0" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():
                self.retry_ms = int(value)
        return None  # other field names are ignored, as the standard says

    def _dispatch(self) -> Event | None:
        kind, data, named = self._type or "message", self._data, self._named
        seen = self._data_seen or bool(data)
        self._type, self._data, self._named, self._data_seen = "", [], False, False
        if not seen:
            self.undispatched += named  # a keep-alive's blank line is no event
            return None
        return Event(type=kind, payload=b"\n".join(data), id=self.last_event_id)
