"""Captured streams without HTTP around them: raw SSE text and one-JSON-event-per-line files.

- ``sse``: the response body of a stream as sent (SDK fixtures ``*.txt``/``*.sse``). One exchange,
  no request, status ``None``, ``content-type: text/event-stream`` implied by the format. A capture
  too large to hold is not read into memory: its exchange has an
  :class:`~conformance.exchange.EventSource` (:class:`FileEvents`) that decodes it from disk a chunk
  at a time, each time the rules walk it.
- ``jsonl-events``: one event's ``data`` JSON per line, no ``event:`` lines (Vercel AI SDK
  ``*.chunks.txt``). Kept as :attr:`Exchange.raw_events` with ``event=None``, so rules can tell
  "no event name recorded" from "wrong event name".

A test fixture may hold several complete streams one after another (the responses of a multi-step
test): each ``message_start`` that follows a ``message_stop`` begins a new exchange (see
:func:`stream_starts`). A ``message_start`` before any ``message_stop`` is a broken stream, not a new
one, and stays in it for the rules to report. A capture too large to hold is read as one stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import AnyStr

import orjson

from conformance.cassettes._common import Recording, Source
from conformance.cassettes.files import open_regular, too_large
from conformance.exchange import Exchange, Headers, HttpResponse
from conformance.limits import size_text
from conformance.sse import BlockStream, ServerSentEvent, decode_sse

_NO_HTTP = "captured stream only: no request, status or headers recorded"


MAX_STREAMS = 1000
"""At most this many streams are read out of one file (a multi-step test records a handful); the events
after the last are read as part of it, so a hostile file of a million tiny streams costs what one long
stream costs, its findings bounded per rule."""

_BOUNDARIES = frozenset({"message_start", "message_stop"})
_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)+")
"""A line end followed by one or more empty lines: where one SSE event's block ends (CR LF is one line end)."""


def stream_starts(kinds: Iterable[str | None]) -> list[int]:
    """Where each stream of a file begins, given its events' types: event 0, and every ``message_start``
    after a ``message_stop`` (since the last start). A second ``message_start`` before any
    ``message_stop`` (spliced or repeated) does not start a stream: it stays for the rules to report."""
    starts = [0]
    stopped = False
    for i, kind in enumerate(kinds):
        if kind == "message_start" and stopped:
            starts.append(i)
            stopped = False
        elif kind == "message_stop":
            stopped = True
    return starts


def boundary_type(data: str) -> str | None:
    """``message_start`` or ``message_stop`` when ``data`` is that event, else ``None`` (parsed only if it
    could be: the other events are left to the rules)."""
    if "message_st" not in data:
        return None
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    kind = payload.get("type") if isinstance(payload, dict) else None
    return kind if kind in _BOUNDARIES else None


def _found_after(text: AnyStr, first: AnyStr, then: AnyStr) -> bool:
    at = text.find(first)
    return at >= 0 and text.find(then, at) >= 0


def sse_stream_offsets(raw: bytes) -> list[int]:
    """Where each stream of a raw SSE body begins (:func:`stream_starts`), as byte offsets: ``[0]`` for one
    stream. Each offset is the start of an event's block, so each piece decodes as that stream alone."""
    if not _found_after(raw, b"message_stop", b"message_start"):  # the cheap test first
        return [0]
    offsets: list[int] = []
    kinds: list[str | None] = []
    begin = 0
    for sep in _BLANK_LINE.finditer(raw):
        block = raw[begin:sep.start()]
        if b"message_st" in block:
            events = decode_sse(block + b"\n\n")
            offsets.append(begin)
            kinds.append(boundary_type(events[0].data) if events else None)
        begin = sep.end()
    return [0, *(offsets[i] for i in stream_starts(kinds)[1:])]


def read_sse(src: Source, raw: bytes) -> Recording:
    if b"\r\n" in raw:
        src.note("CRLF line endings")
    starts = _within_limit(src, sse_stream_offsets(raw))
    pieces = [raw[a:b] for a, b in zip(starts, [*starts[1:], len(raw)], strict=True)]
    return src.recording("sse", [_sse_exchange(src, i, piece, None) for i, piece in enumerate(pieces)])


def read_sse_file(src: Source, path: Path, head: bytes) -> Recording:
    """A raw SSE capture too large to hold: its events are read from ``path`` whenever rules walk them."""
    if b"\r\n" in head:
        src.note("CRLF line endings")
    return src.recording("sse", [_sse_exchange(src, 0, None, FileEvents(src, path))])


def _within_limit(src: Source, starts: list[int]) -> list[int]:
    """``starts`` of the streams read, at most :data:`MAX_STREAMS`, noting on the file how many there are."""
    if len(starts) > 1:
        src.note(f"{min(len(starts), MAX_STREAMS)} streams stored one after another (a message_start after a "
                 "message_stop begins the next): each read as its own interaction")
    if len(starts) > MAX_STREAMS:
        src.note(f"{len(starts) - MAX_STREAMS} more streams read as part of the last (at most {MAX_STREAMS} per file)")
    return starts[:MAX_STREAMS]


def _sse_exchange(src: Source, index: int, body: bytes | None, source: FileEvents | None) -> Exchange:
    return Exchange(
        request=None,
        response=HttpResponse(Headers([("content-type", "text/event-stream")]), body, status=None),
        file=src.file,
        interaction=index,
        notes=[_NO_HTTP],
        request_headers_complete=False,
        response_headers_complete=False,
        event_source=source,
    )


class FileEvents:
    """The events of a raw SSE file, decoded from disk a chunk at a time (an ``EventSource``).

    Each pass reads the file again: memory holds one chunk and its events, never the capture. One
    event (the bytes between two blank lines) may be at most ``max_body_bytes``, the bound on any one
    body; a larger one is an input error, as is a file that grew past ``max_file_bytes``.
    """

    CHUNK = 1 << 20

    def __init__(self, src: Source, path: Path) -> None:
        self.src = src
        self.path = path
        self.discarded: ServerSentEvent | None = None

    def batches(self) -> Iterator[list[ServerSentEvent]]:
        limits = self.src.limits
        stream = BlockStream()
        read = 0
        with open_regular(self.src, self.path) as fh:
            while chunk := fh.read(self.CHUNK):
                read += len(chunk)
                if read > limits.max_file_bytes:
                    raise too_large(self.src, limits.max_file_bytes)
                events = stream.feed(chunk)
                if stream.pending > limits.max_body_bytes:
                    raise self.src.error(f"an event is larger than {size_text(limits.max_body_bytes)}",
                                         f"byte {read - stream.pending}",
                                         "raise --max-body-bytes if the capture is genuine")
                if events:
                    yield events
        self.discarded = stream.close()


def first_line_is_json_object(text: str) -> bool:
    for line in text.splitlines():
        if line.strip():
            try:
                return isinstance(orjson.loads(line), dict)
            except orjson.JSONDecodeError:
                return False
    return False


def read_jsonl(src: Source, text: str) -> Recording:
    # Blank lines carry no event; a line that is not JSON stays as data so the stream rules report it.
    events = [ServerSentEvent(data=line.strip(), event=None) for line in text.splitlines() if line.strip()]
    several = _found_after(text, "message_stop", "message_start")  # the cheap test first
    starts = _within_limit(src, stream_starts(boundary_type(ev.data) for ev in events) if several else [0])
    return src.recording("jsonl-events", [_jsonl_exchange(src, i, events[a:b]) for i, (a, b)
                                          in enumerate(zip(starts, [*starts[1:], len(events)], strict=True))])


def _jsonl_exchange(src: Source, index: int, events: list[ServerSentEvent]) -> Exchange:
    return Exchange(
        request=None,
        response=HttpResponse(Headers([("content-type", "text/event-stream")]), None, status=None),
        file=src.file,
        interaction=index,
        raw_events=events,
        notes=[_NO_HTTP, "events stored one JSON per line: no event: names recorded"],
        request_headers_complete=False,
        response_headers_complete=False,
    )
