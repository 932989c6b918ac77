"""Endpoint behaviour: auth, versions, envelopes, bad input, models, count_tokens."""

from __future__ import annotations

import orjson
import pytest

from conformance.profiles import load_profiles
from conformance.server import ServerConfig
from conformance.server.config import MAX_BODY_BYTES
from tests.server.support import MODEL, body, error_of, findings_of, headers, server_findings


def test_valid_request_answers_a_message_that_passes_every_rule(client):
    r = client.post("/v1/messages", headers=headers(), json=body())
    assert r.status_code == 200
    msg = r.json()
    assert msg["type"] == "message" and msg["role"] == "assistant" and msg["id"].startswith("msg_")
    assert r.headers["request-id"].startswith("req_")
    assert findings_of(r) == []


@pytest.mark.parametrize("version", load_profiles().versions)
def test_every_version_is_served_with_its_own_profile(client, version):
    r = client.post("/v1/messages", headers=headers(version), json=body())
    assert r.status_code == 200, r.text
    assert findings_of(r) == []
    names = load_profiles().get(version).rate_limits.resources[0]
    assert names.limit in r.headers


def test_missing_key_is_401(client):
    r = client.post("/v1/messages", headers=headers(key=None), json=body())
    assert r.status_code == 401
    assert error_of(r) == ("authentication_error", "x-api-key header is required")
    assert r.headers["x-should-retry"] == "false"
    assert r.json()["request_id"] == r.headers["request-id"]


def test_unknown_key_is_401_for_both_schemes(client):
    for bearer in (False, True):
        r = client.post("/v1/messages", headers=headers(key="sk-nope", bearer=bearer), json=body())
        assert r.status_code == 401
        assert error_of(r)[0] == "authentication_error"


def test_bearer_is_accepted_where_the_profile_allows_it(client):
    assert client.post("/v1/messages", headers=headers("2026-10-21", bearer=True), json=body()).status_code == 200
    # The reference document's version knows only x-api-key.
    r = client.post("/v1/messages", headers=headers("2024-01-01", bearer=True), json=body())
    assert r.status_code == 401


def test_forbidden_key_is_403(client):
    r = client.post("/v1/messages", headers=headers(key="sk-ant-test-forbidden"), json=body())
    assert r.status_code == 403
    assert error_of(r)[0] == "permission_error"
    assert server_findings(r) == []


def test_out_of_credit_key_is_402_or_400_where_the_profile_has_no_billing_error(client):
    r = client.post("/v1/messages", headers=headers(key="sk-ant-test-no-credit"), json=body())
    assert r.status_code == 402 and error_of(r)[0] == "billing_error"
    r = client.post("/v1/messages", headers=headers("2024-01-01", key="sk-ant-test-no-credit"), json=body())
    assert r.status_code == 400 and error_of(r)[0] == "invalid_request_error"
    assert "credit balance" in error_of(r)[1]


def test_missing_version_is_400_with_the_api_message(client):
    r = client.post("/v1/messages", headers=headers(version=None), json=body())
    assert r.status_code == 400
    assert error_of(r) == ("invalid_request_error", "anthropic-version: header is required")


@pytest.mark.parametrize("value", ["2099-01-01", "2023-06-01, 2023-06-01", "latest"])
def test_unknown_or_list_version_is_400(client, value):
    r = client.post("/v1/messages", headers=headers(version=value), json=body())
    assert r.status_code == 400
    assert error_of(r) == ("invalid_request_error", f'anthropic-version: "{value}" is not a valid version')


def test_version_sent_twice_is_400(client):
    h = [(k, v) for k, v in headers().items()] + [("anthropic-version", "2023-06-01")]
    r = client.post("/v1/messages", headers=h, content=orjson.dumps(body()))
    assert r.status_code == 400
    assert "is not a valid version" in error_of(r)[1]


def test_newest_version_rejects_temperature(client):
    assert client.post("/v1/messages", headers=headers("2023-06-01"), json=body(temperature=0.5)).status_code == 200
    r = client.post("/v1/messages", headers=headers("2026-10-21"), json=body(temperature=0.5))
    assert r.status_code == 400
    assert error_of(r)[1].startswith("temperature:")


@pytest.mark.parametrize(("extra", "message"), [
    ({"model": "claude-3-haiku-20240307", "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
     "thinking.type: 'claude-3-haiku-20240307' does not support thinking."),
    ({"model": "claude-haiku-4-5", "thinking": {"type": "adaptive"}},
     "thinking.type: adaptive thinking is not supported on this model"),
    ({"model": "claude-sonnet-5", "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
     'thinking.type: "thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
     '"output_config.effort" to control thinking behavior.'),
    ({"model": "claude-mythos-5", "thinking": {"type": "disabled"}},
     'thinking.type: "thinking.type.disabled" is not supported for this model. Thinking defaults to adaptive mode '
     'when not specified; use "thinking.type.enabled" with "budget_tokens" for extended thinking.'),
    ({"model": "claude-sonnet-4-6", "temperature": 0.2, "top_p": 0.8},
     "top_p: `temperature` and `top_p` cannot both be specified for this model. Please use only one."),
    ({"model": "claude-opus-4-7", "top_k": 5}, "top_k: `top_k` is deprecated for this model."),
    ({"model": "claude-sonnet-4-5", "speed": "standard"},
     "speed: 'claude-sonnet-4-5' does not support the `speed` parameter."),
    ({"model": "claude-sonnet-4-6", "output_config": {"effort": "xhigh"}},
     "output_config.effort: This model does not support effort level 'xhigh'. Supported levels: high, low, max, "
     "medium."),
])
def test_what_the_model_refuses_is_400_in_the_apis_words(client, extra, message):
    r = client.post("/v1/messages", headers=headers(), json=body(**extra))
    assert r.status_code == 400, r.text
    assert error_of(r) == ("invalid_request_error", message)
    assert server_findings(r) == []


def test_what_the_model_takes_is_200(client):
    for extra in ({"model": "claude-3-haiku-20240307", "temperature": 0.2, "top_p": 0.8},
                  {"model": "claude-opus-5-5", "speed": "standard", "thinking": {"type": "adaptive"}},
                  {"model": "claude-sonnet-4-6", "thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}):
        r = client.post("/v1/messages", headers=headers(), json=body(**extra))
        assert r.status_code == 200, (extra, r.text)
        assert findings_of(r) == []


def test_invalid_field_is_400_naming_the_field(client):
    bad = body()
    bad["messages"][0]["role"] = "robot"
    r = client.post("/v1/messages", headers=headers(), json=bad)
    assert r.status_code == 400
    etype, message = error_of(r)
    assert etype == "invalid_request_error"
    assert message.startswith("messages.0.role: ")
    assert server_findings(r) == []


def test_missing_required_field_is_named(client):
    bad = body()
    del bad["max_tokens"]
    r = client.post("/v1/messages", headers=headers(), json=bad)
    assert r.status_code == 400 and error_of(r)[1] == "max_tokens: Field required"


def test_unknown_model_is_404(client):
    r = client.post("/v1/messages", headers=headers(), json=body(model="claude-imaginary-9"))
    assert r.status_code == 404
    assert error_of(r) == ("not_found_error", "model: claude-imaginary-9")


def test_unknown_path_is_404_and_wrong_method_405_in_the_envelope(client):
    r = client.get("/v1/nothing-here", headers=headers())
    assert r.status_code == 404 and error_of(r)[0] == "not_found_error"
    assert r.headers["request-id"] == r.json()["request_id"]
    r = client.get("/v1/messages", headers=headers())
    assert r.status_code == 405 and r.json()["type"] == "error"
    assert r.headers["request-id"].startswith("req_")


@pytest.mark.parametrize("content", [
    b'{"model": "x", "max_tokens": ',           # malformed JSON
    b'{"model": "\xff\xfe"}',                    # invalid UTF-8
    b"[" * 5000 + b"]" * 5000,                   # deeply nested
    b"",                                         # empty
    b'"just a string"',                          # not an object
])
def test_bad_bodies_are_400_and_the_server_keeps_serving(client, content):
    r = client.post("/v1/messages", headers=headers(), content=content)
    assert r.status_code == 400, r.text
    assert error_of(r)[0] == "invalid_request_error"
    assert client.post("/v1/messages", headers=headers(), json=body()).status_code == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_400(client, ctype):
    r = client.post("/v1/messages", headers=headers(content_type=ctype), content=orjson.dumps(body()))
    assert r.status_code == 400
    assert error_of(r)[1].startswith("content-type:")


def test_body_over_the_limit_is_413(make_client):
    small = make_client(ServerConfig(max_body_bytes=2048))
    r = small.post("/v1/messages", headers=headers(), json=body("x" * 4096))
    assert r.status_code == 413
    assert error_of(r)[0] == "request_too_large"
    assert small.post("/v1/messages", headers=headers(), json=body()).status_code == 200


def test_default_limit_is_32_mb(client):
    r = client.post("/v1/messages", headers=headers(), content=b" " * (MAX_BODY_BYTES + 1))
    assert r.status_code == 413


def test_count_tokens_equals_usage_input_tokens(client):
    for req in (body(), body("A longer prompt, with punctuation; and more words!", system="Be brief."),
                body(tools=[{"name": "get_weather", "description": "Weather for a city",
                             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])):
        counted = client.post("/v1/messages/count_tokens", headers=headers(),
                              json={k: v for k, v in req.items() if k != "max_tokens"})
        assert counted.status_code == 200, counted.text
        assert findings_of(counted) == []
        used = client.post("/v1/messages", headers=headers(), json=req).json()["usage"]["input_tokens"]
        assert counted.json() == {"input_tokens": used}


def test_count_tokens_validates_its_body(client):
    r = client.post("/v1/messages/count_tokens", headers=headers(), json={"model": MODEL})
    assert r.status_code == 400 and error_of(r)[1] == "messages: Field required"


def test_models_list_and_get(client):
    r = client.get("/v1/models", headers=headers())
    assert r.status_code == 200 and findings_of(r) == []
    page = r.json()
    ids = [m["id"] for m in page["data"]]
    assert set(ids) <= set(load_profiles().default.model_ids)
    assert page["first_id"] == ids[0] and page["last_id"] == ids[-1]
    first = client.get("/v1/models?limit=2", headers=headers()).json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    rest = client.get(f"/v1/models?limit=2&after_id={first['last_id']}", headers=headers()).json()
    assert rest["data"][0]["id"] == ids[2]
    one = client.get(f"/v1/models/{MODEL}", headers=headers())
    assert one.status_code == 200 and one.json()["id"] == MODEL
    missing = client.get("/v1/models/claude-imaginary-9", headers=headers())
    assert missing.status_code == 404 and error_of(missing)[0] == "not_found_error"


def test_models_follow_the_profile_of_the_version(client):
    ids = {m["id"] for m in client.get("/v1/models", headers=headers("2024-01-01")).json()["data"]}
    assert ids == set(load_profiles().get("2024-01-01").model_ids)


# -- what a real answer carries (profiles brought up to date with the SDKs' types) ------------------------------

def test_a_message_carries_the_usage_and_stop_fields_of_a_real_answer(client):
    msg = client.post("/v1/messages", headers=headers(), json=body()).json()
    assert msg["stop_details"] is None
    usage = msg["usage"]
    # No prompt cache is simulated: the figures an uncached real call reports.
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert usage["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    assert usage["service_tier"] == "standard" and usage["inference_geo"] == "global"
    asked = client.post("/v1/messages", headers=headers(), json=body(inference_geo="us")).json()
    assert asked["usage"]["inference_geo"] == "us"


def test_the_stream_restates_usage_and_stop_details_as_the_real_api_does(client):
    r = client.post("/v1/messages", headers=headers(), json=body(stream=True))
    events = [orjson.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: ")]
    plain = client.post("/v1/messages", headers=headers(), json=body()).json()
    start = next(e for e in events if e["type"] == "message_start")["message"]
    delta = next(e for e in events if e["type"] == "message_delta")
    assert start["usage"] == {**plain["usage"], "output_tokens": 1}
    assert delta["delta"]["stop_details"] is None
    assert delta["usage"] == {k: v for k, v in plain["usage"].items() if isinstance(v, int)}
    assert findings_of(r) == []


@pytest.mark.parametrize("version", ["2023-01-01", "2023-06-01", "2026-10-21"])
def test_requests_with_the_new_top_level_parameters_are_accepted(client, version):
    # A model that takes fast mode, adaptive thinking and the xhigh effort (others refuse them: ``accepts``).
    extra = {"model": "claude-opus-5-5", "cache_control": {"type": "ephemeral", "ttl": "1h"}, "speed": "fast",
             "inference_geo": "us", "service_tier": "standard_only",
             "container": {"skills": [{"type": "anthropic", "skill_id": "pptx"}]},
             "diagnostics": {"previous_message_id": "msg_01"}, "output_config": {"effort": "xhigh"},
             "thinking": {"type": "adaptive", "display": "omitted"}}
    r = client.post("/v1/messages", headers=headers(version), json=body(**extra))
    assert r.status_code == 200, r.text
    counted = client.post("/v1/messages/count_tokens", headers=headers(version),
                          json={"model": MODEL, "messages": body()["messages"], "cache_control": {"type": "ephemeral"},
                                "speed": None})
    assert counted.status_code == 200, counted.text
    # Strict like the API: a misspelt one is still an extra input.
    bad = client.post("/v1/messages", headers=headers(version), json=body(cache_contrl={"type": "ephemeral"}))
    assert bad.status_code == 400


def test_an_alias_is_answered_with_the_dated_model_as_retrieve_resolves_it(client):
    msg = client.post("/v1/messages", headers=headers(), json=body(model="claude-sonnet-4-5")).json()
    one = client.get("/v1/models/claude-sonnet-4-5", headers=headers()).json()
    assert msg["model"] == one["id"] == "claude-sonnet-4-5-20250929"


def test_model_objects_carry_lifecycle_and_limits_and_the_list_filters_on_lifecycle(client):
    listed = client.get("/v1/models?limit=1000", headers=headers()).json()["data"]
    assert all(m["lifecycle"] in ("active", "deprecated") and "max_input_tokens" in m for m in listed)
    deprecated = client.get("/v1/models?limit=1000&lifecycle[]=deprecated", headers=headers())
    assert deprecated.status_code == 200 and findings_of(deprecated) == []
    ids = {m["id"] for m in deprecated.json()["data"]}
    assert "claude-sonnet-4-20250514" in ids and ids == {m["id"] for m in listed if m["lifecycle"] == "deprecated"}
    repeated = client.get("/v1/models?limit=1000&lifecycle=active&lifecycle=deprecated", headers=headers()).json()
    assert len(repeated["data"]) == len(listed)
    assert client.get("/v1/models?lifecycle[]=retired", headers=headers()).json()["data"] == []
    wrong = client.get("/v1/models?lifecycle[]=sunset", headers=headers())
    assert wrong.status_code == 400 and error_of(wrong)[1].startswith("lifecycle.0:")
    # The reference document's version has no lifecycle filter: the parameter changes nothing.
    doc = client.get("/v1/models?limit=1000&lifecycle[]=retired", headers=headers("2024-01-01")).json()["data"]
    assert {m["id"] for m in doc} == set(load_profiles().get("2024-01-01").model_ids)


def test_authenticated_answers_carry_the_organization_header_where_the_profile_says_so(client):
    real = client.post("/v1/messages", headers=headers(), json=body())
    org = real.headers["anthropic-organization-id"]
    assert len(org) == 36 and org.count("-") == 4
    assert client.get("/v1/models", headers=headers()).headers["anthropic-organization-id"] == org
    assert client.post("/v1/messages", headers=headers(), json=body(max_tokens=-1)).headers[
        "anthropic-organization-id"] == org
    other = client.post("/v1/messages", headers=headers(key="sk-ant-test-scale"), json=body())
    assert other.headers["anthropic-organization-id"] != org
    assert "anthropic-organization-id" not in client.post("/v1/messages", headers=headers("2024-01-01"),
                                                          json=body()).headers
