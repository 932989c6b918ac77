"""Build the final Message from stream events, the way the official SDKs do.

Mirrors ``accumulate_event`` of the Python SDK (``lib/streaming/_messages.py``)
and ``MessageStream`` of the TypeScript SDK: ``message_start`` gives the
snapshot; ``content_block_start`` adds a block; ``text_delta`` appends text,
``citations_delta`` appends a citation, ``input_json_delta`` fragments are joined
and parsed as the tool input, ``thinking_delta`` appends thinking,
``signature_delta`` sets the signature; ``message_delta`` merges its ``delta``
fields (stop_reason, stop_sequence, and newer ones) and its ``usage`` counts.

Tolerant by design: it never raises, whatever the events. Rules judge the
stream; this only reports what a client would end up holding.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from conformance.exchange import StreamEvent

__all__ = ["MessageAccumulator", "accumulate_message", "join_tool_input"]


def _copy(value: Any) -> Any:
    # orjson round-trip is ~10x faster than deepcopy for parsed JSON; deepcopy for anything else.
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        return copy.deepcopy(value)


def join_tool_input(fragments: Sequence[str]) -> tuple[Any, str | None]:
    """Join ``input_json_delta`` fragments and parse them: ``(value, None)`` or ``(None, why)``.

    An empty join is ``{}``: the API streams a tool call without arguments as no
    fragments, or as one empty fragment.
    """
    joined = "".join(fragments)
    if not joined.strip():
        return {}, None
    try:
        return orjson.loads(joined), None
    except orjson.JSONDecodeError as exc:
        return None, str(exc)


_JOIN_EVERY = 4096
"""Text pieces kept apart before they are joined: a long stream's million short deltas would cost
about 60 bytes of object each while apart, one byte a character once joined."""


class _Text:
    """A block's text (or thinking) as it streams in, joined every few thousand pieces."""

    __slots__ = ("chunks", "pieces")

    def __init__(self, start: Any) -> None:
        self.chunks: list[str] = []
        self.pieces: list[str] = [start] if isinstance(start, str) else []

    def add(self, piece: str) -> None:
        pieces = self.pieces
        pieces.append(piece)
        if len(pieces) >= _JOIN_EVERY:
            self.join()

    def join(self) -> None:
        self.chunks.append("".join(self.pieces))
        self.pieces.clear()

    def value(self) -> str:
        return "".join(self.chunks) + "".join(self.pieces)


class _Block:
    __slots__ = ("block", "json", "text", "thinking")

    def __init__(self, block: dict[str, Any]) -> None:
        self.block = block
        self.text: _Text | None = None
        self.thinking: _Text | None = None
        self.json: list[str] | None = None


def _apply_delta(state: _Block, delta: dict[str, Any]) -> None:
    kind = delta.get("type")
    block = state.block
    if kind == "text_delta":
        piece = delta.get("text")
        if isinstance(piece, str):
            if state.text is None:
                state.text = _Text(block.get("text"))
            state.text.add(piece)
    elif kind == "input_json_delta":
        piece = delta.get("partial_json")
        if isinstance(piece, str):
            if state.json is None:
                state.json = []
            state.json.append(piece)
    elif kind == "thinking_delta":
        piece = delta.get("thinking")
        if isinstance(piece, str):
            if state.thinking is None:
                state.thinking = _Text(block.get("thinking"))
            state.thinking.add(piece)
    elif kind == "signature_delta":
        if "signature" in delta:
            block["signature"] = delta["signature"]
    elif kind == "citations_delta":
        citation = delta.get("citation")
        citations = block.get("citations")
        if not isinstance(citations, list):
            citations = block["citations"] = []
        citations.append(citation)
    # Unknown delta types (newer than this suite) change nothing, as in the SDKs.


def _finish(state: _Block) -> None:
    block = state.block
    if state.text is not None:
        block["text"] = state.text.value()
    if state.thinking is not None:
        block["thinking"] = state.thinking.value()
    if state.json is not None:
        value, problem = join_tool_input(state.json)
        if problem is None:
            block["input"] = value
        # A fragment join that does not parse (a block cut by max_tokens) keeps the
        # start's input, where the SDKs would hold a best-effort partial parse.


def _merge_usage(target: dict[str, Any], usage: dict[str, Any]) -> None:
    for key, value in usage.items():
        # The SDKs copy only counts that are present (not null) in message_delta.
        if value is not None:
            target[key] = value


class MessageAccumulator:
    """:func:`accumulate_message` fed a batch of events at a time (a stream too large to hold)."""

    def __init__(self) -> None:
        self.message: dict[str, Any] | None = None
        self.blocks: dict[int, _Block] = {}
        self.order: list[_Block] = []

    def feed(self, events: Iterable[StreamEvent]) -> None:
        message = self.message
        blocks = self.blocks
        for ev in events:
            p = ev.payload
            if type(p) is not dict:
                continue
            t = p.get("type")
            if t == "content_block_delta":
                state = blocks.get(p.get("index"))  # type: ignore[arg-type]
                delta = p.get("delta")
                if state is not None and type(delta) is dict:
                    # Text is most of every stream: add it here, without a call to _apply_delta.
                    piece = delta.get("text")
                    text = state.text
                    if text is not None and type(piece) is str and delta.get("type") == "text_delta":
                        pieces = text.pieces  # _Text.add, inlined: this line runs once per text delta
                        pieces.append(piece)
                        if len(pieces) >= _JOIN_EVERY:
                            text.join()
                    else:
                        _apply_delta(state, delta)
            elif t == "content_block_start":
                if message is None:
                    continue
                block = p.get("content_block")
                index = p.get("index")
                if type(block) is dict and type(index) is int:
                    state = _Block(_copy(block))
                    blocks[index] = state
                    self.order.append(state)
            elif t == "message_start":
                if message is None and type(p.get("message")) is dict:
                    message = self.message = _copy(p["message"])
            elif t == "message_delta":
                if message is None:
                    continue
                delta = p.get("delta")
                if type(delta) is dict:
                    message.update(delta)
                usage = p.get("usage")
                if type(usage) is dict:
                    current = message.get("usage")
                    if type(current) is not dict:
                        current = message["usage"] = {}
                    _merge_usage(current, usage)

    def result(self) -> dict[str, Any] | None:
        """The Message; ``None`` when there was no usable ``message_start``. Call once, after the last feed."""
        message = self.message
        if message is None:
            return None
        content = message.get("content")
        if type(content) is not list:
            content = message["content"] = []
        for state in self.order:
            _finish(state)
            content.append(state.block)
        return message


def accumulate_message(events: Iterable[StreamEvent]) -> dict[str, Any] | None:
    """The Message a client builds from ``events``; ``None`` when there is no usable ``message_start``."""
    accumulator = MessageAccumulator()
    accumulator.feed(events)
    return accumulator.result()
