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


def message_events(gen: Generated, *, ping_every: int = 0) -> list[dict[str, Any]]:
    """The event payloads (``data``) of the stream that accumulates to ``gen.message``."""
    msg = gen.message
    usage = msg["usage"]
    start_usage = {"input_tokens": usage["input_tokens"], "output_tokens": min(1, usage["output_tokens"])}
    start = {**msg, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, (block, deltas) in enumerate(zip(gen.start_blocks, gen.deltas, strict=True)):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        if index == 0:
            # The API sends one ping right after the first block starts.
            events.append(PING)
        events.extend({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)
        events.append({"type": "content_block_stop", "index": index})
    if not gen.start_blocks:
        events.append(PING)
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"]},
                   "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    if ping_every > 0:
        spaced: list[dict[str, Any]] = []
        for i, ev in enumerate(events):
            spaced.append(ev)
            if i and i % ping_every == 0 and ev["type"] != "message_stop":
                spaced.append(PING)
        events = spaced
    return events


def encode_event(payload: dict[str, Any]) -> bytes:
    """One SSE event: ``event: <type>`` then ``data: <json>`` then a blank line."""
    return b"event: " + str(payload["type"]).encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


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
