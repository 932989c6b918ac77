"""One normalised request/response record that every rule reads.

Readers (``conformance.cassettes``) turn each recording format into
:class:`Exchange` objects; the reference server and the runner build them from
live traffic. Rules never see a recording format, only these types.

Bodies are kept as bytes exactly as they went over the wire (after undoing a
recorder's gzip/base64 storage); JSON and SSE are decoded lazily, once.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

from conformance.endpoints import endpoint_for_path
from conformance.intent import META_HEADER, Intent, RecordingMeta
from conformance.sse import ServerSentEvent, decode_sse


class _Missing:
    """The body is absent or not JSON (see ``json_error``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class Headers:
    """Ordered, case-insensitive, multi-valued HTTP headers."""

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, Any] | None = None) -> None:
        pairs: list[tuple[str, str]] = []
        if items is None:
            pass
        elif isinstance(items, Mapping):
            for name, value in items.items():
                if isinstance(value, (list, tuple)):
                    pairs.extend((str(name), str(v)) for v in value)
                elif value is not None:
                    pairs.append((str(name), str(value)))
        else:
            pairs.extend((str(n), str(v)) for n, v in items)
        self._items = pairs
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        # Built on first use: rules look up many names per response.
        index = self._index
        if index is None:
            index = {}
            for n, v in self._items:
                index.setdefault(n.lower(), []).append(v)
            self._index = index
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = self._lookup().get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._lookup().get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return [n.lower() for n, _ in self._items]

    def to_dict(self) -> dict[str, list[str]]:
        return {n: list(v) for n, v in self._lookup().items()}

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self.to_dict() == other.to_dict()


def _parse_json(body: bytes | None) -> tuple[Any, str | None]:
    if body is None or body == b"":
        return MISSING, "no body"
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        return MISSING, f"body is not JSON: {exc}"


@dataclasses.dataclass(eq=False)
class HttpMessage:
    headers: Headers
    body: bytes | None

    @functools.cached_property
    def _json(self) -> tuple[Any, str | None]:
        return _parse_json(self.body)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``MISSING`` (see :attr:`json_error`)."""
        return self._json[0]

    @property
    def json_error(self) -> str | None:
        return self._json[1]

    @functools.cached_property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()


@dataclasses.dataclass(eq=False)
class HttpRequest(HttpMessage):
    method: str = "POST"
    url: str = ""

    @property
    def path(self) -> str:
        """The URL path without query (``/v1/messages`` for ``.../v1/messages?beta=true``)."""
        if not self.url:
            return ""
        return urlsplit(self.url).path or "/"


@dataclasses.dataclass(eq=False)
class HttpResponse(HttpMessage):
    status: int | None = None


@dataclasses.dataclass(slots=True)
class StreamEvent:
    """One SSE event of a response stream, with its data parsed as JSON."""

    index: int
    name: str | None
    """The ``event:`` field; ``None`` when the source carried none (e.g. JSON-lines captures)."""
    data: str
    payload: Any
    """The parsed ``data`` (usually a dict); ``MISSING`` when it is not JSON."""
    parse_error: str | None = None

    @property
    def type(self) -> str | None:
        p = self.payload
        if isinstance(p, dict):
            t = p.get("type")
            return t if isinstance(t, str) else None
        return None


def parse_events(raw: Iterable[ServerSentEvent], start: int = 0) -> list[StreamEvent]:
    """Number SSE events (from ``start``) and parse each ``data`` with orjson (the hot path)."""
    out: list[StreamEvent] = []
    loads = orjson.loads
    for i, ev in enumerate(raw, start):
        try:
            out.append(StreamEvent(i, ev.event, ev.data, loads(ev.data)))
        except orjson.JSONDecodeError as exc:
            out.append(StreamEvent(i, ev.event, ev.data, MISSING, str(exc)))
    return out


_LEADING_SPACE = re.compile(rb"\s*")


def looks_like_sse(body: bytes) -> bool:
    start = _LEADING_SPACE.match(body).end()  # type: ignore[union-attr]  # \s* always matches
    head = body[start:start + 64]  # no copy of a large body, as lstrip() would make
    return head.startswith((b"event:", b"data:", b":", b"id:", b"retry:"))


class EventSource(Protocol):
    """A stream's events read from where they are kept (a capture on disk too large to hold), a batch
    at a time; each call of :meth:`batches` reads them again from the start."""

    discarded: ServerSentEvent | None
    """After a whole pass: the last event, which had no blank line after it (see :mod:`conformance.sse`)."""

    def batches(self) -> Iterator[list[ServerSentEvent]]: ...


@dataclasses.dataclass(eq=False)
class Exchange:
    """A request and its response; either may be missing in partial recordings.

    ``raw_events`` is set by readers of formats that store events rather than bytes
    (one-JSON-per-line captures); ``event_source`` by readers of streams too large to
    hold (the response then has no body); otherwise events are decoded from the
    response body.
    """

    request: HttpRequest | None
    response: HttpResponse | None
    file: str | None = None
    interaction: int | None = None
    raw_events: list[ServerSentEvent] | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    request_headers_complete: bool = True
    """False when the recorder is known to drop or filter request headers (auth is usually filtered)."""
    response_headers_complete: bool = True
    """False when the recorder stripped or allow-listed response headers."""
    event_source: EventSource | None = None
    meta: RecordingMeta | None = None
    """What the exchange was for (set by a run; read back from a recording's ``x-conformance-meta``)."""
    transport_error: str | None = None
    """How the answer broke off, when it did: no answer at all (``response`` is None), the connection
    dropped mid-body, or a stream that stalled (what arrived before is kept in ``response``)."""
    stalled: bool = False
    """The answer stopped arriving for longer than the run's timeout between events."""

    def __post_init__(self) -> None:
        if self.meta is None and self.request is not None:
            stored = self.request.headers.get(META_HEADER)
            if stored is not None:
                self.meta = RecordingMeta.parse(stored)

    @property
    def intent(self) -> Intent | None:
        """What the request was sent to provoke, when known (see :mod:`conformance.intent`)."""
        return self.meta.intent if self.meta is not None else None

    @functools.cached_property
    def is_stream(self) -> bool:
        if self.raw_events is not None or self.event_source is not None:
            return True
        resp = self.response
        if resp is None or resp.body is None:
            return False
        if resp.content_type == "text/event-stream":
            return True
        if resp.content_type in ("", "text/plain", "application/octet-stream"):
            return looks_like_sse(resp.body)
        return False

    @functools.cached_property
    def events(self) -> list[StreamEvent] | None:
        """The decoded stream, or ``None`` when the response is not a stream.

        The whole stream at once: rules read :meth:`event_batches`, which holds a stream read
        from an :class:`EventSource` one batch at a time.
        """
        if self.raw_events is not None:
            return parse_events(self.raw_events)
        if self.event_source is not None:
            return [ev for batch in self.event_batches() for ev in batch]
        if not self.is_stream:
            return None
        assert self.response is not None and self.response.body is not None
        return parse_events(decode_sse(self.response.body))

    def event_batches(self) -> Generator[list[StreamEvent], None, None]:
        """The stream's events in order, numbered from 0, a batch at a time (none when not a stream)."""
        source = self.event_source
        if source is None:
            events = self.events
            if events is not None:
                yield events
            return
        from conformance.accumulate import MessageAccumulator

        # Every pass over a source also builds the accumulated message, so the rules' one pass
        # leaves it ready (:attr:`accumulated` is cached here) instead of reading the source again.
        accumulator = MessageAccumulator()
        start = 0
        for raw in source.batches():
            batch = parse_events(raw, start)
            start += len(batch)
            accumulator.feed(batch)
            yield batch
        if "accumulated" not in self.__dict__:
            self.__dict__["accumulated"] = accumulator.result()

    def iter_events(self) -> Iterator[StreamEvent]:
        for batch in self.event_batches():
            yield from batch

    @functools.cached_property
    def accumulated(self) -> dict[str, Any] | None:
        """The Message a client would build from the stream (``None`` when not a stream)."""
        if not self.is_stream:
            return None
        from conformance.accumulate import accumulate_message

        if self.event_source is None:
            events = self.events
            assert events is not None  # a stream
            return accumulate_message(events)
        return accumulate_message(self.iter_events())

    def keep_decoded(self, events: list[StreamEvent], accumulated: dict[str, Any] | None) -> None:
        """A stream decoded as it arrived (:mod:`conformance.live`): its events and the message they build,
        kept so that no rule decodes the stream again. ``events`` may be the first part of a stream too
        long to keep whole (the live judge saw every event; a note says so)."""
        self.__dict__.update(is_stream=True, events=events, accumulated=accumulated)

    @property
    def path(self) -> str:
        return self.request.path if self.request is not None else ""


def endpoint_of(exchange: Exchange) -> str | None:
    """``messages``, ``count_tokens``, ``models``, ``model``, or ``None`` for any other endpoint.

    Captures without a request (raw SSE, bare bodies) are Messages responses.
    """
    if exchange.request is None or not exchange.request.url:
        return "messages"
    endpoint = endpoint_for_path(exchange.request.path)
    return endpoint.name if endpoint is not None else None
