"""Captured streams without HTTP around them: raw SSE text and one-JSON-event-per-line files.

- ``sse``: the response body of a stream as sent (SDK fixtures ``*.txt``/``*.sse``). One exchange,
  no request, status ``None``, ``content-type: text/event-stream`` implied by the format.
- ``jsonl-events``: one event's ``data`` JSON per line, no ``event:`` lines (Vercel AI SDK
  ``*.chunks.txt``). Kept as :attr:`Exchange.raw_events` with ``event=None``, so rules can tell
  "no event name recorded" from "wrong event name".
"""

from __future__ import annotations

import orjson

from conformance.cassettes._common import Recording, Source
from conformance.exchange import Exchange, Headers, HttpResponse
from conformance.sse import ServerSentEvent

_NO_HTTP = "captured stream only: no request, status or headers recorded"


def read_sse(src: Source, raw: bytes) -> Recording:
    if b"\r\n" in raw:
        src.note("CRLF line endings")
    ex = Exchange(
        request=None,
        response=HttpResponse(Headers([("content-type", "text/event-stream")]), raw, status=None),
        file=src.file,
        interaction=0,
        notes=[_NO_HTTP],
        request_headers_complete=False,
        response_headers_complete=False,
    )
    return src.recording("sse", [ex])


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
