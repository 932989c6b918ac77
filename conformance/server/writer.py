"""SSE writing: events encoded and cut into arbitrary chunks, with the scripted faults of a plan.

Real traffic arrives in TCP chunks that split lines and events anywhere; clients that assume one
event per read break on it. The writer reproduces that with a seeded cut of the encoded bytes, so
every run is the same and every client sees boundaries inside ``event:`` lines, ``data:`` JSON and
blank lines.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import orjson

from conformance.server.state import ConnectionDropped
from conformance.server.streaming import StreamPlan

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"


def encode_event(payload: Mapping[str, Any], name: str) -> bytes:
    """One SSE event: ``event: <name>`` then ``data: <json>`` then a blank line."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def cut_chunks(data: bytes, rng: random.Random, max_chunk: int = 96) -> Iterator[bytes]:
    """Split ``data`` at seeded arbitrary points (1..max_chunk bytes per chunk)."""
    i, n = 0, len(data)
    while i < n:
        step = rng.randint(1, max_chunk)
        yield data[i:i + step]
        i += step


def _event_type(payload: Mapping[str, Any]) -> str:
    return str(payload["type"])


async def write_stream(plan: StreamPlan, rng: random.Random, chunking: bool,
                       event_name: Callable[[Mapping[str, Any]], str] = _event_type) -> AsyncIterator[bytes]:
    """Write the plan's events; with chunking, cuts fall anywhere (leftovers travel with the next event).

    ``event_name`` names each event's ``event:`` line (the server's ``event_name`` seam).
    """
    pending = b""
    for payload in plan.final_events():
        if plan.delay:
            await asyncio.sleep(plan.delay)
        pending += encode_event(payload, event_name(payload))
        if not chunking:
            yield pending
            pending = b""
            continue
        pieces = list(cut_chunks(pending, rng, 256))
        # Hold back the last piece so a chunk can end mid-event and continue with the next one.
        for piece in pieces[:-1]:
            yield piece
        pending = pieces[-1] if pieces else b""
    if plan.drop_after is not None:
        if len(pending) > 1:
            yield pending[: len(pending) // 2]
        raise ConnectionDropped("scripted: connection dropped mid-stream")
    if pending:
        yield pending
