"""Transient retries of a live target's valid requests, bounded per request and across the run."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.client import Pacer, RetryThrottle, TargetClient, TransientRetry
from conformance.intent import Intent

VALID = Intent("valid")
BODY = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
           "content": [{"type": "text", "text": "hello"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 1, "output_tokens": 1}}
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


class NoWait(Pacer):
    def __init__(self) -> None:
        super().__init__(enabled=False)
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def client(answer: list[int], throttle: RetryThrottle | None) -> tuple[TargetClient, list[int]]:
    """A client whose target answers each request with the next status of ``answer`` (the last one repeats)."""
    seen: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status = answer[min(len(seen), len(answer) - 1)]
        seen.append(status)
        return httpx.Response(status, json=MESSAGE if status == 200 else OVERLOADED, headers={"request-id": "r"})

    retry = TransientRetry(max_retries=2, initial_delay=0.5, throttle=throttle)
    return TargetClient("http://target.test", "sk-ant-test", "2023-06-01", pacer=NoWait(), retry_429=False,
                        transport=httpx.MockTransport(handle), transient_retry=retry), seen


def test_a_transient_failure_is_retried_with_growing_backoff_until_the_answer_arrives() -> None:
    target, seen = client([529, 529, 200], RetryThrottle())
    with target:
        exchange = target.send("POST", "/v1/messages", json=BODY, intent=VALID)
    assert exchange.response is not None and exchange.response.status == 200
    assert seen == [529, 529, 200]
    assert isinstance(target.pacer, NoWait) and target.pacer.slept == [0.5, 1.0]


def test_invalid_requests_are_never_retried() -> None:
    target, seen = client([529], RetryThrottle())
    with target:
        target.send("POST", "/v1/messages", json=BODY, intent=Intent("invalid", what="on purpose"))
    assert seen == [529]


@pytest.mark.parametrize("throttled", [True, False])
def test_a_target_that_always_fails_stops_being_retried_across_the_run(throttled: bool) -> None:
    """Without the run-wide budget, every request of an always-overloaded target costs three."""
    throttle = RetryThrottle() if throttled else None
    target, seen = client([529], throttle)
    with target:
        for _ in range(20):
            target.send("POST", "/v1/messages", json=BODY, intent=VALID)
    if throttled:
        # 10 tokens, one per failure, retries while more than 5 are left: the first request is tried 3 times
        # (10 -> 7), the second twice (7 -> 5), every later one once.
        assert len(seen) == 3 + 2 + 18
    else:
        assert len(seen) == 20 * 3


def test_complete_answers_earn_the_retries_back() -> None:
    throttle = RetryThrottle()
    for _ in range(6):
        throttle.observe(transient=True)
    assert not throttle.allows()
    for _ in range(20):
        throttle.observe(transient=False)
    assert throttle.allows()
    for _ in range(200):
        throttle.observe(transient=False)
    assert throttle.tokens == throttle.max_tokens


def test_an_endless_or_bombing_answer_is_cut_off_and_judged_on_what_arrived() -> None:
    import gzip

    def endless() -> Iterator[bytes]:
        yield b"event: message_start\ndata: {}\n\n"
        while True:
            yield b"event: ping\ndata: {\"type\": \"ping\"}\n\n" * 64

    bomb = gzip.compress(b"{" + b" " * (8 * 1024 * 1024) + b"}")  # 8 MiB of JSON from 8 KiB on the wire

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=endless())
        return httpx.Response(200, headers={"content-type": "application/json", "content-encoding": "gzip"},
                              content=iter([bomb[:4096], bomb[4096:]]))  # streamed, as over a socket

    target = TargetClient("http://target.test", "sk-ant-test", "2023-06-01", pacer=NoWait(), retry_429=False,
                          transport=httpx.MockTransport(handle), max_answer_bytes=1024 * 1024)
    with target:
        streamed = target.send("POST", "/stream", json={**BODY, "stream": True})
        plain = target.send("POST", "/plain", json=BODY)
    for exchange in (streamed, plain):
        assert exchange.response is not None and exchange.transport_error is not None
        assert "passed 1,048,576 bytes" in exchange.transport_error
        assert len(exchange.response.body) < 2 * 1024 * 1024
    assert streamed.events and streamed.events[0].name == "message_start"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
def test_a_compressed_answer_arrives_whole_and_decoded(encoding: str) -> None:
    import json
    import zlib

    raw = json.dumps(MESSAGE).encode()
    wire = {"gzip": lambda b: zlib.compress(b, wbits=31), "deflate": zlib.compress, "identity": bytes}[encoding](raw)

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip, deflate"  # only what the client inflates itself
        return httpx.Response(200, headers={"content-type": "application/json", "content-encoding": encoding},
                              content=iter([wire[:7], wire[7:]]))

    target = TargetClient("http://target.test", "sk-ant-test", "2023-06-01", pacer=NoWait(), retry_429=False,
                          transport=httpx.MockTransport(handle))
    with target:
        exchange = target.send("POST", "/v1/messages", json=BODY)
    assert exchange.transport_error is None and exchange.response is not None
    assert exchange.response.body == raw
