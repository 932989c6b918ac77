"""A pure, incremental Server-Sent Events decoder with no Anthropic knowledge.

Follows the WHATWG HTML "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in CRLF, LF or CR; a blank line dispatches; ``:`` starts a comment;
one space after the colon is dropped; ``data`` lines join with LF; an event with
no data is not dispatched; ``id`` containing NUL is ignored; ``retry`` counts only
when it is all ASCII digits; a leading UTF-8 BOM is ignored; at end of input an
event without its terminating blank line is discarded.

Two layers: :class:`LineDecoder` (text chunks -> lines, any chunk boundary,
including a CR at the end of one chunk and LF at the start of the next) and
:class:`SSEDecoder` (lines -> events). :class:`IncrementalSSE` adds UTF-8
decoding of byte chunks (a character split across chunks is kept whole).

:func:`decode_sse` decodes a whole body on a faster path that gives the same
events; :class:`BlockDecoder` is that path resumed piece by piece, for a body too
large to hold (cut each piece after a blank line: :func:`last_blank_line_end`); :class:`BlockStream` does
that cutting for chunks cut anywhere (off a socket, or read from a file).

WHATWG discards an unterminated last event; real captures often lack
the final blank line, so :attr:`IncrementalSSE.discarded` and
:func:`unterminated_event` expose what was discarded, for a validator to warn
about instead of losing it silently.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Iterable, Iterator

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"
_BOM_BYTES = b"\xef\xbb\xbf"


@dataclasses.dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event. Not frozen: it is built once per event on the hot path,
    and a frozen dataclass costs three times as much to construct."""

    data: str
    event: str | None = None
    """The ``event:`` field as sent; ``None`` when absent (WHATWG would say "message")."""
    id: str | None = None
    """The last event ID in force when this event was dispatched."""
    retry: int | None = None
    """The last valid ``retry`` value seen so far."""


class LineDecoder:
    """Split a stream of text chunks into lines, per the SSE line rules."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False

    def feed(self, chunk: str) -> list[str]:
        if not chunk:
            return []
        if self._pending_cr:
            # A CR ended the last chunk and was taken as a line end; an LF
            # starting this one is the second half of that CRLF, not a new line.
            self._pending_cr = False
            if chunk[0] == "\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        text = self._buffer + chunk if self._buffer else chunk
        self._pending_cr = text[-1] == "\r"
        parts = _LINE_BREAK.split(text)
        self._buffer = parts.pop()
        return parts

    def close(self) -> list[str]:
        """The unterminated last line, if any (it still counts as a field line)."""
        rest, self._buffer = self._buffer, ""
        self._pending_cr = False
        return [rest] if rest else []


class SSEDecoder:
    """Turn lines into events. Feed every line, including blank ones."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._seen_first_line = False
        self.discarded: ServerSentEvent | None = None
        """After :meth:`close`: the event that had data but no terminating blank line."""

    def feed_line(self, line: str) -> ServerSentEvent | None:
        if not self._seen_first_line:
            self._seen_first_line = True
            if line.startswith(_BOM):
                line = line[1:]
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        # Any other field name is ignored, as the spec says.
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = None
            return None
        ev = ServerSentEvent("\n".join(self._data), self._event, self._last_id, self._retry)
        self._data = []
        self._event = None
        return ev

    def close(self) -> None:
        """End of stream: an unterminated event is discarded (kept in :attr:`discarded`)."""
        if self._data:
            self.discarded = ServerSentEvent("\n".join(self._data), self._event, self._last_id, self._retry)
        self._data = []
        self._event = None


class IncrementalSSE:
    """Chunks in (bytes or str), events out. Invalid UTF-8 is replaced, as browsers do."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = LineDecoder()
        self._events = SSEDecoder()

    @property
    def discarded(self) -> ServerSentEvent | None:
        """After :meth:`close`: the last event, discarded because no blank line ended it."""
        return self._events.discarded

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        return self._collect(self._lines.feed(text))

    def close(self) -> list[ServerSentEvent]:
        tail = self._utf8.decode(b"", final=True)
        out = self._collect(self._lines.feed(tail) + self._lines.close())
        self._events.close()
        return out

    def _collect(self, lines: Iterable[str]) -> list[ServerSentEvent]:
        out = []
        for line in lines:
            ev = self._events.feed_line(line)
            if ev is not None:
                out.append(ev)
        return out


def iter_sse(chunks: Iterable[bytes | str]) -> Iterator[ServerSentEvent]:
    dec = IncrementalSSE()
    for chunk in chunks:
        yield from dec.feed(chunk)
    yield from dec.close()


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body[1:] if body.startswith(_BOM) else body
    if body.startswith(_BOM_BYTES):
        body = body[3:]
    return body.decode("utf-8", errors="replace")


def decode_sse(body: bytes | str) -> list[ServerSentEvent]:
    """Decode a complete SSE body (same events as :func:`iter_sse`, faster).

    Normalising CRLF and lone CR to LF first lets the body be cut into events at
    every blank line with C-speed ``str.split``; fields are then read per event.
    """
    return BlockDecoder().decode(body)


class BlockDecoder:
    """:func:`decode_sse`'s fast path, resumable: a body given in pieces, each ending just after a blank
    line (:func:`last_blank_line_end` finds where), so a large stream is decoded piece by piece.

    ``id`` and ``retry`` carry over from piece to piece; a BOM is dropped from the first piece only.
    Whatever follows a piece's last blank line is discarded, as at the end of a whole body.
    """

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.retry: int | None = None
        self._started = False

    def decode(self, body: bytes | str) -> list[ServerSentEvent]:
        if self._started:
            text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        else:
            text = _text(body)
            self._started = True
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        blocks = text.split("\n\n")
        # The last block had no blank line after it: WHATWG discards it.
        blocks.pop()
        out: list[ServerSentEvent] = []
        append = out.append
        last_id = self.last_id
        retry = self.retry
        for block in blocks:
            # Fast path for the shape almost every server writes: "event: X\ndata: Y".
            if block.startswith("event: "):
                nl = block.find("\n")
                if nl > 0 and block.startswith("data: ", nl + 1) and block.find("\n", nl + 1) < 0:
                    append(ServerSentEvent(block[nl + 7:], block[7:nl], last_id, retry))
                    continue
            data: str | None = None
            more: list[str] | None = None
            event: str | None = None
            for line in block.split("\n"):
                if not line or line[0] == ":":
                    # Empty lines here are leading blank lines (extra dispatches of nothing).
                    continue
                colon = line.find(":")
                if colon < 0:
                    name, value = line, ""
                else:
                    name = line[:colon]
                    value = line[colon + 1:]
                    if value and value[0] == " ":
                        value = value[1:]
                if name == "data":
                    if data is None:
                        data = value
                    elif more is None:
                        more = [data, value]
                    else:
                        more.append(value)
                elif name == "event":
                    event = value
                elif name == "id":
                    if "\x00" not in value:
                        last_id = value
                elif name == "retry":
                    if value.isascii() and value.isdigit():
                        retry = int(value)
            if data is not None:
                append(ServerSentEvent("\n".join(more) if more is not None else data, event, last_id, retry))
        self.last_id, self.retry = last_id, retry
        return out


def last_blank_line_end(body: bytes | bytearray, start: int = 0) -> int:
    """Index just after the last blank line of ``body`` (0 when there is none), searching from ``start``.

    Every occurrence of LF LF, LF CR or CR CR is a line end followed by an empty
    line, and every blank line contains one of them (CR LF CR holds LF CR, CR LF LF
    holds LF LF, CR CR LF holds CR CR). Only the tail is searched, widening as needed.
    """
    size = len(body)
    window = 4096
    floor = start
    while True:
        start = max(floor, size - window)
        tail = body[start:]
        best = max(tail.rfind(b"\n\n"), tail.rfind(b"\n\r"), tail.rfind(b"\r\r"))
        if best >= 0:
            return start + best + 2
        if start == floor:
            return 0
        window *= 4


class BlockStream:
    """:class:`BlockDecoder` fed chunks cut anywhere (as they come off a socket or out of a file): each
    chunk gives the events completed up to its last blank line; the bytes after it wait for the next.

    Gives the same events as :func:`decode_sse` of the whole body, whatever the chunk boundaries.
    """

    def __init__(self) -> None:
        self._decoder = BlockDecoder()
        self._pending = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received after the last blank line: an event still arriving (bound it against hostile input)."""
        return len(self._pending)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        pending = self._pending
        if not pending and chunk.endswith(b"\n\n"):
            # The common case on the wire: a chunk that ends an event, nothing carried over. No copy.
            return self._decoder.decode(chunk)
        # A blank line may straddle the chunk boundary: search from just before it.
        searched_from = max(0, len(pending) - 2)
        pending += chunk
        cut = last_blank_line_end(pending, searched_from)
        if not cut:
            return []
        events = self._decoder.decode(bytes(pending[:cut]))
        del pending[:cut]
        return events

    def close(self) -> ServerSentEvent | None:
        """End of input: the last event, which WHATWG discards because no blank line ended it (or ``None``)."""
        rest = bytes(self._pending)
        self._pending.clear()
        return unterminated_event(rest) if rest else None


def unterminated_event(body: bytes | str) -> ServerSentEvent | None:
    """The event at the end of ``body`` that WHATWG discards (no blank line after it), or ``None``.

    Reads only the tail after the last blank line. The ``id`` of the returned event
    is only what the tail itself set (earlier ``id`` fields are not replayed).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    cut = last_blank_line_end(raw)
    dec = IncrementalSSE()
    # Text before the cut ended with a blank line, so the decoder state there is
    # empty except for id/retry, which do not decide whether an event exists.
    events = dec.feed(raw[cut:])
    events += dec.close()
    return dec.discarded
