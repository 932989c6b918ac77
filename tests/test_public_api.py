"""The public library: its names (guarded, as httpx guards its own), check(), StreamValidator."""

from __future__ import annotations

import subprocess
import sys

import httpx
import orjson
import pytest
import requests

import conformance
from conformance import Finding, Severity, StreamValidator, check

URL = "https://api.anthropic.com/v1/messages"
HEADERS = {"x-api-key": "sk-ant-test-scale", "anthropic-version": "2023-06-01", "content-type": "application/json"}
BODY = {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
           "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 3, "output_tokens": 1}}
ANSWER_HEADERS = {"content-type": "application/json", "request-id": "req_1"}
START = {"type": "message_start", "message": {**MESSAGE, "content": [], "stop_reason": None}}
EVENTS = [START, {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
          {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
          {"type": "content_block_stop", "index": 0},
          {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
           "usage": {"output_tokens": 1}},
          {"type": "message_stop"}]


def sse(events: list[dict[str, object]]) -> bytes:
    return b"".join(b"event: %s\ndata: %s\n\n" % (str(e["type"]).encode(), orjson.dumps(e)) for e in events)


def test_the_public_names_are_exactly_these() -> None:
    assert set(conformance.__all__) == {
        "AsyncValidatingTransport", "ConformanceFailure", "ConformanceWarning", "Finding", "LintResult",
        "Severity", "StreamValidator", "ValidatingTransport", "__version__", "check", "lint_paths"}
    for name in conformance.__all__:
        value = getattr(conformance, name)
        assert name == "__version__" or getattr(value, "__doc__", None), f"{name} has no docstring"
    assert "ValidatingTransport" in dir(conformance)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        conformance.nope  # noqa: B018


def test_importing_the_package_imports_none_of_the_library() -> None:
    # The plugin loads into every pytest run of a project that installs the package: importing it stays cheap.
    code = "import sys, conformance; print(sorted(m for m in sys.modules if m.startswith(('conformance.', 'httpx'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_takes_httpx_objects() -> None:
    request = httpx.Request("POST", URL, headers=HEADERS, json=BODY)
    response = httpx.Response(200, headers=ANSWER_HEADERS, json=MESSAGE)
    assert check(request, response) == []


def test_check_takes_requests_objects() -> None:
    prepared = requests.Request("POST", URL, headers=HEADERS, json={**BODY, "bogus": 1}).prepare()
    response = requests.Response()
    response.status_code, response._content = 200, orjson.dumps(MESSAGE)
    response.headers.update(ANSWER_HEADERS)
    found = check(prepared, response, party="client")
    assert [(f.rule, f.party) for f in found] == [("schema.unknown-request-field", "client")]


def test_check_takes_raw_data_and_a_stream_as_chunks() -> None:
    body = sse(EVENTS)
    request = ("POST", URL, [*HEADERS.items()], orjson.dumps({**BODY, "stream": True}))
    answer = {"content-type": "text/event-stream", "request-id": "req_1"}
    assert check(request, (200, answer, body)) == []
    chunks = iter([body[i:i + 7] for i in range(0, len(body), 7)])
    assert check(request, (200, answer, chunks)) == []
    broken = sse([e for e in EVENTS if e["type"] != "message_stop"])
    assert [f.rule for f in check(request, (200, answer, broken))] == ["stream.message-stop"]


def test_check_sees_a_repeated_header_as_two_values() -> None:
    request = httpx.Request("POST", URL, headers=[*HEADERS.items(), ("anthropic-version", "2023-06-01")], json=BODY)
    found = check(request, httpx.Response(200, headers=ANSWER_HEADERS, json=MESSAGE))
    assert {(f.rule, f.party) for f in found} >= {("request.version-duplicated", "client")}


@pytest.mark.parametrize(("request_", "response", "message"), [
    ("GET /", (200, {}, b""), "check\\(request=...\\): expected an httpx.Request"),
    (("POST", URL, {}, None), object(), "check\\(response=...\\): expected an httpx.Response"),
    (("POST", URL, {}, None), (200, {}, [1]), "a body chunk must be bytes"),
])
def test_check_names_the_argument_it_cannot_read(request_: object, response: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        check(request_, response)


def test_check_names_a_bad_version_or_party() -> None:
    request, response = ("POST", URL, HEADERS, None), (200, {}, None)
    with pytest.raises(ValueError, match="api_version '1999-01-01' is not in the version table"):
        check(request, response, api_version="1999-01-01")
    with pytest.raises(ValueError, match="party must be"):
        check(request, response, party="everyone")


def test_stream_validator_reports_each_finding_with_the_chunk_that_completed_its_event() -> None:
    validator = StreamValidator(api_version="2023-06-01")
    assert validator.feed(sse(EVENTS[:2])) == []
    second = dict(EVENTS[1], index=1)
    found = validator.feed(sse([second]))
    assert [(f.rule, f.event, f.severity) for f in found] == [("stream.block-order", 2, Severity.ERROR)]
    final: list[Finding] = validator.finish()
    assert found[0] in final and validator.finish() is final


def test_a_stream_handed_over_as_one_huge_chunk_is_judged_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The events of a 24 MB chunk are parsed and let go of in slices; past the events kept for the whole-stream
    rules, the stream is still judged event by event, and memory stays bounded."""
    import tracemalloc

    from conformance import live

    monkeypatch.setattr(live, "MAX_KEPT_EVENTS", 10_000)
    delta = sse([EVENTS[2]])
    body = sse(EVENTS[:2]) + delta * 200_000 + sse(EVENTS[3:])
    broken = sse(EVENTS[:2]) + delta * 200_000 + sse([EVENTS[3], EVENTS[2]]) + sse(EVENTS[4:])
    tracemalloc.start()
    try:
        found = check(("POST", URL, HEADERS, orjson.dumps({**BODY, "stream": True})),
                      (200, {**ANSWER_HEADERS, "content-type": "text/event-stream"}, body))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [f.rule for f in found if f.severity is Severity.ERROR] == []
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while judging a {len(body) / 1e6:.0f} MB stream"
    found = check(("POST", URL, HEADERS, orjson.dumps({**BODY, "stream": True})),
                  (200, {**ANSWER_HEADERS, "content-type": "text/event-stream"}, broken))
    assert "stream.delta-after-stop" in {f.rule for f in found if f.severity is Severity.ERROR}
