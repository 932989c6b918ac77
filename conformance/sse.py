"""A pure, incremental Server-Sent Events decoder with no Anthropic knowledge.

Follows the WHATWG HTML "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in CRLF, LF or CR; a blank line dispatches; ``:`` starts a comment;
one space after the colon is dropped; ``data`` lines join with LF; an event with
no data is not dispatched; a leading UTF-8 BOM is ignored.

Two layers: :class:`LineDecoder` (bytes/str chunks -> lines, any chunk boundary,
including a CR at the end of one chunk and LF at the start of the next) and
:class:`SSEDecoder` (lines -> events). :func:`decode_sse` does a whole body.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str | None = None
    """The ``event:`` field as sent; ``None`` when absent (WHATWG would say "message")."""
    id: str | None = None
    retry: int | None = None


class LineDecoder:
    """Split a stream of text chunks into lines, per the SSE line rules."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False

    def feed(self, chunk: str) -> list[str]:
        if not chunk:
            return []
        if self._pending_cr:
            # A CR ended the last chunk; an LF starting this one belongs to it.
            if chunk.startswith("\n"):
                chunk = chunk[1:]
            self._pending_cr = False
        text = self._buffer + chunk
        if text.endswith("\r"):
            self._pending_cr = True
        parts = _LINE_BREAK.split(text)
        self._buffer = parts.pop()
        return parts

    def close(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return [rest] if rest else []


class SSEDecoder:
    """Turn lines into events. Feed every line, including blank ones."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._seen_first_line = False

    def feed_line(self, line: str) -> ServerSentEvent | None:
        if not self._seen_first_line:
            self._seen_first_line = True
            if line.startswith("\ufeff"):
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
        """End of stream: an unterminated event is discarded, as the spec says."""
        self._data = []
        self._event = None


class IncrementalSSE:
    """Chunks in (bytes or str), events out. Invalid UTF-8 is replaced, as browsers do."""

    def __init__(self) -> None:
        import codecs

        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = LineDecoder()
        self._events = SSEDecoder()

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


def decode_sse(body: bytes | str) -> list[ServerSentEvent]:
    """Decode a complete SSE body."""
    return list(iter_sse([body]))
