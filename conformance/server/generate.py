"""Deterministic generation: (seed, request) -> a complete Message plus how to stream it.

No model: text is drawn from a fixed vocabulary by a PRNG seeded from the server
seed and the request body (without ``stream``), so a streamed and a non-streamed
request produce the same message. Each generated piece is one output token, which
makes ``max_tokens`` exact; ``stop_sequences`` cut the text where they first occur.
The stream is derived from the finished message (streaming.py, never generated
separately), so the two cannot disagree.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from conformance.server.instances import schema_instance
from conformance.server.tokens import count_input_tokens, count_text

_WORDS = (
    "the reference server answers every request deterministically so that suites can compare "
    "streams with messages and clients can rely on stable output across runs while tokens are "
    "counted one word at a time and nothing here is a real model only a careful simulator of "
    "its contract with blocks events usage and stop reasons"
).split()
_PUNCT = (".", ",", ";", "!", "?")


@dataclasses.dataclass(frozen=True, slots=True)
class Generated:
    """A finished message, and the digest of the request it answers (it seeds how the message streams)."""

    message: dict[str, Any]
    digest: bytes


def request_digest(seed: int, body: Mapping[str, Any]) -> bytes:
    canonical = {k: v for k, v in body.items() if k != "stream"}
    return hashlib.sha256(str(seed).encode() + b"\0" + orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).digest()


_NO_SYMBOLS = bytes.maketrans(b"+/", b"Xz")


def make_id(prefix: str, digest: bytes, salt: str = "") -> str:
    """``msg_01`` + 24 alphanumerics, like the API's ids (base64 of a hash with the two symbols swapped)."""
    h = hashlib.blake2b(digest + salt.encode(), digest_size=18).digest()
    return prefix + "01" + base64.b64encode(h).translate(_NO_SYMBOLS).decode()


class _Budget:
    def __init__(self, max_tokens: int) -> None:
        self.left = max_tokens
        self.used = 0

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.used += 1
        return True


_SPACED = tuple(" " + w for w in _WORDS)


def _pieces(rng: random.Random, count: int) -> list[str]:
    """``count`` one-token pieces: words (with their leading space) and now and then a punctuation mark."""
    if count <= 0:
        return []
    out = rng.choices(_SPACED, k=count)
    out[0] = out[0][1:].capitalize()
    if count > 8:
        # About one piece in eight is punctuation: a seeded stride keeps it cheap.
        for i in range(rng.randint(2, 8), count, rng.randint(6, 10)):
            out[i] = _PUNCT[i % len(_PUNCT)]
    return out


def _text_block(rng: random.Random, budget: _Budget, stop_sequences: Sequence[str]) -> tuple[str, str | None]:
    """Generate text token by token; returns (text, the stop sequence that ended it or None)."""
    wanted = rng.randint(12, 60)
    pieces = _pieces(rng, wanted)
    if stop_sequences and rng.random() < 0.5:
        # Let the "model" emit a stop sequence sometimes, so the cut is exercised.
        pieces.insert(rng.randint(1, len(pieces)), rng.choice(list(stop_sequences)))
    if not stop_sequences:
        taken = min(len(pieces), budget.left)
        budget.left -= taken
        budget.used += taken
        return "".join(pieces[:taken]), None
    text = ""
    for piece in pieces:
        if not budget.take():
            break
        text += piece
        hits = [(text.find(s), s) for s in stop_sequences if s in text]
        if hits:
            pos, seq = min(hits)
            return text[:pos], seq
    return text, None


def _chosen_tool(rng: random.Random, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tools = [t for t in body.get("tools") or () if isinstance(t, Mapping) and "name" in t]
    # Server tools (web_search ...) carry a "type" and no input_schema: the simulator never calls them.
    tools = [t for t in tools if "input_schema" in t]
    if not tools:
        return None
    raw_choice = body.get("tool_choice")
    choice: Mapping[str, Any] = raw_choice if isinstance(raw_choice, Mapping) else {"type": "auto"}
    kind = choice.get("type", "auto")
    if kind == "none":
        return None
    if kind == "tool":
        return next((t for t in tools if t["name"] == choice.get("name")), None)
    if kind == "any":
        return rng.choice(tools)
    return rng.choice(tools) if rng.random() < 0.6 else None


def _thinking_budget(body: Mapping[str, Any]) -> int | None:
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive"):
        budget = thinking.get("budget_tokens")
        return int(budget) if isinstance(budget, int) else 1024
    return None


def generate(seed: int, body: Mapping[str, Any], model: str, input_tokens: int | None = None) -> Generated:
    """The complete response to a valid messages request (``input_tokens`` when already counted)."""
    digest = request_digest(seed, body)
    rng = random.Random(digest)
    max_tokens = int(body.get("max_tokens", 1024))
    budget = _Budget(max_tokens)
    stops = [s for s in body.get("stop_sequences") or () if isinstance(s, str) and s]
    content: list[dict[str, Any]] = []
    stop_reason, stop_sequence = "end_turn", None

    thinking_budget = _thinking_budget(body)
    if thinking_budget is not None:
        want = min(rng.randint(8, 40), thinking_budget)
        pieces = [p for p in _pieces(rng, want) if budget.take()]
        thought = "".join(pieces)
        signature = base64.b64encode(hashlib.sha256(digest + b"sig").digest() * 2).decode()
        content.append({"type": "thinking", "thinking": thought, "signature": signature})

    tool = _chosen_tool(rng, body)
    forced = isinstance(body.get("tool_choice"), Mapping) and body["tool_choice"].get("type") in ("any", "tool")
    tool_input: Any = None
    if tool is not None:
        tool_input = schema_instance(tool.get("input_schema", {}), rng)
    tool_cost = 0 if tool is None else count_text(orjson.dumps(tool_input).decode()) + 1

    if budget.left > 0 and not (forced and tool is not None and budget.left >= tool_cost):
        text, stop_sequence = _text_block(rng, budget, stops)
        if stop_sequence is not None:
            stop_reason = "stop_sequence"
        if text or not content:
            content.append({"type": "text", "text": text})

    if stop_reason == "end_turn" and tool is not None and budget.left >= tool_cost:
        budget.left -= tool_cost
        budget.used += tool_cost
        tool_id = make_id("toolu_", digest, "tool")
        content.append({"type": "tool_use", "id": tool_id, "name": tool["name"], "input": tool_input})
        stop_reason = "tool_use"
    elif stop_reason == "end_turn" and budget.left <= 0:
        stop_reason = "max_tokens"

    message = {
        "id": make_id("msg_", digest),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        # Sent as null when there is nothing to add, as the real API does: a stream's message_delta
        # carries it too, so the SDKs' accumulated message equals this one key for key.
        "stop_details": None,
        "usage": _usage(body, count_input_tokens(body) if input_tokens is None else input_tokens, budget.used),
    }
    return Generated(message, digest)


def _usage(body: Mapping[str, Any], input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """The usage a real answer carries. No prompt cache is simulated, so every cache figure is 0 (what the
    API reports for an uncached call); no priority capacity either, so the tier is always standard."""
    geo = body.get("inference_geo")
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens, "service_tier": "standard",
            "inference_geo": geo if isinstance(geo, str) and geo else "global"}
