"""body.py: response and request bodies against the profile's schemas."""

from __future__ import annotations

import pytest

from conformance.engine import context
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.findings import Finding
from conformance.profiles import load_profiles
from conformance.rules.body import (
    endpoint_of,
    request_body_matches_schema,
    response_body_matches_schema,
)
from conformance.strategies.responses import Case, example_error_case, example_message_case

P = load_profiles().get("2023-06-01")
CTX = context(P)


def response_findings(case: Case) -> list[Finding]:
    return list(response_body_matches_schema(case.exchange(), CTX))


def get(path: str, status: int, body: bytes) -> Exchange:
    req = HttpRequest(Headers({"x-api-key": "k"}), None, method="GET", url="https://api.anthropic.com" + path)
    return Exchange(req, HttpResponse(Headers({"content-type": "application/json"}), body, status=status))


@pytest.mark.parametrize(("path", "endpoint"), [
    ("/v1/messages", "messages"), ("/v1/messages?beta=true", "messages"), ("/v1/messages/count_tokens", "count_tokens"),
    ("/v1/models", "models"), ("/v1/models/claude-sonnet-4-20250514", "model"), ("/v1/complete", None),
])
def test_endpoint_of(path: str, endpoint: str | None) -> None:
    ex = Exchange(HttpRequest(Headers(), None, url="https://api.anthropic.com" + path), None)
    assert endpoint_of(ex) == endpoint


def test_valid_message_and_error_pass() -> None:
    assert response_findings(example_message_case(P)) == []
    assert response_findings(example_error_case(P, 529)) == []


def test_message_schema_violation_copies_the_path() -> None:
    case = example_message_case(P)
    case.response_body["content"][0]["text"] = 42
    (f,) = response_findings(case)
    assert (f.rule, f.path, f.part) == ("body.response-schema", "$.content[0].text", "response.body")
    assert f.message.startswith("content.0.text: ")


def test_unknown_fields_and_block_types_are_never_errors() -> None:
    case = example_message_case(P)
    case.response_body["inference_geo"] = "us"
    case.response_body["content"].append({"type": "hologram", "payload": {}})
    found = response_findings(case)
    assert [(f.rule, str(f.severity), f.path, f.actual) for f in found] == [
        ("response.unknown-value", "info", "$.content[1].type", "hologram")]


def test_unknown_stop_reason_is_info() -> None:
    case = example_message_case(P)
    case.response_body["stop_reason"] = "model_context_window_exceeded_v9"
    found = response_findings(case)
    assert [(f.rule, str(f.severity), f.path) for f in found] == [("response.unknown-value", "info", "$.stop_reason")]


def test_error_body_not_json_fails_but_a_413_may_lack_the_envelope() -> None:
    case = example_error_case(P, 500)
    case.raw_response = b"<html>oops</html>"
    assert [(f.rule, str(f.severity)) for f in response_findings(case)] == [("body.not-json", "error")]
    case = example_error_case(P, 413)
    case.raw_response = b"<html>413 Request Entity Too Large</html>"
    assert [str(f.severity) for f in response_findings(case)] == ["info"]


def test_error_envelope_shape_is_checked() -> None:
    case = example_error_case(P, 400)
    del case.response_body["error"]["message"]
    (f,) = response_findings(case)
    assert (f.rule, f.path) == ("body.response-schema", "$.error")


def test_models_and_count_tokens_bodies_are_checked() -> None:
    model = dict(P.models[0])
    assert list(response_body_matches_schema(get(f"/v1/models/{model['id']}", 200, orjson_dumps(model)), CTX)) == []
    listing = {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]}
    assert list(response_body_matches_schema(get("/v1/models", 200, orjson_dumps(listing)), CTX)) == []
    bad = list(response_body_matches_schema(get("/v1/models", 200, b'{"data": 3}'), CTX))
    assert bad and {f.rule for f in bad} == {"body.response-schema"}
    assert list(response_body_matches_schema(get("/v1/messages/count_tokens", 200, b'{"input_tokens": 3}'), CTX)) == []
    bad = list(response_body_matches_schema(get("/v1/messages/count_tokens", 200, b'{"tokens": 3}'), CTX))
    assert [f.rule for f in bad] == ["body.response-schema"]


def orjson_dumps(x: object) -> bytes:
    import orjson
    return orjson.dumps(x)


def test_streams_are_left_to_the_stream_rules() -> None:
    case = example_message_case(P)
    case.response_headers["content-type"] = "text/event-stream"
    case.raw_response = b"event: ping\ndata: {}\n\n"
    assert response_findings(case) == []


def test_request_body_schema() -> None:
    case = example_message_case(P)
    assert list(request_body_matches_schema(case.exchange(), CTX)) == []
    assert case.request_body is not None
    case.request_body["messages"][0]["role"] = "robot"
    (f,) = request_body_matches_schema(case.exchange(), CTX)
    assert (f.rule, f.path, f.part) == ("body.request-schema", "$.messages[0].role", "request.body")


def test_request_body_not_json_fails() -> None:
    ex = example_message_case(P).exchange()
    assert ex.request is not None
    ex.request.body = b"model=claude"
    (f,) = request_body_matches_schema(ex, CTX)
    assert f.rule == "body.request-not-json"
