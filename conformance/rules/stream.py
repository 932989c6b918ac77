"""The stream grammar: one pass of a state machine over the events of a streamed response.

Grammar (the API's, with the real world's allowances)::

    stream  = ping* message_start (ping | block)* message_delta+ message_stop
            | ping* message_start(stop_reason set) (ping | block)* message_delta* message_stop
            | ... error                    (an error event ends a stream anywhere)
    block   = content_block_start(i) content_block_delta(i)* content_block_stop(i)

Blocks are numbered 0, 1, 2 ... and one is open at a time; each delta type
belongs to its block type; ``signature_delta`` comes last in a thinking block;
``message_delta`` usage is cumulative; unknown event, block and delta types are
forward-compatible (info). ``ping`` may come anywhere, even before
``message_start``: the Python SDK drops pings before they reach its accumulator
(``_streaming.py``), the TypeScript SDK ignores them likewise.

Speed: this is the hot path of the product. One pass, dict lookups, no finding
allocated unless something is wrong, ``jsonschema-rs`` ``is_valid`` first and the
pure-Python detail only for an event already known to be invalid.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from conformance.accumulate import accumulate_message, join_tool_input
from conformance.exchange import MISSING, Exchange, StreamEvent
from conformance.findings import Finding, Severity, warning
from conformance.profiles import Profile
from conformance.rules.base import Context, RuleInfo
from conformance.sse import unterminated_event

FIRST_EVENT = "stream.first-event"
EVENT_NAME = "stream.event-name"
DATA_JSON = "stream.data-json"
EVENT_SCHEMA = "stream.event-schema"
BLOCK_INDEX = "stream.block-index"
BLOCK_ORDER = "stream.block-order"
DELTA_AFTER_STOP = "stream.delta-after-stop"
DELTA_TYPE = "stream.delta-type"
SIGNATURE_ORDER = "stream.signature-order"
MESSAGE_DELTA_ORDER = "stream.message-delta-order"
USAGE_MONOTONIC = "stream.usage-monotonic"
MESSAGE_STOP = "stream.message-stop"
ERROR_EVENT = "stream.error-event"
TOOL_INPUT_JSON = "stream.tool-input-json"
ACCUMULATED_MESSAGE = "stream.accumulated-message"
_NOT_GIVEN: Any = object()
UNKNOWN_EVENT = "stream.unknown-event"
UNTERMINATED_EVENT = "stream.unterminated-event"
STALLED = "stream.stalled"

_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
RULES: tuple[RuleInfo, ...] = (
    RuleInfo(FIRST_EVENT, _E, "message_start comes first (after pings) and only once"),
    RuleInfo(EVENT_NAME, _E, "the SSE event: name equals data.type"),
    RuleInfo(DATA_JSON, _E, "every data payload is a JSON object"),
    RuleInfo(EVENT_SCHEMA, _E, "every known event matches the profile's stream_event schema"),
    RuleInfo(BLOCK_INDEX, _E, "content blocks are numbered 0, 1, 2 ... in start order, each started once"),
    RuleInfo(BLOCK_ORDER, _E, "one block open at a time; start before its deltas and stop; stop once"),
    RuleInfo(DELTA_AFTER_STOP, _E, "no delta for a block after its content_block_stop"),
    RuleInfo(DELTA_TYPE, _E, "the delta type belongs to the block type"),
    RuleInfo(SIGNATURE_ORDER, _W, "signature_delta is the last delta of a thinking block"),
    RuleInfo(MESSAGE_DELTA_ORDER, _E, "message_delta comes after every block stopped, before message_stop (unless "
             "message_start already gave the stop_reason)"),
    RuleInfo(USAGE_MONOTONIC, _E, "usage counts never decrease across message_start and message_delta (after a "
             "compaction, summed over usage.iterations)"),
    RuleInfo(MESSAGE_STOP, _E, "message_stop ends the stream, exactly once, with nothing after it"),
    RuleInfo(ERROR_EVENT, _E, "an error event carries a known error type and ends the stream"),
    RuleInfo(TOOL_INPUT_JSON, _E, "the input_json_delta fragments of a block join into a JSON object"),
    RuleInfo(ACCUMULATED_MESSAGE, _E, "the message accumulated from the stream is a valid Message"),
    RuleInfo(UNKNOWN_EVENT, _I, "event, block or delta type unknown to this suite (forward-compatible)"),
    RuleInfo(UNTERMINATED_EVENT, _W, "the last event is followed by the blank line that dispatches it"),
    RuleInfo(STALLED, _E, "a stream keeps coming until it ends (no silence longer than the run's timeout)",
             shrinks=False),
)

GRAMMAR_EVENTS = frozenset({"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                            "message_delta", "message_stop", "ping", "error"})
"""The events whose order the grammar knows. Any other event type the profile lists is checked by its schema."""
_TOOL_DELTAS = frozenset({"input_json_delta"})
_NO_DELTAS: frozenset[str] = frozenset()
_NOT_OPEN: frozenset[str] = frozenset({"<not open>"})
#: block type -> the delta types it may receive. ``*_tool_use`` types take input_json_delta too.
DELTAS_FOR_BLOCK: dict[str, frozenset[str]] = {
    "text": frozenset({"text_delta", "citations_delta"}),
    "thinking": frozenset({"thinking_delta", "signature_delta"}),
    "redacted_thinking": _NO_DELTAS,
    "tool_use": _TOOL_DELTAS,
    "server_tool_use": _TOOL_DELTAS,
    "compaction": frozenset({"compaction_delta"}),
    # Result blocks arrive whole in content_block_start; no delta belongs in them.
    "container_upload": _NO_DELTAS,
}


def _is_tool_block(block_type: str | None) -> bool:
    return block_type is not None and (block_type == "tool_use" or block_type.endswith("_tool_use"))


def _allowed_deltas(block_type: str | None) -> frozenset[str] | None:
    allowed = DELTAS_FOR_BLOCK.get(block_type or "")
    if allowed is None and block_type is not None:
        if _is_tool_block(block_type):
            return _TOOL_DELTAS
        if block_type.endswith("_tool_result"):
            return _NO_DELTAS
    return allowed


def _totals_after_compaction(usage: dict[str, Any], counts: Sequence[str]) -> dict[str, int] | None:
    """Each count summed over ``usage.iterations`` when one of them is a compaction; ``None`` otherwise.

    A compaction's tokens are not in the top-level counts, which then describe only the iterations after
    it (anthropic 2.14 ``BetaIterationsUsage``): message_start's counts (the first iteration's) may exceed
    them, never the totals. A count not given by every iteration has no total (absent).
    """
    entries = usage.get("iterations")
    if type(entries) is not list or not any(type(e) is dict and e.get("type") == "compaction" for e in entries):
        return None
    totals: dict[str, int] = {}
    for key in counts:
        values = [e.get(key) if type(e) is dict else None for e in entries]
        if all(type(v) is int for v in values):
            totals[key] = sum(values)  # type: ignore[arg-type]
    return totals


def _f(severity: Severity, rule: str, message: str, event: int | None, path: str = "$", **kw: Any) -> Finding:
    return Finding(rule, severity, message, path=path, part="stream", event=event, **kw)


class _Grammar:
    """The state of one stream while its events go by; ``out`` collects findings."""

    def __init__(self, profile: Profile | None) -> None:
        self.profile = profile
        schemas = profile.schemas if profile is not None else None
        self.schemas = schemas if schemas is not None and schemas.has("stream_event") else None
        self.event_is_valid = self.schemas.fast_check("stream_event") if self.schemas is not None else None
        # One compiled check per event type (built once per profile): see SchemaSet.dispatched_checks.
        self.event_checks = self.schemas.dispatched_checks("stream_event") if self.schemas is not None else {}
        self.delta_checks = (self.schemas.nested_dispatched_checks("stream_event", "content_block_delta", "delta")
                             if self.schemas is not None else {})
        self.out: list[Finding] = []
        self.started: int | None = None
        self.early_reported = False
        self.stopped_at: int | None = None
        self.error_at: int | None = None
        self.block_types: dict[int, str | None] = {}
        self.open: set[int] = set()
        self.allowed: dict[int, frozenset[str] | None] = {}
        """Open block index -> the delta types it takes (None: unknown block type, any)."""
        self.closed: set[int] = set()
        self.next_index = 0
        self.json_parts: dict[int, list[str]] = {}
        self.signed: set[int] = set()
        self.reported_open: set[int] = set()
        self.message_deltas = 0
        self.stopped_at_start = False
        """Whether message_start's message already had a stop_reason (then no message_delta need follow)."""
        self.stop_reason: Any = None
        self.usage: dict[str, int] = {}
        self.seen_unknown: set[tuple[str, str]] = set()
        self.usage_counts = profile.usage_counts if profile is not None else ()
        self.known_events = GRAMMAR_EVENTS | (profile.stream_event_types if profile is not None else frozenset())
        self.known_deltas = frozenset().union(*DELTAS_FOR_BLOCK.values()) | (
            profile.delta_types if profile is not None else frozenset())

    def unknown(self, kind: str, name: str, event: int, path: str) -> None:
        if (kind, name) not in self.seen_unknown:
            self.seen_unknown.add((kind, name))
            self.out.append(_f(_I, UNKNOWN_EVENT, f"unknown {kind} type {name!r} (tolerated: forward-compatible)",
                               event, path, actual=name))

    def before_start(self, t: str, i: int) -> None:
        if self.started is None and not self.early_reported:
            self.early_reported = True
            self.out.append(_f(_E, FIRST_EVENT, f"{t} before message_start", i, "$.type",
                               expected="message_start", actual=t))

    def run(self, events: Sequence[StreamEvent]) -> None:
        out = self.out
        schemas = self.schemas
        event_is_valid = self.event_is_valid
        event_checks = self.event_checks
        delta_checks = self.delta_checks
        for ev in events:
            p = ev.payload
            i = ev.index
            if type(p) is not dict:
                why = ev.parse_error or f"data is JSON {type(p).__name__}, not an object"
                if p is MISSING:
                    why = f"data is not JSON: {ev.parse_error or 'unparsable'}"
                out.append(_f(_E, DATA_JSON, why, i, actual=ev.data[:200]))
                continue
            t = p.get("type")
            name = ev.name
            if name is not None and name != t:
                out.append(_f(_E, EVENT_NAME, f"event name {name!r} differs from data.type {t!r}", i, "$.type",
                              expected=name, actual=t))
            if self.stopped_at is not None:
                out.append(_f(_E, MESSAGE_STOP, f"{t} event after message_stop (event {self.stopped_at})", i,
                              "$.type", actual=t))
                continue
            if self.error_at is not None:
                out.append(_f(_E, ERROR_EVENT, f"{t} event after the error event {self.error_at} that ended "
                                               "the stream", i, "$.type", actual=t))
                continue
            if t == "content_block_delta":
                self.delta(p, i)
            elif t == "ping":
                pass
            elif t == "content_block_start":
                self.block_start(p, i)
            elif t == "content_block_stop":
                self.block_stop(p, i)
            elif t == "message_delta":
                self.message_delta(p, i)
            elif t == "message_start":
                self.message_start(p, i)
            elif t == "message_stop":
                self.message_stop(i)
            elif t == "error":
                self.error_event(p, i)
            elif isinstance(t, str):
                if t not in self.known_events:
                    self.unknown("event", t, i, "$.type")
                    continue
                # A type the profile lists beyond the grammar's own: its schema still judges it.
            else:
                out.append(_f(_E, EVENT_SCHEMA, "event data has no string 'type'", i, "$.type", actual=t))
                continue
            check = event_checks.get(t, event_is_valid)
            if t == "content_block_delta":
                # Most events are deltas: the branch for their delta type alone (see SchemaSet).
                d = p.get("delta")
                dt = d.get("type") if type(d) is dict else None
                if type(dt) is str:
                    check = delta_checks.get(dt, check)
            if check is not None and schemas is not None and not check(p):
                for v in schemas.violations("stream_event", p):
                    out.append(_f(_E, EVENT_SCHEMA, f"{t}: {v.message}", i, v.path, expected=v.expected,
                                  actual=v.actual))

    def index_of(self, p: dict[str, Any], i: int) -> int | None:
        idx = p.get("index")
        if type(idx) is not int:
            self.out.append(_f(_E, BLOCK_INDEX, f"{p.get('type')} index is not an integer", i, "$.index",
                               actual=idx))
            return None
        return idx

    def delta(self, p: dict[str, Any], i: int) -> None:
        if self.started is None:
            self.before_start("content_block_delta", i)
        idx = p.get("index")
        if type(idx) is not int:
            self.index_of(p, i)
            return
        allowed = self.allowed.get(idx, _NOT_OPEN)
        if allowed is _NOT_OPEN:
            if idx in self.closed:
                self.out.append(_f(_E, DELTA_AFTER_STOP, f"delta for block {idx} after its content_block_stop",
                                   i, "$.index", actual=idx))
            else:
                self.out.append(_f(_E, BLOCK_ORDER, f"delta for block {idx}, which was never started", i,
                                   "$.index", actual=idx))
            return
        delta = p.get("delta")
        dtype = delta.get("type") if type(delta) is dict else None
        if allowed is None:
            if dtype not in self.known_deltas and isinstance(dtype, str):
                self.unknown("delta", dtype, i, "$.delta.type")
            # An unknown block type may take any delta: forward-compatible.
            return
        btype = self.block_types[idx]
        if dtype not in allowed:
            if dtype in self.known_deltas:
                self.out.append(_f(_E, DELTA_TYPE, f"{dtype} in a {btype} block (allowed: {sorted(allowed)})",
                                   i, "$.delta.type", expected=sorted(allowed), actual=dtype))
            elif isinstance(dtype, str):
                self.unknown("delta", dtype, i, "$.delta.type")
            return
        if dtype == "input_json_delta":
            piece = delta.get("partial_json")  # type: ignore[union-attr]
            if isinstance(piece, str):
                self.json_parts.setdefault(idx, []).append(piece)
        elif btype == "thinking":
            if idx in self.signed:
                self.out.append(_f(_W, SIGNATURE_ORDER, f"{dtype} after the signature_delta of thinking block "
                                                        f"{idx}", i, "$.delta.type", actual=dtype))
            if dtype == "signature_delta":
                self.signed.add(idx)

    def block_start(self, p: dict[str, Any], i: int) -> None:
        if self.started is None:
            self.before_start("content_block_start", i)
        idx = self.index_of(p, i)
        if idx is None:
            return
        block = p.get("content_block")
        btype = block.get("type") if type(block) is dict else None
        if idx in self.block_types:
            self.out.append(_f(_E, BLOCK_INDEX, f"block {idx} started twice", i, "$.index", actual=idx))
            return
        if idx != self.next_index:
            self.out.append(_f(_E, BLOCK_INDEX, f"block index {idx} where {self.next_index} was next", i,
                               "$.index", expected=self.next_index, actual=idx))
        if self.open:
            still = sorted(self.open)
            self.out.append(_f(_E, BLOCK_ORDER, f"block {idx} started while block {still[0]} is still open "
                                                "(no content_block_stop)", i, "$.index", actual=idx))
        self.next_index = max(self.next_index, idx + 1)
        self.block_types[idx] = btype
        self.open.add(idx)
        self.allowed[idx] = _allowed_deltas(btype)
        if isinstance(btype, str) and _allowed_deltas(btype) is None:
            self.unknown("content block", btype, i, "$.content_block.type")

    def block_stop(self, p: dict[str, Any], i: int) -> None:
        if self.started is None:
            self.before_start("content_block_stop", i)
        idx = self.index_of(p, i)
        if idx is None:
            return
        if idx not in self.open:
            what = "stopped twice" if idx in self.closed else "stopped but never started"
            self.out.append(_f(_E, BLOCK_ORDER, f"block {idx} {what}", i, "$.index", actual=idx))
            return
        self.open.discard(idx)
        del self.allowed[idx]
        self.closed.add(idx)
        parts = self.json_parts.pop(idx, None)
        if parts is not None:
            self.check_tool_input(idx, parts, i, cut=False)

    def check_tool_input(self, idx: int, parts: list[str], i: int | None, *, cut: bool) -> None:
        value, problem = join_tool_input(parts)
        if problem is None and type(value) is dict:
            return
        joined = "".join(parts)
        why = f"does not parse ({problem})" if problem is not None else f"is JSON {type(value).__name__}"
        if cut:
            self.out.append(_f(_W, TOOL_INPUT_JSON, f"tool input of block {idx}, cut by max_tokens, {why}", i,
                               actual=joined[:200]))
        else:
            self.out.append(_f(_E, TOOL_INPUT_JSON, f"input_json_delta fragments of block {idx} {why}, not a "
                                                    "JSON object", i, actual=joined[:200]))

    def cut_allowed(self, idx: int) -> bool:
        # Real API: a tool_use block cut by max_tokens may end without content_block_stop.
        return self.stop_reason == "max_tokens" and _is_tool_block(self.block_types.get(idx))

    def message_start(self, p: dict[str, Any], i: int) -> None:
        if self.started is not None:
            self.out.append(_f(_E, FIRST_EVENT, f"second message_start (first was event {self.started})", i,
                               "$.type"))
            return
        self.started = i
        message = p.get("message")
        # Programmatic tool calling: message_start may carry the whole answer (content, stop_reason), with no
        # message_delta after it (recorded: a tool_use called from code execution, then message_stop).
        self.stopped_at_start = type(message) is dict and message.get("stop_reason") is not None
        usage = message.get("usage") if type(message) is dict else None
        if type(usage) is dict:
            for key in self.usage_counts:
                value = usage.get(key)
                if type(value) is int:
                    self.usage[key] = value

    def message_delta(self, p: dict[str, Any], i: int) -> None:
        if self.started is None:
            self.before_start("message_delta", i)
        delta = p.get("delta")
        if type(delta) is dict and "stop_reason" in delta:
            self.stop_reason = delta["stop_reason"]
        self.message_deltas += 1
        for idx in sorted(self.open - self.reported_open):
            self.reported_open.add(idx)
            if self.cut_allowed(idx):
                self.out.append(_f(_W, MESSAGE_DELTA_ORDER, f"message_delta while tool block {idx} is open "
                                                            "(cut by max_tokens, tolerated)", i))
            else:
                self.out.append(_f(_E, MESSAGE_DELTA_ORDER, f"message_delta while block {idx} is still open "
                                                            "(no content_block_stop before it)", i))
        usage = p.get("usage")
        if type(usage) is dict:
            seen = self.usage
            totals = _totals_after_compaction(usage, self.usage_counts)
            for key in self.usage_counts:
                value = usage.get(key)
                if type(value) is not int:
                    continue
                before = seen.get(key)
                now = value if totals is None else totals.get(key)
                if before is not None and now is not None and now < before:
                    # A refusal withdraws the output, and its final usage may restate the counts
                    # (SDK fixtures refusal_response.txt, stream-a-toolrefusal.sse): tolerated.
                    sev, why = (_W, " (at a refusal, tolerated)") if self.stop_reason == "refusal" else (_E, "")
                    if totals is not None:
                        why = " (summed over usage.iterations, after a compaction)" + why
                    self.out.append(_f(sev, USAGE_MONOTONIC, f"usage.{key} fell from {before} to {now}{why}", i,
                                       f"$.usage.{key}", expected=f">= {before}", actual=now))
                seen[key] = value

    def message_stop(self, i: int) -> None:
        if self.started is None:
            self.before_start("message_stop", i)
        self.stopped_at = i
        if self.message_deltas == 0 and self.started is not None and not self.stopped_at_start:
            self.out.append(_f(_W, MESSAGE_DELTA_ORDER, "message_stop without a message_delta before it "
                                                        "(no stop_reason, no final usage)", i))
        for idx in sorted(self.open - self.reported_open):
            sev = _W if self.cut_allowed(idx) else _E
            self.out.append(_f(sev, BLOCK_ORDER, f"block {idx} never stopped before message_stop", i))

    def error_event(self, p: dict[str, Any], i: int) -> None:
        self.error_at = i
        err = p.get("error")
        if type(err) is not dict:
            self.out.append(_f(_E, ERROR_EVENT, "error event without an 'error' object", i, "$.error",
                               actual=err))
            return
        etype = err.get("type")
        if not isinstance(etype, str):
            self.out.append(_f(_E, ERROR_EVENT, "error event whose error.type is not a string", i,
                               "$.error.type", actual=etype))
        elif self.profile is not None and self.profile.error_for_type(etype) is not None:
            return
        elif etype.endswith("_error"):
            self.out.append(_f(_W, ERROR_EVENT, f"error type {etype!r} is not one of version "
                                                f"{self.profile.version if self.profile else '?'}'s error types", i,
                               "$.error.type", actual=etype))
        else:
            known = sorted(e.type for e in self.profile.errors) if self.profile is not None else None
            self.out.append(_f(_E, ERROR_EVENT, f"error event with {etype!r}, which is not an error type", i,
                               "$.error.type", expected=known, actual=etype))

    def finish(self, count: int, message: Callable[[], Any]) -> None:
        """End of stream after ``count`` events; ``message`` builds the accumulated Message if it is needed."""
        if not count:
            self.out.append(_f(_E, FIRST_EVENT, "stream has no events", None))
            return
        if self.stopped_at is None and self.error_at is None:
            self.out.append(_f(_E, MESSAGE_STOP, "stream ended without message_stop (and without an error event)",
                               None))
        for idx in sorted(self.open):
            parts = self.json_parts.get(idx)
            if parts is not None and self.cut_allowed(idx):
                self.check_tool_input(idx, parts, None, cut=True)
        if self.stopped_at is None or self.error_at is not None or self.started is None:
            return
        profile = self.profile
        if profile is None or not profile.schemas.has("message"):
            return
        accumulated = message()
        if accumulated is None or profile.schemas.is_valid("message", accumulated):
            return
        for v in profile.schemas.violations("message", accumulated):
            self.out.append(Finding(ACCUMULATED_MESSAGE, _E, f"accumulated message: {v.message}", path=v.path,
                                    part="message", expected=v.expected, actual=v.actual))


def check_stream_events(events: Sequence[StreamEvent], profile: Profile | None,
                        accumulated: Any = _NOT_GIVEN) -> list[Finding]:
    """Every stream-grammar finding for ``events`` (``profile`` ``None``: no schema or error-table checks).

    ``accumulated`` is the message already built from these events (e.g. ``Exchange.accumulated``),
    so the hot path does not build it twice.
    """
    grammar = _Grammar(profile)
    grammar.run(events)
    grammar.finish(len(events), lambda: accumulate_message(events) if accumulated is _NOT_GIVEN else accumulated)
    return grammar.out


MAX_FINDINGS_PER_RULE = 100
"""Findings one rule may report about one stream; beyond, they are counted in one closing finding."""


class StreamValidator:
    """The stream grammar fed a batch of events at a time, for a stream too large to hold at once.

    Keeps only the grammar's state and at most :data:`MAX_FINDINGS_PER_RULE` findings per rule: a
    capture of millions of broken events reports the first hundred of each kind, then a count.
    """

    def __init__(self, profile: Profile | None) -> None:
        self._grammar = _Grammar(profile)
        self._kept: list[Finding] = []
        self._per_rule: dict[str, int] = {}
        self._first_cut: dict[str, Finding] = {}
        self.count = 0
        """Events fed so far."""

    def feed(self, events: Sequence[StreamEvent]) -> list[Finding]:
        """Judge the next events; returns the findings they brought (a stream judged live reports them at once)."""
        self._grammar.run(events)
        self.count += len(events)
        return self._collect()

    def finish(self, message: Callable[[], Any]) -> list[Finding]:
        """The findings, once every event was fed; ``message`` builds the accumulated Message if needed."""
        self._grammar.finish(self.count, message)
        self._collect()
        for rule, first in self._first_cut.items():
            more = self._per_rule[rule] - MAX_FINDINGS_PER_RULE
            self._kept.append(_f(first.severity, rule, f"{more} more {rule} findings in this stream, not listed "
                                                       f"(the next was at event {first.event})", first.event))
        return self._kept

    def _collect(self) -> list[Finding]:
        start = len(self._kept)
        for finding in self._grammar.out:
            seen = self._per_rule.get(finding.rule, 0) + 1
            self._per_rule[finding.rule] = seen
            if seen <= MAX_FINDINGS_PER_RULE:
                self._kept.append(finding)
            elif finding.rule not in self._first_cut:
                self._first_cut[finding.rule] = finding
        self._grammar.out.clear()
        return self._kept[start:]


def recovered_tail(exchange: Exchange, index: int) -> StreamEvent | None:
    """The last event of a body that lacks its final blank line (WHATWG discards it), as event ``index``.

    For a stream read from an event source, call it after a whole pass over the events."""
    if exchange.event_source is not None:
        ev = exchange.event_source.discarded  # known after a whole pass over the source
    elif exchange.raw_events is not None or exchange.response is None or not exchange.response.body:
        return None
    elif exchange.response.body.endswith((b"\n\n", b"\r\r", b"\r\n\r\n", b"\n\r\n")):
        return None
    else:
        ev = unterminated_event(exchange.response.body)
    if ev is None:
        return None
    try:
        return StreamEvent(index, ev.event, ev.data, orjson.loads(ev.data))
    except orjson.JSONDecodeError as exc:
        return StreamEvent(index, ev.event, ev.data, MISSING, str(exc))


def stream_grammar(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    """The whole stream grammar in one pass (see the module docstring), a batch of events at a time."""
    if not exchange.is_stream:
        return
    validator = StreamValidator(ctx.profile)
    for batch in exchange.event_batches():
        validator.feed(batch)
    yield from stream_end(exchange, validator, recovered_tail(exchange, validator.count))


def stream_end(exchange: Exchange, validator: StreamValidator, tail: StreamEvent | None) -> Iterator[Finding]:
    """What is known once every event of ``exchange`` went through ``validator``: a stall, an unterminated
    last event (``tail``, see :func:`recovered_tail`) and the findings of the stream's end.

    Shared by :func:`stream_grammar` and a stream judged live, event by event, as it passes
    (:mod:`conformance.live`)."""
    if exchange.stalled:
        last = validator.count - 1
        after = f"after event {last}" if last >= 0 else "before its first event"
        yield Finding(STALLED, _E, f"the stream stalled {after}: {exchange.transport_error}", part="stream",
                      event=last if last >= 0 else None, actual=exchange.transport_error)
    if tail is None:
        yield from validator.finish(lambda: exchange.accumulated)
        return
    yield warning(UNTERMINATED_EVENT, f"stream ended without the blank line after its last event "
                                      f"({tail.name or tail.type}); a WHATWG client drops that event",
                  part="stream", event=tail.index)
    validator.feed([tail])
    yield from validator.finish(lambda: accumulate_message(itertools.chain(exchange.iter_events(), [tail])))


CHECKS = (stream_grammar,)

__all__ = ["CHECKS", "DELTAS_FOR_BLOCK", "GRAMMAR_EVENTS", "MAX_FINDINGS_PER_RULE", "RULES", "StreamValidator",
           "check_stream_events", "recovered_tail", "stream_end", "stream_grammar"]
