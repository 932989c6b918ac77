"""SSE writing: events from a generated message, encoded and cut into arbitrary chunks.

Real traffic arrives in TCP chunks that split lines and events anywhere; clients
that assume one event per read break on it. The writer reproduces that with a
seeded cut of the encoded bytes, so every run is the same and every client
sees boundaries inside ``event:`` lines, ``data:`` JSON and blank lines.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from typing import Any

import orjson

from conformance.server.generate import Generated

PING: dict[str, Any] = {"type": "ping"}


def message_events(gen: Generated, *, ping_every: int = 0, mutant: str | None = None) -> list[dict[str, Any]]:
    """The event payloads (``data``) of the stream that accumulates to ``gen.message``.

    ``mutant`` names a stream contract to break (see mutants.py); ``None`` for the faithful stream.
    """
    msg = gen.message
    usage = msg["usage"]
    # message_start carries the whole usage (cache figures, tier ...) with the output counted so far.
    start_usage = {**usage, "output_tokens": min(1, usage["output_tokens"])}
    if mutant == "usage-decreasing":
        start_usage["output_tokens"] = usage["output_tokens"] + 1
    start = {**msg, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    if mutant == "message-start-twice":
        events.append({"type": "message_start", "message": start})
    # message_delta restates every count cumulatively (input, cache, output), as the real API does.
    message_delta = {"type": "message_delta",
                     "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"],
                               "stop_details": msg.get("stop_details")},
                     "usage": {k: v for k, v in usage.items() if type(v) is int}}
    last = len(gen.start_blocks) - 1
    for position, (block, deltas) in enumerate(zip(gen.start_blocks, gen.deltas, strict=True)):
        index = 2 * position if mutant == "block-index-gap" else position
        deltas = _mutated_deltas(mutant, block["type"], deltas)
        start_event = {"type": "content_block_start", "index": index, "content_block": block}
        if mutant == "overlapping-blocks" and position > 0:
            # Open this block before the previous one's content_block_stop (the last event so far).
            events.insert(len(events) - 1, start_event)
        else:
            events.append(start_event)
        if position == 0:
            # The API sends one ping right after the first block starts.
            events.append(PING)
        delta_events = [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        stop = {"type": "content_block_stop", "index": index}
        if mutant == "delta-after-stop" and block["type"] == "text" and delta_events:
            delta_events.insert(len(delta_events) - 1, stop)
            events.extend(delta_events)
        else:
            events.extend(delta_events)
            if mutant == "early-message-delta" and position == last:
                events.append(message_delta)
            events.append(stop)
    if not gen.start_blocks:
        events.append(PING)
    if not (mutant == "early-message-delta" and gen.start_blocks):
        events.append(message_delta)
    if mutant != "no-message-stop":
        events.append({"type": "message_stop"})
    if ping_every > 0:
        spaced: list[dict[str, Any]] = []
        for i, ev in enumerate(events):
            spaced.append(ev)
            if i and i % ping_every == 0 and ev["type"] != "message_stop":
                spaced.append(PING)
        events = spaced
    return events


def _mutated_deltas(mutant: str | None, block_type: str, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deltas of one block as a delta-level mutant sends them (unchanged for the faithful server)."""
    if mutant == "wrong-delta-type" and block_type == "text":
        return [{"type": "thinking_delta", "thinking": d["text"]} for d in deltas]
    if mutant == "stream-differs" and block_type == "text" and deltas:
        return [*deltas[:-1], {**deltas[-1], "text": deltas[-1]["text"] + " (streamed)"}]
    if mutant == "tool-input-broken" and block_type == "tool_use" and deltas:
        return [*deltas[:-1], {**deltas[-1], "partial_json": deltas[-1]["partial_json"] + "}"}]
    return deltas


def encode_event(payload: dict[str, Any], name: str | None = None) -> bytes:
    """One SSE event: ``event: <type>`` (or ``name``) then ``data: <json>`` then a blank line."""
    event = str(payload["type"]) if name is None else name
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def error_event(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def unknown_event(index: int) -> dict[str, Any]:
    """An event type no client knows: clients must ignore it (forward compatibility)."""
    return {"type": "conformance_future_event", "sequence": index}


def cut_chunks(data: bytes, rng: random.Random, max_chunk: int = 96) -> Iterator[bytes]:
    """Split ``data`` at seeded arbitrary points (1..max_chunk bytes per chunk)."""
    i, n = 0, len(data)
    while i < n:
        step = rng.randint(1, max_chunk)
        yield data[i:i + step]
        i += step


@dataclasses.dataclass(frozen=True)
class StreamPlan:
    """What to write: the events, and the faults a scenario asked for."""

    events: list[dict[str, Any]]
    error_after: int | None = None
    """Replace everything from event N on by one ``error`` event."""
    error_type: str = "overloaded_error"
    error_message: str = "Overloaded"
    drop_after: int | None = None
    """Stop writing after N events and break the connection (no terminating chunk)."""
    delay: float = 0.0
    """Seconds to wait before each event (a slow stream)."""
    unknown_events: bool = False

    def final_events(self) -> list[dict[str, Any]]:
        events = list(self.events)
        if self.unknown_events:
            # After message_start (an unknown event first would be a grammar error) and before the end.
            events.insert(1, unknown_event(1))
            events.insert(len(events) - 1, unknown_event(2))
        if self.error_after is not None:
            events = [*events[:max(1, self.error_after)], error_event(self.error_type, self.error_message)]
        if self.drop_after is not None:
            events = events[:self.drop_after]
        return events
