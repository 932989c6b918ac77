"""Captured streams without HTTP around them: raw SSE text and one-JSON-event-per-line files.

- ``sse``: the response body of a stream as sent (SDK fixtures ``*.txt``/``*.sse``). One exchange,
  no request, status ``None``, ``content-type: text/event-stream`` implied by the format. A capture
  too large to hold is not read into memory: its exchange has an
  :class:`~conformance.exchange.EventSource` (:class:`FileEvents`) that decodes it from disk a chunk
  at a time, each time the rules walk it.
- ``jsonl-events``: one event's ``data`` JSON per line, no ``event:`` lines (Vercel AI SDK
  ``*.chunks.txt``). Kept as :attr:`Exchange.raw_events` with ``event=None``, so rules can tell
  "no event name recorded" from "wrong event name".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from conformance.cassettes._common import Recording, Source
from conformance.cassettes.files import open_regular, too_large
from conformance.exchange import Exchange, Headers, HttpResponse
from conformance.limits import size_text
from conformance.sse import BlockStream, ServerSentEvent

_NO_HTTP = "captured stream only: no request, status or headers recorded"


def read_sse(src: Source, raw: bytes) -> Recording:
    if b"\r\n" in raw:
        src.note("CRLF line endings")
    return _sse_recording(src, raw, None)


def read_sse_file(src: Source, path: Path, head: bytes) -> Recording:
    """A raw SSE capture too large to hold: its events are read from ``path`` whenever rules walk them."""
    if b"\r\n" in head:
        src.note("CRLF line endings")
    return _sse_recording(src, None, FileEvents(src, path))


def _sse_recording(src: Source, body: bytes | None, source: FileEvents | None) -> Recording:
    ex = Exchange(
        request=None,
        response=HttpResponse(Headers([("content-type", "text/event-stream")]), body, status=None),
        file=src.file,
        interaction=0,
        notes=[_NO_HTTP],
        request_headers_complete=False,
        response_headers_complete=False,
        event_source=source,
    )
    return src.recording("sse", [ex])


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
    ex = Exchange(
        request=None,
        response=HttpResponse(Headers([("content-type", "text/event-stream")]), None, status=None),
        file=src.file,
        interaction=0,
        raw_events=events,
        notes=[_NO_HTTP, "events stored one JSON per line: no event: names recorded"],
        request_headers_complete=False,
        response_headers_complete=False,
    )
    return src.recording("jsonl-events", [ex])
