"""Generation: determinism, stop sequences, max_tokens, tools, thinking, streams == messages, chunking."""

from __future__ import annotations

import asyncio
import random

import jsonschema
import orjson
import pytest

from conformance.exchange import parse_events
from conformance.profiles import load_profiles
from conformance.server import ServerConfig
from conformance.server.behaviour import FAITHFUL
from conformance.server.generate import generate
from conformance.server.streaming import StreamPlan, StreamVocabulary, message_events
from conformance.server.writer import write_stream
from conformance.sse import decode_sse
from tests.server.support import body, exchange_of, findings_of, headers

WEATHER = {"name": "get_weather", "description": "Current weather",
           "input_schema": {"type": "object", "required": ["city", "unit", "days"],
                            "properties": {"city": {"type": "string", "minLength": 3},
                                           "unit": {"enum": ["c", "f"]},
                                           "days": {"type": "integer", "minimum": 1, "maximum": 7},
                                           "detail": {"type": "boolean"}}}}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}


def _post(client, req, version="2023-06-01"):
    r = client.post("/v1/messages", headers=headers(version), json=req)
    assert r.status_code == 200, r.text
    assert findings_of(r) == [], findings_of(r)
    return r


def test_same_request_same_message_and_the_seed_matters(client, make_client):
    a = _post(client, body("deterministic?")).json()
    b = _post(client, body("deterministic?")).json()
    assert a == b
    other = make_client(ServerConfig(seed=7)).post("/v1/messages", headers=headers(), json=body("deterministic?"))
    assert other.json()["content"] != a["content"]
    assert _post(client, body("something else")).json()["content"] != a["content"]


def test_stop_sequences_are_honoured(client):
    seen = {"stop_sequence": 0, "end_turn": 0}
    for i in range(24):
        stops = ["STOP", " the"]
        msg = _post(client, body(f"prompt {i}", stop_sequences=stops)).json()
        text = "".join(b["text"] for b in msg["content"] if b["type"] == "text")
        assert not any(s in text for s in stops)
        if msg["stop_reason"] == "stop_sequence":
            assert msg["stop_sequence"] in stops
        else:
            assert msg["stop_sequence"] is None
        seen[msg["stop_reason"]] = seen.get(msg["stop_reason"], 0) + 1
    assert seen["stop_sequence"] > 0 and seen["end_turn"] > 0


@pytest.mark.parametrize("max_tokens", [1, 2, 5])
def test_max_tokens_is_honoured(client, max_tokens):
    msg = _post(client, body("long answer please", max_tokens=max_tokens)).json()
    assert msg["stop_reason"] == "max_tokens"
    assert msg["usage"]["output_tokens"] == max_tokens


def test_output_tokens_never_exceed_max_tokens(client):
    for mt in (3, 10, 30, 200):
        msg = _post(client, body("count", max_tokens=mt)).json()
        assert msg["usage"]["output_tokens"] <= mt
        if msg["stop_reason"] == "max_tokens":
            assert msg["usage"]["output_tokens"] == mt


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
def test_required_tool_choice_gives_a_valid_tool_use(client, choice):
    msg = _post(client, body("weather in Paris?", tools=[TIME, WEATHER], tool_choice=choice)).json()
    assert msg["stop_reason"] == "tool_use"
    block = msg["content"][-1]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_")
    tool = {"get_weather": WEATHER, "get_time": TIME}[block["name"]]
    if choice["type"] == "tool":
        assert block["name"] == "get_weather"
    jsonschema.validate(block["input"], tool["input_schema"])


def test_tool_choice_none_never_calls_and_auto_sometimes_does(client):
    for i in range(6):
        msg = _post(client, body(f"q{i}", tools=[WEATHER], tool_choice={"type": "none"})).json()
        assert all(b["type"] != "tool_use" for b in msg["content"])
    reasons = {_post(client, body(f"q{i}", tools=[WEATHER])).json()["stop_reason"] for i in range(12)}
    assert reasons == {"tool_use", "end_turn"}


def test_thinking_gives_a_signed_thinking_block_first(client):
    req = body("think", max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 2000})
    msg = _post(client, req).json()
    first = msg["content"][0]
    assert first["type"] == "thinking" and first["thinking"] and first["signature"]
    assert msg["content"][1]["type"] == "text"


@pytest.mark.parametrize("extra", [
    {},
    {"stop_sequences": ["the"]},
    {"max_tokens": 7},
    {"tools": [WEATHER], "tool_choice": {"type": "any"}},
    {"tools": [WEATHER, TIME]},
    {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
])
@pytest.mark.parametrize("version", ["2023-06-01", "2026-10-21"])
def test_stream_accumulates_to_the_non_streamed_message(client, extra, version):
    req = body("same message either way", **extra)
    plain = _post(client, req, version).json()
    streamed = _post(client, {**req, "stream": True}, version)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    ex = exchange_of(streamed)
    assert ex.accumulated == plain
    types = [e.type for e in ex.events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "ping" in types


def test_extra_pings_when_configured(make_client):
    c = make_client(ServerConfig(ping_every=3))
    r = c.post("/v1/messages", headers=headers(), json=body(stream=True))
    ex = exchange_of(r)
    assert sum(e.type == "ping" for e in ex.events) > 2
    assert findings_of(r) == []


def _chunks(chunking: bool, seed: int = 0) -> list[bytes]:
    gen = generate(seed, body("chunk me", max_tokens=300), "m")
    vocab = StreamVocabulary.of(load_profiles().default)
    plan = StreamPlan(message_events(gen.message, gen.digest, vocab, FAITHFUL))

    async def collect() -> list[bytes]:
        return [c async for c in write_stream(plan, random.Random(seed), chunking)]

    return asyncio.run(collect())


def test_chunks_split_lines_and_events_at_arbitrary_points():
    chunks = _chunks(True)
    joined = b"".join(chunks)
    # Reassembled, it is the same stream as the unchunked one.
    assert joined == b"".join(_chunks(False))
    ends = [c[-2:] for c in chunks[:-1]]
    assert any(not e.endswith(b"\n") for e in ends), "some chunk must end mid-line"
    assert any(b"\n\n" in c[1:-2] for c in chunks), "some chunk must carry the end of one event and more"
    events = parse_events(decode_sse(joined))
    assert [e.name for e in events] == [e.type for e in events]


def test_unchunked_stream_writes_one_event_per_chunk():
    for c in _chunks(False):
        assert c.endswith(b"\n\n") and c.count(b"\n\n") == 1


def test_stream_over_a_real_socket_decodes_the_same(server_url):
    import httpx

    req = body("over the wire", stream=True)
    with httpx.Client(base_url=server_url, timeout=10) as c:
        r = c.post("/v1/messages", headers=headers(), content=orjson.dumps(req))
        plain = c.post("/v1/messages", headers=headers(), json=body("over the wire")).json()
    assert r.status_code == 200
    assert exchange_of(r).accumulated == plain
    assert findings_of(r) == []
