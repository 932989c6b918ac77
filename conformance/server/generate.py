"""Deterministic generation: (seed, request) -> a complete Message plus how to stream it.

No model: text is drawn from a fixed vocabulary by a PRNG seeded from the server
seed and the request body (without ``stream``), so a streamed and a non-streamed
request produce the same message. Each generated piece is one output token, which
makes ``max_tokens`` exact; ``stop_sequences`` cut the text where they first occur.
The stream is derived from the finished message (never generated separately), so
the two cannot disagree.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from conformance.server.tokens import count_input_tokens, count_text

_WORDS = (
    "the reference server answers every request deterministically so that suites can compare "
    "streams with messages and clients can rely on stable output across runs while tokens are "
    "counted one word at a time and nothing here is a real model only a careful simulator of "
    "its contract with blocks events usage and stop reasons"
).split()
_PUNCT = (".", ",", ";", "!", "?")


@dataclasses.dataclass
class Generated:
    """A finished message, and how to stream each of its blocks."""

    message: dict[str, Any]
    start_blocks: list[dict[str, Any]]
    """``content_block`` of each ``content_block_start`` (the empty form of the block)."""
    digest: bytes

    @property
    def deltas(self) -> list[list[dict[str, Any]]]:
        """``deltas[i]`` are the ``delta`` objects of block ``i``, in order (computed on demand: only streams
        need them; their own PRNG keeps the message identical whether or not they are computed)."""
        rng = random.Random(self.digest + b"deltas")
        out: list[list[dict[str, Any]]] = []
        for block in self.message["content"]:
            kind = block["type"]
            if kind == "thinking":
                out.append([{"type": "thinking_delta", "thinking": f} for f in _split(rng, block["thinking"], 24)]
                           + [{"type": "signature_delta", "signature": block["signature"]}])
            elif kind == "text":
                out.append([{"type": "text_delta", "text": f} for f in _split(rng, block["text"], 16)])
            else:
                raw = orjson.dumps(block["input"]).decode()
                out.append([{"type": "input_json_delta", "partial_json": ""}]
                           + [{"type": "input_json_delta", "partial_json": f} for f in _split(rng, raw, 10)])
        return out


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


# -- tool input from a JSON Schema (the subset tools use) ------------------------------------------------

def schema_instance(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value valid against ``schema`` (objects, arrays, scalars, enum/const, any/oneOf, bounds)."""
    if not isinstance(schema, Mapping):
        return {}
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return schema_instance(options[0], rng, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, Mapping):
                merged.update(part)
        return schema_instance(merged, rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else "object")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        raw_props = schema.get("properties")
        props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        out: dict[str, Any] = {}
        for name in required:
            out[name] = schema_instance(props.get(name, {}), rng, depth + 1) if depth < 8 else None
        return out
    if kind == "array":
        n = int(schema.get("minItems", 1 if depth < 8 else 0))
        return [schema_instance(schema.get("items", {}), rng, depth + 1) for _ in range(n)]
    if kind == "integer":
        lo = int(schema.get("minimum", 0))
        hi = int(schema.get("maximum", lo + 100))
        return rng.randint(lo, max(lo, hi))
    if kind == "number":
        flo = float(schema.get("minimum", 0))
        fhi = float(schema.get("maximum", flo + 100))
        return round(rng.uniform(flo, max(flo, fhi)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    word = rng.choice(_WORDS)
    shortest, longest = int(schema.get("minLength", 0)), schema.get("maxLength")
    while len(word) < shortest:
        word += rng.choice(_WORDS)
    return word[:longest] if isinstance(longest, int) else word


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


def generate(seed: int, body: Mapping[str, Any], model: str, input_tokens: int | None = None, *,
             mutant: str | None = None) -> Generated:
    """The complete response to a valid messages request (``input_tokens`` when already counted).

    ``mutant`` names a message contract to break (see mutants.py); ``None`` for the faithful answer.
    """
    digest = request_digest(seed, body)
    rng = random.Random(digest)
    max_tokens = int(body.get("max_tokens", 1024))
    budget = _Budget(max_tokens)
    stops = [s for s in body.get("stop_sequences") or () if isinstance(s, str) and s]
    content: list[dict[str, Any]] = []
    starts: list[dict[str, Any]] = []
    stop_reason, stop_sequence = "end_turn", None

    thinking_budget = _thinking_budget(body)
    if thinking_budget is not None:
        want = min(rng.randint(8, 40), thinking_budget)
        pieces = [p for p in _pieces(rng, want) if budget.take()]
        thought = "".join(pieces)
        signature = base64.b64encode(hashlib.sha256(digest + b"sig").digest() * 2).decode()
        content.append({"type": "thinking", "thinking": thought, "signature": signature})
        starts.append({"type": "thinking", "thinking": "", "signature": ""})

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
            starts.append({"type": "text", "text": ""})

    if stop_reason == "end_turn" and tool is not None and budget.left >= tool_cost:
        budget.left -= tool_cost
        budget.used += tool_cost
        tool_id = make_id("toolu_", digest, "tool")
        content.append({"type": "tool_use", "id": tool_id, "name": tool["name"], "input": tool_input})
        starts.append({"type": "tool_use", "id": tool_id, "name": tool["name"], "input": {}})
        stop_reason = "tool_use"
        if mutant == "tool-use-stop-without-tool":
            content.append({"type": "text", "text": "Done."})
            starts.append({"type": "text", "text": ""})
    elif stop_reason == "end_turn" and budget.left <= 0:
        stop_reason = "max_tokens"

    if mutant == "stop-sequence-unreported" and stop_reason == "stop_sequence":
        stop_sequence = None
    output_tokens = max_tokens + 1 if mutant == "max-tokens-exceeded" else budget.used
    message = {
        "id": make_id("id_" if mutant == "bad-message-id" else "msg_", digest),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        # Sent as null when there is nothing to add, as the real API does: a stream's message_delta
        # carries it too, so the SDKs' accumulated message equals this one key for key.
        "stop_details": None,
        "usage": _usage(body, count_input_tokens(body) if input_tokens is None else input_tokens, output_tokens),
    }
    return Generated(message, starts, digest)


def _usage(body: Mapping[str, Any], input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """The usage a real answer carries. No prompt cache is simulated, so every cache figure is 0 (what the
    API reports for an uncached call); no priority capacity either, so the tier is always standard."""
    geo = body.get("inference_geo")
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens, "service_tier": "standard",
            "inference_geo": geo if isinstance(geo, str) and geo else "global"}
