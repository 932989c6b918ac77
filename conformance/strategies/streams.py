"""Hypothesis strategies for Messages API streams: valid by construction, and single mutations of them.

    valid_streams(profile=None)   -> list[dict]            event payloads of one valid stream
    sse_streams(profile=None)     -> (list[dict], bytes)    the same, rendered as SSE bytes (LF/CRLF, padding)
    stream_mutations(profile=None)-> StreamMutation               one valid stream broken in exactly one way,
                                                            labelled with the rule id it must trigger

Valid streams: text, tool_use (JSON input split at arbitrary points, empty
fragments included), thinking (then its signature_delta, last), redacted_thinking,
several blocks, ping anywhere (before message_start too), a stop_reason consistent
with the blocks, cumulative usage over one or more message_delta events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from hypothesis import assume
from hypothesis import strategies as st

from conformance.exchange import StreamEvent, parse_events
from conformance.findings import Severity
from conformance.profiles import Profile
from conformance.rules import stream as R
from conformance.sse import ServerSentEvent

__all__ = ["StreamMutation", "render_sse", "sse_streams", "stream_events", "stream_mutations", "valid_streams"]

_WORDS = st.text(alphabet="abcdefghij klmnop\n\"\\é€{}", max_size=12)
_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(alphabet="ab\"{}[],: é", max_size=8))
_TOOL_INPUTS = st.dictionaries(st.text(alphabet="abcxyz_", min_size=1, max_size=6),
                               st.one_of(_JSON_LEAF, st.lists(_JSON_LEAF, max_size=3)), max_size=4)


def _model(profile: Profile | None) -> st.SearchStrategy[str]:
    ids = profile.model_ids if profile is not None else ()
    return st.sampled_from(ids) if ids else st.just("claude-sonnet-4-20250514")


@st.composite
def _split(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut at arbitrary points, empty pieces allowed (the API sends an empty first fragment)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=5)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=False)]


@st.composite
def _block(draw: st.DrawFn, index: int, kind: str) -> list[dict[str, Any]]:
    def start(block: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_start", "index": index, "content_block": block}

    def delta(d: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": d}

    events: list[dict[str, Any]]
    if kind == "text":
        events = [start({"type": "text", "text": ""})]
        events += [delta({"type": "text_delta", "text": t}) for t in draw(st.lists(_WORDS, max_size=4))]
    elif kind in ("tool_use", "server_tool_use"):
        prefix = "toolu_" if kind == "tool_use" else "srvtoolu_"
        block = {"type": kind, "id": prefix + draw(st.text("abc123", min_size=4, max_size=8)),
                 "name": draw(st.sampled_from(["get_weather", "web_search", "calc"])), "input": {}}
        events = [start(block)]
        value = draw(_TOOL_INPUTS)
        # No arguments: the API sends either "{}" or nothing at all.
        braces: bool = draw(st.booleans())
        text = orjson.dumps(value).decode() if value or braces else ""
        events += [delta({"type": "input_json_delta", "partial_json": p}) for p in draw(_split(text))]
    elif kind == "thinking":
        events = [start({"type": "thinking", "thinking": "", "signature": ""})]
        events += [delta({"type": "thinking_delta", "thinking": t}) for t in draw(st.lists(_WORDS, max_size=3))]
        events.append(delta({"type": "signature_delta", "signature": draw(st.text("AbEr0=+/", min_size=4,
                                                                                  max_size=16))}))
    else:
        events = [start({"type": "redacted_thinking", "data": draw(st.text("AbEr0=", min_size=1, max_size=10))})]
    events.append({"type": "content_block_stop", "index": index})
    return events


@st.composite
def valid_streams(draw: st.DrawFn, profile: Profile | None = None, *, max_blocks: int = 4) -> list[dict[str, Any]]:
    """The event payloads (``data`` objects) of one valid stream."""
    if max_blocks < 0:
        raise ValueError(f"valid_streams(max_blocks={max_blocks}): max_blocks must be >= 0")
    kinds = draw(st.lists(st.sampled_from(["text", "tool_use", "thinking", "server_tool_use", "redacted_thinking"]),
                          max_size=max_blocks))
    input_tokens = draw(st.integers(1, 5000))
    output_tokens = draw(st.integers(1, 20))
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_" + draw(st.text("abcXYZ0189", min_size=8, max_size=12)), "type": "message",
        "role": "assistant", "model": draw(_model(profile)), "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}}]
    for i, kind in enumerate(kinds):
        events += draw(_block(i, kind))
    stop_sequence = None
    if kinds and kinds[-1] == "tool_use":
        stop_reason = "tool_use"
    else:
        stop_reason = draw(st.sampled_from(["end_turn", "max_tokens", "stop_sequence"]))
        if stop_reason == "stop_sequence":
            stop_sequence = draw(st.sampled_from(["STOP", "\n\nHuman:"]))
    # One or more message_delta events, usage cumulative (never decreasing).
    for _ in range(draw(st.integers(1, 2))):
        output_tokens += draw(st.integers(0, 50))
        events.append({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                       "usage": {"output_tokens": output_tokens}})
    events.append({"type": "message_stop"})
    for _ in range(draw(st.integers(0, 3))):
        events.insert(draw(st.integers(0, len(events) - 1)), {"type": "ping"})
    return events


def stream_events(items: Sequence[tuple[str | None, Any] | dict[str, Any]]) -> list[StreamEvent]:
    """Events as a rule sees them: ``(name, payload or raw data str)`` pairs, or payload dicts named by type."""
    raw: list[ServerSentEvent] = []
    for item in items:
        name, payload = (item.get("type"), item) if isinstance(item, dict) else item
        data = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        raw.append(ServerSentEvent(data, name))
    return parse_events(raw)


def render_sse(payloads: Sequence[dict[str, Any]], *, eol: str = "\n", pads: Sequence[int] = ()) -> bytes:
    """SSE bytes as the API writes them; ``pads[i]`` spaces before event i's closing brace (real quirk)."""
    out = []
    for i, p in enumerate(payloads):
        data = orjson.dumps(p).decode()
        pad = pads[i] if i < len(pads) else 0
        if pad and data.endswith("}"):
            data = data[:-1] + " " * pad + "}"
        out.append(f"event: {p.get('type')}{eol}data: {data}{eol}{eol}")
    return "".join(out).encode()


@st.composite
def sse_streams(draw: st.DrawFn, profile: Profile | None = None) -> tuple[list[dict[str, Any]], bytes]:
    payloads = draw(valid_streams(profile))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    pads = draw(st.lists(st.integers(0, 12), min_size=len(payloads), max_size=len(payloads)))
    return payloads, render_sse(payloads, eol=eol, pads=pads)


@dataclasses.dataclass(frozen=True)
class StreamMutation:
    """A stream broken in one way: ``rule`` must fire at ``severity``; ``also`` may co-fire (unavoidably)."""

    name: str
    rule: str
    events: list[StreamEvent]
    severity: Severity = Severity.ERROR
    also: frozenset[str] = frozenset()


Items = list[tuple[str | None, Any]]
_Mutator = Callable[[st.DrawFn, Items], "tuple[str, Items, frozenset[str]] | None"]


def _where(items: Items, pred: Callable[[Any], bool]) -> list[int]:
    return [i for i, (_, p) in enumerate(items) if isinstance(p, dict) and pred(p)]


def _of(t: str) -> Callable[[Any], bool]:
    return lambda p: p.get("type") == t


def _block_kind(items: Items, index: int) -> str | None:
    for _, p in items:
        if isinstance(p, dict) and p.get("type") == "content_block_start" and p.get("index") == index:
            return str(p["content_block"]["type"])
    return None


def _deltas(items: Items, kinds: Sequence[str] | None = None) -> list[int]:
    return [i for i in _where(items, _of("content_block_delta"))
            if kinds is None or _block_kind(items, items[i][1]["index"]) in kinds]


def _mutators() -> dict[str, tuple[str, _Mutator]]:
    """name -> (rule it must trigger, mutator). A mutator returns None when the stream does not allow it."""
    tool_json = frozenset({R.TOOL_INPUT_JSON})

    def drop(t: str, rule: str, also: frozenset[str] = frozenset()) -> _Mutator:
        def m(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
            at = _where(it, _of(t))
            if not at:
                return None
            del it[draw(st.sampled_from(at))]
            return rule, it, also
        return m

    def dup(t: str, rule: str) -> _Mutator:
        def m(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
            at = _where(it, _of(t))
            if not at:
                return None
            i = draw(st.sampled_from(at))
            it.insert(i + 1, it[i])
            return rule, it, frozenset()
        return m

    def after_stop(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        it.append(("ping", {"type": "ping"}))
        return R.MESSAGE_STOP, it, frozenset()

    def break_index(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        starts = _where(it, _of("content_block_start"))
        if not starts:
            return None
        old = it[draw(st.sampled_from(starts))][1]["index"]
        # Beyond every real index, so the moved block collides with none.
        new = len(starts) + draw(st.integers(0, 4))
        it = [(n, {**p, "index": new}) if isinstance(p, dict) and p.get("index") == old else (n, p) for n, p in it]
        return R.BLOCK_INDEX, it, frozenset()

    def mismatch_delta(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        at = _deltas(it, ["text", "thinking", "tool_use", "server_tool_use"])
        if not at:
            return None
        i = draw(st.sampled_from(at))
        name, p = it[i]
        kind = _block_kind(it, p["index"])
        wrong = {"type": "input_json_delta", "partial_json": "{}"} if kind in ("text", "thinking") else \
            {"type": "text_delta", "text": "x"}
        it[i] = (name, {**p, "delta": wrong})
        return R.DELTA_TYPE, it, tool_json | {R.ACCUMULATED_MESSAGE, R.SIGNATURE_ORDER}

    def corrupt_json(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        at = _where(it, lambda p: p.get("type") == "ping") + _deltas(it, ["text"])
        bad = draw(st.sampled_from(['{"type": "ping"', "{type: ping}", '{"type":"ping"}}', "", "[1,", "null x"]))
        if at:
            i = draw(st.sampled_from(at))
            it[i] = (it[i][0], bad)
        else:
            it.insert(1, ("ping", bad))
        return R.DATA_JSON, it, frozenset()

    def non_object(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        it.insert(draw(st.integers(1, len(it) - 1)), ("ping", draw(st.sampled_from(["[1, 2]", '"ping"', "42",
                                                                                    "null", "true"]))))
        return R.DATA_JSON, it, frozenset()

    def rename(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        i = draw(st.integers(0, len(it) - 1))
        name, p = it[i]
        others = sorted(R.GRAMMAR_EVENTS - {name or ""})
        it[i] = (draw(st.sampled_from(others)), p)
        return R.EVENT_NAME, it, frozenset()

    def move(frm: int, to: int, it: Items) -> Items:
        item = it.pop(frm)
        it.insert(to if to < frm else to - 1, item)
        return it

    def second_block_open(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        stops = _where(it, _of("content_block_stop"))
        starts = _where(it, _of("content_block_start"))
        if len(starts) < 2:
            return None
        k = draw(st.integers(0, len(starts) - 2))
        return R.BLOCK_ORDER, move(stops[k], starts[k + 1] + 1, it), frozenset()

    def delta_before_stop(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        stops = _where(it, _of("content_block_stop"))
        if not stops:
            return None
        md = _where(it, _of("message_delta"))[0]
        # Not max_tokens: that would make an open tool block the tolerated "cut by max_tokens" case.
        it = [(n, {**p, "delta": {**p["delta"], "stop_reason": "end_turn"}})
              if isinstance(p, dict) and p.get("type") == "message_delta" and p["delta"]["stop_reason"] == "max_tokens"
              else (n, p) for n, p in it]
        return R.MESSAGE_DELTA_ORDER, move(stops[-1], md + 1, it), frozenset()

    def usage_decrease(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        start = it[_where(it, _of("message_start"))[0]][1]["message"]["usage"]["output_tokens"]
        i = draw(st.sampled_from(_where(it, _of("message_delta"))))
        name, p = it[i]
        it[i] = (name, {**p, "usage": {"output_tokens": draw(st.integers(0, start - 1))}})
        return R.USAGE_MONOTONIC, it, frozenset()

    def delta_after_stop(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        at = _deltas(it)
        if not at:
            return None
        i = draw(st.sampled_from(at))
        stop = next(j for j in _where(it, _of("content_block_stop")) if it[j][1]["index"] == it[i][1]["index"])
        return R.DELTA_AFTER_STOP, move(i, stop + 1, it), tool_json

    def foreign_index(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        at = _deltas(it)
        if not at:
            return None
        i = draw(st.sampled_from(at))
        it[i] = (it[i][0], {**it[i][1], "index": 90 + draw(st.integers(0, 9))})
        return R.BLOCK_ORDER, it, tool_json

    def error_not_error(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        cut = draw(st.integers(1, len(it) - 1))
        kind = draw(st.sampled_from(["message", "content_block_start", "text"]))
        it = [*it[:cut], ("error", {"type": "error", "error": {"type": kind, "message": "x"}})]
        return R.ERROR_EVENT, it, frozenset({R.EVENT_SCHEMA})

    def after_error(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        cut = draw(st.integers(1, len(it) - 1))
        it.insert(cut, ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
        return R.ERROR_EVENT, it, frozenset()

    def bad_tool_json(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        at = _deltas(it, ["tool_use", "server_tool_use"])
        if not at:
            return None
        # The block's first fragment: garbage inside a later one could land within a JSON string.
        block = it[draw(st.sampled_from(at))][1]["index"]
        i = next(j for j in at if it[j][1]["index"] == block)
        name, p = it[i]
        garbage = draw(st.sampled_from(["[1]", "{]", "x", '"s"', "}{"]))
        fragment = garbage + p["delta"]["partial_json"]
        it[i] = (name, {**p, "delta": {"type": "input_json_delta", "partial_json": fragment}})
        # "[1]" parses, so the accumulated tool_use input is a list: the message is invalid too.
        return R.TOOL_INPUT_JSON, it, frozenset({R.ACCUMULATED_MESSAGE})

    def no_type(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]]:
        it.insert(draw(st.integers(1, len(it) - 1)), (None, {"index": 0}))
        return R.EVENT_SCHEMA, it, frozenset()

    def thinking_after_signature(draw: st.DrawFn, it: Items) -> tuple[str, Items, frozenset[str]] | None:
        sigs = [i for i in _deltas(it, ["thinking"]) if it[i][1]["delta"]["type"] == "signature_delta"]
        if not sigs:
            return None
        i = draw(st.sampled_from(sigs))
        extra = {**it[i][1], "delta": {"type": "thinking_delta", "thinking": "more"}}
        it.insert(i + 1, ("content_block_delta", extra))
        return R.SIGNATURE_ORDER, it, frozenset()

    return {
        "drop message_start": (R.FIRST_EVENT, drop("message_start", R.FIRST_EVENT)),
        "duplicate message_start": (R.FIRST_EVENT, dup("message_start", R.FIRST_EVENT)),
        "drop message_stop": (R.MESSAGE_STOP, drop("message_stop", R.MESSAGE_STOP)),
        "duplicate message_stop": (R.MESSAGE_STOP, dup("message_stop", R.MESSAGE_STOP)),
        "event after message_stop": (R.MESSAGE_STOP, after_stop),
        "break a block index": (R.BLOCK_INDEX, break_index),
        "duplicate content_block_start": (R.BLOCK_INDEX, dup("content_block_start", R.BLOCK_INDEX)),
        "drop content_block_start": (R.BLOCK_ORDER, drop("content_block_start", R.BLOCK_ORDER,
                                                         frozenset({R.BLOCK_INDEX}))),
        "duplicate content_block_stop": (R.BLOCK_ORDER, dup("content_block_stop", R.BLOCK_ORDER)),
        "mismatch a delta": (R.DELTA_TYPE, mismatch_delta),
        "corrupt the JSON": (R.DATA_JSON, corrupt_json),
        "non-object JSON": (R.DATA_JSON, non_object),
        "rename the event": (R.EVENT_NAME, rename),
        "second block before stop": (R.BLOCK_ORDER, second_block_open),
        "message_delta before stop": (R.MESSAGE_DELTA_ORDER, delta_before_stop),
        "usage decrease": (R.USAGE_MONOTONIC, usage_decrease),
        "delta after stop": (R.DELTA_AFTER_STOP, delta_after_stop),
        "delta for a block never started": (R.BLOCK_ORDER, foreign_index),
        "error event with a non-error type": (R.ERROR_EVENT, error_not_error),
        "event after an error event": (R.ERROR_EVENT, after_error),
        "tool input not a JSON object": (R.TOOL_INPUT_JSON, bad_tool_json),
        "event without a type": (R.EVENT_SCHEMA, no_type),
        "thinking after signature": (R.SIGNATURE_ORDER, thinking_after_signature),
    }


STREAM_MUTATION_NAMES: tuple[str, ...] = tuple(_mutators())
_WARNING_ONLY = {"thinking after signature"}


def stream_mutations(profile: Profile | None = None, *,
                     names: Sequence[str] | None = None) -> st.SearchStrategy[StreamMutation]:
    """One valid stream with one mutation (any of :data:`STREAM_MUTATION_NAMES`, or only ``names``)."""
    chosen = list(names) if names is not None else list(STREAM_MUTATION_NAMES)
    unknown = [n for n in chosen if n not in STREAM_MUTATION_NAMES]
    if unknown or not chosen:
        raise ValueError(f"stream_mutations(names=...): unknown {unknown}; known: {sorted(STREAM_MUTATION_NAMES)}")
    return _mutated_streams(profile, chosen)


@st.composite
def _mutated_streams(draw: st.DrawFn, profile: Profile | None, chosen: list[str]) -> StreamMutation:
    table = _mutators()
    name = draw(st.sampled_from(chosen))
    _, mutate = table[name]
    payloads = draw(valid_streams(profile))
    items: Items = [(p["type"], p) for p in payloads]
    result = mutate(draw, items)
    if result is None:
        # The stream has nothing to break this way (e.g. no blocks): skip the example.
        assume(False)
        raise AssertionError("unreachable")
    rule, items, also = result
    severity = Severity.WARNING if name in _WARNING_ONLY else Severity.ERROR
    return StreamMutation(name, rule, stream_events(items), severity, also)
