"""The live judge: a stream fed in any chunks is judged as lint judges it whole, each finding at its event."""

from __future__ import annotations

import gzip
from collections.abc import Sequence

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.engine import check_exchanges
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse, StreamEvent
from conformance.findings import Finding
from conformance.live import LiveJudge
from conformance.profiles import load_profiles
from conformance.strategies import stream_mutations

PROFILES = load_profiles()
VERSION = "2023-06-01"
URL = "https://api.anthropic.com/v1/messages"
REQUEST_HEADERS = [("x-api-key", "sk-ant-test-scale"), ("anthropic-version", VERSION),
                   ("content-type", "application/json")]
BODY = orjson.dumps({"model": "claude-sonnet-4-20250514", "max_tokens": 64, "stream": True,
                     "messages": [{"role": "user", "content": "Hello"}]})
SSE_HEADERS = [("content-type", "text/event-stream"), ("request-id", "req_1")]
JUDGE = LiveJudge(profiles=PROFILES)


def sse(events: Sequence[StreamEvent]) -> bytes:
    return b"".join((f"event: {e.name}\n" if e.name is not None else "").encode() + b"data: " + e.data.encode()
                    + b"\n\n" for e in events)


def key(findings: Sequence[Finding]) -> list[tuple[str, str, int | None, str, str]]:
    return sorted((f.rule, str(f.severity), f.event, f.party, f.message) for f in findings)


def whole(body: bytes, status: int = 200, headers: Sequence[tuple[str, str]] = SSE_HEADERS) -> list[Finding]:
    ex = Exchange(HttpRequest(Headers(REQUEST_HEADERS), BODY, method="POST", url=URL),
                  HttpResponse(Headers(headers), body, status=status), file="f", interaction=0)
    return check_exchanges([ex], PROFILES).findings


def chunks(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=False)]


@settings(max_examples=60)
@given(stream_mutations(PROFILES.get(VERSION)), st.lists(st.integers(0, 5000), max_size=12))
def test_a_stream_fed_in_any_chunks_is_judged_as_lint_judges_it_whole(mutation, cuts):
    body = sse(mutation.events)
    live = JUDGE.start("POST", URL, REQUEST_HEADERS, BODY, file="f", interaction=0)
    live.response(200, SSE_HEADERS)
    early: list[Finding] = []
    for chunk in chunks(body, cuts):
        early += live.feed(chunk)
    final = live.finish()
    assert key(final) == key(whole(body))
    assert mutation.rule in {f.rule for f in final} | {"request.rejected-as-expected"}
    # What was reported early is reported again at the end, identically (party and place stamped once).
    assert set(key(early)) <= set(key(final))


def test_a_finding_comes_out_with_the_chunk_that_completed_its_event():
    start = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                   "model": "m", "content": [], "stop_reason": None,
                                                   "stop_sequence": None, "usage": {"input_tokens": 1,
                                                                                    "output_tokens": 1}}}
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    second = {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}
    live = JUDGE.start("POST", URL, REQUEST_HEADERS, BODY)
    live.response(200, SSE_HEADERS)
    for payload in (start, block):
        assert live.feed(b"event: %s\ndata: %s\n\n" % (payload["type"].encode(), orjson.dumps(payload))) == []
    line = b"event: content_block_start\ndata: " + orjson.dumps(second) + b"\n\n"
    assert live.feed(line[:20]) == []  # the event is not complete yet
    found = live.feed(line[20:])
    assert [(f.rule, f.event, f.party) for f in found] == [("stream.block-order", 2, "server")]


def test_a_client_mistake_rejected_as_the_api_does_is_a_warning():
    headers = [*REQUEST_HEADERS, ("anthropic-version", VERSION)]
    live = JUDGE.start("POST", URL, headers, BODY)
    live.response(400, [("content-type", "application/json"), ("request-id", "req_1")])
    live.feed(orjson.dumps({"type": "error", "request_id": "req_1", "error": {
        "type": "invalid_request_error", "message": "anthropic-version: duplicated"}}))
    found = live.finish()
    assert [(f.rule, str(f.severity), f.party) for f in found if f.party == "client"] == [
        ("request.rejected-as-expected", "warning", "client")]
    assert "request.version-duplicated" in found[0].message


def test_party_keeps_only_that_partys_findings():
    judge = LiveJudge(profiles=PROFILES, party="client")
    live = judge.start("POST", URL, [("anthropic-version", VERSION)], b'{"model": 1}')
    live.response(500, [("content-type", "text/html")])
    live.feed(b"<html>oops</html>")
    assert {f.party for f in live.finish()} == {"client"}


def test_a_broken_connection_is_one_server_finding_and_what_arrived_is_still_judged():
    live = JUDGE.start("POST", URL, REQUEST_HEADERS, BODY)
    live.response(200, SSE_HEADERS)
    early = live.feed(b'event: content_block_stop\ndata: {"type": "content_block_stop", "index": 0}\n\n')
    found = live.finish("connection reset by peer")
    # What the cut implies (no message_stop) is not said again; what arrived broken before it still is.
    assert sorted(f.rule for f in found) == ["stream.block-order", "stream.first-event", "transport.incomplete"]
    assert [f.rule for f in early] == ["stream.first-event", "stream.block-order"]
    assert live.exchange.events is not None and len(live.exchange.events) == 1
    refused = JUDGE.start("POST", URL, REQUEST_HEADERS, BODY).finish("connection refused")
    assert [(f.rule, f.party) for f in refused] == [("transport.incomplete", "server")]


def test_a_body_past_the_limit_is_not_kept_and_says_so():
    judge = LiveJudge(profiles=PROFILES, max_body_bytes=1000)
    live = judge.start("POST", URL, REQUEST_HEADERS, BODY)
    live.response(502, [("content-type", "text/html")])
    for _ in range(100):
        live.feed(b"x" * 100)
    found = live.finish()
    assert live.exchange.response is not None and live.exchange.response.body is None
    assert [f.rule for f in found if f.party == "server"] == ["transport.body-not-judged"]


def test_a_long_stream_past_the_limit_is_still_judged_event_by_event():
    judge = LiveJudge(profiles=PROFILES, max_body_bytes=300)
    live = judge.start("POST", URL, REQUEST_HEADERS, BODY)
    live.response(200, SSE_HEADERS)
    ping = b'event: ping\ndata: {"type": "ping"}\n\n'
    for _ in range(50):
        live.feed(ping)
    live.feed(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
    found = live.finish()
    assert "stream.first-event" in {f.rule for f in found}
    assert len(live.exchange.events or []) < 50  # not kept whole ...
    assert live.exchange.response is not None and live.exchange.response.body is None


def test_a_gzip_bomb_is_not_inflated_past_the_limit():
    judge = LiveJudge(profiles=PROFILES, max_body_bytes=10_000)
    live = judge.start("POST", URL, REQUEST_HEADERS, BODY)
    live.response(200, [("content-type", "application/json"), ("content-encoding", "gzip")])
    live.feed(gzip.compress(b" " * 5_000_000))
    assert "transport.body-not-judged" in {f.rule for f in live.finish()}


def test_a_gzipped_answer_is_judged_inflated():
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
               "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
               "usage": {"input_tokens": 1, "output_tokens": 1}}
    live = JUDGE.start("POST", URL, REQUEST_HEADERS, BODY)
    live.response(200, [("content-type", "application/json"), ("content-encoding", "gzip"), ("request-id", "r")])
    packed = gzip.compress(orjson.dumps(message))
    live.feed(packed[:10])
    live.feed(packed[10:])
    assert [f.rule for f in live.finish() if f.severity >= 2] == []
    assert live.exchange.response is not None and live.exchange.response.json == message


def test_other_endpoints_are_passed_over():
    live = JUDGE.start("GET", "http://127.0.0.1:1/_conformance/requests", [], None)
    live.response(200, [("content-type", "text/event-stream")])
    assert live.feed(b"data: nonsense\n\n") == []
    assert live.finish() == []
