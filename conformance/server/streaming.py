"""The events of a stream: derived from the finished message, in the vocabulary of the request's version.

The stream is the message cut into events, never generated apart from it, so the two cannot disagree.
What a version's streams may carry comes from its profile: the ``x-known-values`` of the event ``type``
and of the delta ``type`` in ``stream-event.schema.json``. A block whose delta type the version does not
know arrives whole in its ``content_block_start`` (zero deltas, which the API also does); ``ping`` is
sent only where the version knows it; the unknown event a scenario mixes in is named so that the
version does not know it. Which field a delta carries (``text``, ``thinking``, ``partial_json``) is the
server's behaviour, not a schema's, so it is written here.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from conformance.profiles import Profile

if TYPE_CHECKING:
    from conformance.server.behaviour import Behaviour

Event = dict[str, Any]
PING: Event = {"type": "ping"}


def _known_values(schema: Any, *path: str) -> frozenset[str] | None:
    """The ``x-known-values`` at ``path`` in ``schema``; ``None`` when the schema does not list them."""
    node = schema
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    values = node.get("x-known-values") if isinstance(node, Mapping) else None
    return frozenset(str(v) for v in values) if isinstance(values, list) else None


@dataclasses.dataclass(frozen=True, slots=True)
class StreamVocabulary:
    """The event and delta types one version's streams carry (``None``: the schema lists none, so all)."""

    events: frozenset[str] | None
    deltas: frozenset[str] | None

    @classmethod
    def of(cls, profile: Profile) -> StreamVocabulary:
        if not profile.schemas.has("stream_event"):
            return cls(None, None)
        schema = profile.schemas.schema("stream_event")
        return cls(_known_values(schema, "properties", "type"),
                   _known_values(schema, "$defs", "delta", "properties", "type"))

    def knows_event(self, name: str) -> bool:
        return self.events is None or name in self.events

    def knows_delta(self, name: str) -> bool:
        return self.deltas is None or name in self.deltas

    @property
    def unknown_event_type(self) -> str:
        """An event type this version does not know (clients must ignore it)."""
        name = "conformance_future_event"
        while not (self.events is None or name not in self.events):
            name += "_next"
        return name


def _split(rng: random.Random, text: str, max_len: int) -> list[str]:
    """Cut ``text`` into non-empty fragments of 1..max_len characters."""
    sizes = rng.choices(range(1, max_len + 1), k=len(text) // max(1, max_len // 2) + 1)
    parts, i = [], 0
    for n in sizes:
        if i >= len(text):
            break
        parts.append(text[i:i + n])
        i += n
    if i < len(text):
        parts.append(text[i:])
    return parts


def block_stream(block: Mapping[str, Any], rng: random.Random,
                 vocab: StreamVocabulary) -> tuple[dict[str, Any], list[Event]]:
    """(the ``content_block`` of its ``content_block_start``, its deltas) for one finished block."""
    kind = block["type"]
    if kind == "text" and vocab.knows_delta("text_delta"):
        return {"type": "text", "text": ""}, [{"type": "text_delta", "text": f}
                                              for f in _split(rng, block["text"], 16)]
    if kind == "thinking" and vocab.knows_delta("thinking_delta"):
        deltas = [{"type": "thinking_delta", "thinking": f} for f in _split(rng, block["thinking"], 24)]
        if vocab.knows_delta("signature_delta"):
            # The signature arrives last, just before the block stops, as the API sends it.
            return ({"type": "thinking", "thinking": "", "signature": ""},
                    [*deltas, {"type": "signature_delta", "signature": block["signature"]}])
        return {"type": "thinking", "thinking": "", "signature": block["signature"]}, deltas
    if kind == "tool_use" and vocab.knows_delta("input_json_delta"):
        raw = orjson.dumps(block["input"]).decode()
        # The API opens with an empty fragment before the input's JSON.
        return ({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}},
                [{"type": "input_json_delta", "partial_json": f} for f in ["", *_split(rng, raw, 10)]])
    return dict(block), []


def message_events(message: Mapping[str, Any], digest: bytes, vocab: StreamVocabulary, behaviour: Behaviour,
                   *, ping_every: int = 0) -> list[Event]:
    """The event payloads (``data``) of the stream that accumulates to ``message``.

    ``digest`` (of the request) seeds where text is cut into deltas; ``behaviour`` is the server's
    (its ``block_deltas`` and ``stream_events`` seams).
    """
    usage = message["usage"]
    # message_start carries the whole usage (cache figures, tier ...) with the output counted so far.
    start_usage = {**usage, "output_tokens": min(1, usage["output_tokens"])}
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[Event] = [{"type": "message_start", "message": start}]
    ping = vocab.knows_event("ping")
    rng = random.Random(digest + b"deltas")
    for index, block in enumerate(message["content"]):
        opened, deltas = block_stream(block, rng, vocab)
        events.append({"type": "content_block_start", "index": index, "content_block": opened})
        if index == 0 and ping:
            events.append(PING)  # the API sends one ping right after the first block starts
        events.extend({"type": "content_block_delta", "index": index, "delta": d}
                      for d in behaviour.block_deltas(block["type"], deltas))
        events.append({"type": "content_block_stop", "index": index})
    if not message["content"] and ping:
        events.append(PING)
    # message_delta restates every count cumulatively (input, cache, output), as the real API does.
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"],
                             "stop_details": message.get("stop_details")},
                   "usage": {k: v for k, v in usage.items() if type(v) is int}})
    events.append({"type": "message_stop"})
    events = behaviour.stream_events(events)
    if ping_every > 0 and ping:
        spaced: list[Event] = []
        for i, ev in enumerate(events):
            spaced.append(ev)
            if i and i % ping_every == 0 and ev["type"] != "message_stop":
                spaced.append(PING)
        events = spaced
    return events


@dataclasses.dataclass(frozen=True)
class StreamPlan:
    """What to write: the events, and the faults a scenario asked for."""

    events: list[Event]
    error_after: int | None = None
    """Replace everything from event N on by :attr:`error_event`."""
    error_event: Event | None = None
    drop_after: int | None = None
    """Stop writing after N events and break the connection (no terminating chunk)."""
    delay: float = 0.0
    """Seconds to wait before each event (a slow stream)."""
    unknown_event_type: str | None = None
    """Mix in two events of this (unknown) type."""

    def final_events(self) -> list[Event]:
        events = list(self.events)
        if self.unknown_event_type is not None:
            # After message_start (an unknown event first would be a grammar error) and before the end.
            events.insert(1, {"type": self.unknown_event_type, "sequence": 1})
            events.insert(len(events) - 1, {"type": self.unknown_event_type, "sequence": 2})
        if self.error_after is not None and self.error_event is not None:
            events = [*events[:max(1, self.error_after)], self.error_event]
        if self.drop_after is not None:
            events = events[:self.drop_after]
        return events
