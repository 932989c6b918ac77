"""One live exchange judged as it happens: the core of ``conformance proxy`` and ``ValidatingTransport``.

A recording is judged whole (:mod:`conformance.lint`); live traffic is judged while it passes, without
holding it back. A :class:`LiveExchange` is fed, in order, what a pass-through sees:

    start(method, url, headers, body)       the request (:meth:`LiveJudge.start`)
    response(status, headers)               the response head
    feed(chunk) -> findings                 each body chunk once it was passed on; a stream's events are
                                            decoded (:class:`~conformance.sse.BlockStream`) and go through
                                            the stream grammar as they complete, so its findings come out
                                            at the event that broke the contract
    finish(error=None) -> findings          the end, or how the connection broke: every finding of the
                                            exchange, through :func:`conformance.engine.check_exchange`

Nothing here is a rule. The stream's grammar is the :class:`~conformance.rules.stream.StreamValidator` that
``lint`` runs, ended by the same :func:`~conformance.rules.stream.stream_end`; every other rule runs once the
exchange is whole, from the same tables, stamped with its party by the same engine (a client's mistake the
server rejected as the API does is ``request.rejected-as-expected`` here too).

Bounded for any input: a body is kept for the rules (and a recording) up to ``max_body_bytes``; past that a
stream is still judged event by event (its grammar keeps only its state) and a plain body is passed on
unjudged (``transport.body-not-judged``). One event may be at most ``max_body_bytes`` long; compressed
bodies (gzip, deflate) are inflated for the rules within the same bound.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from conformance.accumulate import MessageAccumulator
from conformance.engine import check_exchange, check_sequence, parties, profile_for, selected, stamped
from conformance.exchange import (
    Exchange,
    Headers,
    HttpRequest,
    HttpResponse,
    StreamEvent,
    endpoint_of,
    looks_like_sse,
    parse_events,
)
from conformance.findings import Finding, info
from conformance.inflate import INFLATED, InflateOverflow, Inflater
from conformance.limits import ReadLimits, size_text
from conformance.profiles import Profile, Profiles, load_profiles
from conformance.rules import EXCHANGE_CHECKS, body, requests, transport
from conformance.rules.base import Check, Context
from conformance.rules.stream import StreamValidator, stream_end, stream_grammar
from conformance.sse import BlockStream

__all__ = ["AFTER_THE_STREAM", "LiveExchange", "LiveJudge", "RawHeaders"]

RawHeaders = Mapping[str, Any] | Iterable[tuple[str, str]] | Headers
"""Headers as any client holds them: a mapping (values may be lists), name-value pairs, or :class:`Headers`."""

AFTER_THE_STREAM: tuple[Check, ...] = tuple(c for c in EXCHANGE_CHECKS if c is not stream_grammar)
"""Every exchange rule but the stream grammar, which a live stream went through event by event."""
_REQUEST_SIDE: tuple[Check, ...] = (body.request_body_matches_schema, *requests.CHECKS, *transport.CHECKS)
"""What is judged of an exchange whose response body was too large to keep."""
_SSE_SNIFFED = frozenset({"", "text/plain", "application/octet-stream"})
"""Content types whose body may still be a stream (as :attr:`Exchange.is_stream` decides for a recording)."""


def _headers(raw: RawHeaders) -> Headers:
    return raw if isinstance(raw, Headers) else Headers(raw)


@dataclasses.dataclass
class LiveJudge:
    """How the exchanges of one session are judged: profiles, version, party, selection and limits.

    ``api_version`` judges everything by one profile (default: the version each request sent, else the
    table's default); ``party`` and ``select`` keep only some findings, as in ``lint``.
    """

    api_version: str | None = None
    party: str = "all"
    select: Sequence[str] = ()
    max_body_bytes: int = ReadLimits.max_body_bytes
    profiles: Profiles = dataclasses.field(default_factory=load_profiles)
    deterministic: bool = False
    """The target answers the same request the same way (the reference server)."""

    def __post_init__(self) -> None:
        if self.api_version is not None:
            self.profiles.get(self.api_version)  # fails early, naming the known versions
        self._wanted = parties(self.party)
        self._base = Context(self.profiles.default, self.profiles, deterministic=self.deterministic)

    def start(self, method: str, url: str, headers: RawHeaders, body: bytes | None, *, file: str | None = None,
              interaction: int | None = None) -> LiveExchange:
        """A new exchange: its request as it was sent (the body whole, or ``None`` when it was too large to keep)."""
        request = HttpRequest(_headers(headers), body, method=method.upper(), url=url)
        return LiveExchange(self, request, file=file, interaction=interaction)

    def stream(self, *, file: str | None = None) -> LiveExchange:
        """An exchange of which only a streamed response is known (bytes fed as they arrive)."""
        exchange = LiveExchange(self, None, file=file, interaction=0)
        exchange.response(200, [("content-type", "text/event-stream")])
        return exchange

    def context(self, exchange: Exchange) -> Context:
        return self._base.with_profile(self.profile(exchange))

    def profile(self, exchange: Exchange) -> Profile:
        return profile_for(exchange, self.profiles, self.api_version)

    def wanted(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings of the selected party and rules."""
        return [f for f in findings if f.party in self._wanted and selected(f.rule, self.select)]

    def sequence(self, exchanges: Sequence[Exchange]) -> list[Finding]:
        """The rules across exchanges (rate-limit windows), per profile, over what a session saw in order."""
        groups: dict[str, list[Exchange]] = {}
        for ex in exchanges:
            if ex.response is not None and endpoint_of(ex) is not None:
                groups.setdefault(self.profile(ex).version, []).append(ex)
        out: list[Finding] = []
        for version, group in groups.items():
            out.extend(check_sequence(group, self._base.with_profile(self.profiles.get(version))))
        return self.wanted(out)


MAX_KEPT_EVENTS = 100_000
"""Events kept for the rules that read a whole stream; past it a stream is judged as a body too large to keep
(a decoded event costs several times its bytes: the byte limit alone would let memory grow sevenfold)."""
_SLICE = 1 << 20
"""The most of one chunk parsed into events at once (bounds the events alive at a time)."""


class LiveExchange:
    """One exchange judged while it passes (see the module docstring). Not thread-safe: one per exchange."""

    def __init__(self, judge: LiveJudge, request: HttpRequest | None, *, file: str | None,
                 interaction: int | None) -> None:
        self.judge = judge
        self.exchange = Exchange(request, None, file=file, interaction=interaction)
        self._body: list[bytes] = []
        self._kept = 0
        self._cut = False
        self._inflate: Inflater | None = None
        self._stream: BlockStream | None = None
        self._sniff = False
        self._validator: StreamValidator | None = None
        self._accumulator: MessageAccumulator | None = None
        self._events: list[StreamEvent] = []
        self._count = 0
        self._oversized_event = False
        self._early: list[Finding] = []
        """The stream grammar's findings so far, as the rules gave them (not yet stamped)."""
        self.findings: list[Finding] | None = None
        """Every finding, once :meth:`finish` was called."""
        self.judged = endpoint_of(self.exchange) is not None
        """Whether the rules apply (a Messages API endpoint); any other exchange is passed over."""

    @property
    def is_stream(self) -> bool:
        return self._stream is not None

    @property
    def body_kept(self) -> bool:
        """The response body is kept whole (not past the limit, decodable)."""
        return not self._cut

    def response(self, status: int, headers: RawHeaders, *, decoded: bool = False) -> None:
        """The response head arrived. ``decoded``: the chunks will come with content-encoding already undone
        (an HTTP library's decoded body), not as they went over the wire."""
        response = HttpResponse(_headers(headers), None, status=status)
        self.exchange.response = response
        encoding = "identity" if decoded else (response.headers.get("content-encoding") or "identity").strip().lower()
        if encoding in INFLATED:
            self._inflate = Inflater(encoding)
        elif encoding != "identity":
            self._cut = True
            self.exchange.notes.append(f"content-encoding {encoding}: passed on, not decoded, not judged")
        if response.content_type == "text/event-stream":
            self._start_stream()
        elif response.content_type in _SSE_SNIFFED:
            self._sniff = True

    def _start_stream(self) -> None:
        self._stream = BlockStream()
        self._validator = StreamValidator(self.judge.profile(self.exchange))
        self._accumulator = MessageAccumulator()

    def feed(self, chunk: bytes) -> list[Finding]:
        """A chunk of the response body, after it was passed on; the findings of the events it completed."""
        if not chunk or not self.judged or (self._cut and self._stream is None):
            return []
        data = self._inflated(chunk) if self._inflate is not None else chunk
        if self._sniff and data:
            self._sniff = False
            if looks_like_sse(data):
                self._start_stream()
        if not self._cut:
            if self._kept + len(data) > self.judge.max_body_bytes:
                self._drop_body()
            else:
                self._body.append(data)
                self._kept += len(data)
        found: list[Finding] = []
        # A slice at a time: however large a chunk a caller hands over, its events are parsed, judged and
        # let go of in bounded batches.
        for start in range(0, len(data), _SLICE):
            if self._stream is None or self._oversized_event:
                break
            raw = self._stream.feed(data[start:start + _SLICE])
            if self._stream.pending > self.judge.max_body_bytes:
                self._oversized_event = True
                self.exchange.notes.append(f"an event longer than {size_text(self.judge.max_body_bytes)}: the "
                                           "stream is judged up to it")
            if raw:
                found.extend(self._judge_events(raw))
        return found

    def _judge_events(self, raw: Sequence[Any]) -> list[Finding]:
        assert self._validator is not None and self._accumulator is not None
        events = parse_events(raw, self._count)
        self._count += len(events)
        self._accumulator.feed(events)
        if not self._cut:
            if len(self._events) + len(events) > MAX_KEPT_EVENTS:
                self._drop_body(f"more than {MAX_KEPT_EVENTS:,} events: every event was judged as it passed, the "
                                "body and events not kept")
            else:
                self._events.extend(events)
        found = self._validator.feed(events)
        if not found:
            return []
        self._early.extend(found)
        return self.judge.wanted(stamped(found, self.exchange, self.judge.profile(self.exchange)))

    def _inflated(self, chunk: bytes) -> bytes:
        # One chunk may inflate to at most the body limit: past it is a bomb (or a body too large to judge).
        assert self._inflate is not None
        try:
            return self._inflate.feed(chunk, self.judge.max_body_bytes)
        except (InflateOverflow, zlib.error) as exc:
            self._inflate = None
            self._drop_body(f"one chunk inflates past {size_text(self.judge.max_body_bytes)}: passed on, not judged"
                            if isinstance(exc, InflateOverflow) else
                            f"the compressed body does not inflate ({exc}): passed on, not judged")
            self._stream = None
            return b""

    def _drop_body(self, why: str | None = None) -> None:
        self._cut = True
        self._body.clear()
        self._events.clear()
        self.exchange.notes.append(why or f"body past {size_text(self.judge.max_body_bytes)}: passed on whole, "
                                          "not kept" + (" (every event was judged)" if self._stream else ""))

    def request_findings(self) -> list[Finding]:
        """What is known of the exchange before its answer's body: the request's findings (the client's)."""
        if not self.judged:
            return []
        return self.judge.wanted(check_exchange(self.exchange, self.judge.context(self.exchange), _REQUEST_SIDE))

    def abandon(self) -> list[Finding]:
        """The client stopped reading before the answer ended (its choice: nobody's fault). What can be judged
        is: the request, and the findings of the events that arrived."""
        return self._partial("the client closed the answer before its end: judged up to there")

    def _partial(self, note: str) -> list[Finding]:
        """An answer that ended before its end: the request side, the transport, and the stream's findings so
        far. The rules that need the whole answer would only restate that it is cut short (no message_stop, a
        body that does not parse), so they do not run: one finding says what happened."""
        if self.findings is not None:
            return self.findings
        if not self.judged:
            self.findings = []
            return self.findings
        ex = self.exchange
        ex.notes.append(note)
        if ex.response is not None:
            ex.response.body = b"".join(self._body) if not self._cut else None
            if self._stream is not None:
                ex.keep_decoded(self._events, None)
        kept = self._early
        self.findings = self.judge.wanted(check_exchange(ex, self.judge.context(ex),
                                                         (*_REQUEST_SIDE, lambda _ex, _ctx: kept)))
        return self.findings

    def finish(self, error: str | None = None, *, stalled: bool = False) -> list[Finding]:
        """The exchange ended (``error``: how its connection broke, if it did); every finding of it."""
        if self.findings is not None:
            return self.findings
        ex = self.exchange
        if not self.judged:
            self.findings = []
            return self.findings
        ex.transport_error = error
        ex.stalled = stalled
        response = ex.response
        if error is not None and not stalled and response is not None:
            return self._partial("the connection broke before the answer ended: judged up to there")
        checks: Sequence[Check] = EXCHANGE_CHECKS
        if response is not None:
            if self._inflate is not None and not self._cut:
                self._body.append(self._inflate.flush())
            response.body = b"".join(self._body) if not self._cut else None
            self._body = []
            if self._stream is not None:
                checks = self._stream_checks()
            elif self._cut:
                note = info(transport.BODY_NOT_JUDGED, ex.notes[-1] if ex.notes else "body not kept",
                            part="response.body")
                checks = (*_REQUEST_SIDE, lambda _ex, _ctx: [note])
        self.findings = self.judge.wanted(check_exchange(ex, self.judge.context(ex), checks))
        return self.findings

    def _stream_checks(self) -> tuple[Check, ...]:
        assert self._stream is not None and self._validator is not None and self._accumulator is not None
        tail_event = self._stream.close() if not self._oversized_event else None
        tail = parse_events([tail_event], self._count)[0] if tail_event is not None else None
        self.exchange.keep_decoded(self._events, self._accumulator.result())
        validator = self._validator

        def live_stream(ex: Exchange, ctx: Context) -> Iterable[Finding]:
            # The grammar already judged every event; this ends it, as stream_grammar ends a recorded one.
            return stream_end(ex, validator, tail)
        return (live_stream, *AFTER_THE_STREAM)

    def head_only(self) -> Exchange:
        """The exchange without its bodies: what the rules across a session's exchanges read (headers, status)."""
        ex = self.exchange
        req, resp = ex.request, ex.response
        return Exchange(HttpRequest(req.headers, None, method=req.method, url=req.url) if req is not None else None,
                        HttpResponse(resp.headers, None, status=resp.status) if resp is not None else None,
                        file=ex.file, interaction=ex.interaction)
