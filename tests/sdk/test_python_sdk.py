"""The official Python SDK (unmodified) against the reference server on a loopback port."""

from __future__ import annotations

import inspect

import pytest

from conformance.profiles import load_profiles
from tests.sdk.conftest import KEY, logged, script

anthropic = pytest.importorskip("anthropic", reason="the anthropic Python SDK is not installed (pip install .[test])")

pytestmark = pytest.mark.sdk

MODEL = "claude-sonnet-4-20250514"
MESSAGES = [{"role": "user", "content": "Hello, Claude!"}]
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def make_client(url: str, key: str = KEY, retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=url, max_retries=retries, timeout=10)


def test_create(server):
    msg = make_client(server).messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text" and msg.content[0].text
    assert msg.usage.output_tokens > 0
    sent = logged(server)[0]
    names = {k.lower(): v for k, v in sent["headers"]}
    # What this SDK sends, as the server saw it.
    assert names["anthropic-version"] in load_profiles().versions
    assert names.get("authorization") == "Bearer REDACTED" or names.get("x-api-key") == "REDACTED"


def test_create_with_tools_and_thinking(server):
    client = make_client(server)
    msg = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, tools=[WEATHER],
                                 tool_choice={"type": "any"})
    assert msg.stop_reason == "tool_use"
    assert msg.content[-1].type == "tool_use" and isinstance(msg.content[-1].input["city"], str)
    msg = client.messages.create(model=MODEL, max_tokens=2048, messages=MESSAGES,
                                 thinking={"type": "enabled", "budget_tokens": 1024})
    assert msg.content[0].type == "thinking" and msg.content[0].signature


def test_raw_stream(server):
    client = make_client(server)
    events = list(client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES).content[0].text


@pytest.mark.parametrize("extra", [{}, {"tools": [WEATHER], "tool_choice": {"type": "any"}},
                                   {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
                                   {"stop_sequences": ["the"]}])
def test_stream_helper_final_message_equals_create(server, extra):
    client = make_client(server)
    kwargs = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES, **extra}
    with client.messages.stream(**kwargs) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    plain = client.messages.create(**kwargs)
    assert final.model_dump() == plain.model_dump()
    assert text == "".join(b.text for b in plain.content if b.type == "text")


def test_count_tokens_matches_usage(server):
    client = make_client(server)
    counted = client.messages.count_tokens(model=MODEL, messages=MESSAGES, system="Be brief.", tools=[WEATHER])
    used = client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES, system="Be brief.",
                                  tools=[WEATHER], tool_choice={"type": "none"}).usage.input_tokens
    assert counted.input_tokens == used


def test_models_list_paginates_through_everything(server):
    client = make_client(server)
    ids = [m.id for m in client.models.list(limit=2)]
    profile_ids = {str(m) for p in load_profiles() for m in p.model_ids}
    assert len(ids) == len(set(ids)) > 2 and set(ids) <= profile_ids
    assert client.models.retrieve(MODEL).id == MODEL


# What each SDK line raises per status: anthropic 2.x maps them in _error_classes.py; 1.x in
# _client.py _make_status_error, where 402 and 408 fall to APIStatusError and 503/504 to InternalServerError.
SDK_MAJOR = int(anthropic.__version__.split(".")[0])


@pytest.mark.parametrize("status,cls,cls_1x", [
    (400, "BadRequestError", "BadRequestError"), (402, "PaymentRequiredError", "APIStatusError"),
    (403, "PermissionDeniedError", "PermissionDeniedError"), (404, "NotFoundError", "NotFoundError"),
    (408, "RequestTimeoutError", "APIStatusError"), (409, "ConflictError", "ConflictError"),
    (413, "ContentTooLargeError", "RequestTooLargeError"), (429, "RateLimitError", "RateLimitError"),
    (500, "InternalServerError", "InternalServerError"), (503, "ServiceUnavailableError", "InternalServerError"),
    (504, "GatewayTimeoutError", "InternalServerError"), (529, "OverloadedError", "OverloadedError"),
])
def test_each_error_status_raises_the_sdk_class(server, status, cls, cls_1x):
    name = cls if SDK_MAJOR >= 2 else cls_1x
    expected = getattr(anthropic, name, None) or getattr(anthropic._exceptions, name)
    script(server, {"status": status})
    with pytest.raises(expected) as info:
        make_client(server).messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert type(info.value) is expected
    assert info.value.status_code == status
    assert info.value.request_id == info.value.response.headers["request-id"]


def test_real_errors_raise_the_sdk_class(server):
    with pytest.raises(anthropic.AuthenticationError):
        make_client(server, key="sk-wrong").messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    with pytest.raises(anthropic.PermissionDeniedError):
        make_client(server, key="sk-ant-test-forbidden").messages.create(model=MODEL, max_tokens=16,
                                                                         messages=MESSAGES)
    with pytest.raises(anthropic.NotFoundError):
        make_client(server).messages.create(model="claude-imaginary-9", max_tokens=16, messages=MESSAGES)
    with pytest.raises(anthropic.BadRequestError) as info:
        make_client(server).messages.create(model=MODEL, max_tokens=-1, messages=MESSAGES)
    assert "max_tokens" in str(info.value)


def test_retries_honour_retry_after_ms(server):
    script(server, {"status": 429, "retry_after_ms": 60, "retry_after": 30}, {"status": 529, "retry_after_ms": 60})
    msg = make_client(server, retries=2).messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert msg.type == "message"
    log = logged(server)
    assert len(log) == 3
    counts = [dict((k.lower(), v) for k, v in e["headers"]).get("x-stainless-retry-count") for e in log]
    assert counts == ["0", "1", "2"]
    # retry-after-ms (60 ms) wins over retry-after (30 s): the whole exchange took far less than 30 s.
    assert log[2]["time"] - log[0]["time"] < 25
    assert log[1]["time"] - log[0]["time"] >= 0.05


def test_should_retry_false_is_obeyed_and_true_forces_a_retry(server):
    script(server, {"status": 500, "should_retry": False})
    with pytest.raises(anthropic.InternalServerError):
        make_client(server, retries=2).messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert len(logged(server)) == 1
    script(server, {"status": 400, "should_retry": True, "retry_after_ms": 1})
    make_client(server, retries=1).messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert len(logged(server)) == 3


def test_mid_stream_error_event_raises(server):
    script(server, {"stream_error_after": 4})
    with pytest.raises(anthropic.APIStatusError) as info:
        with make_client(server).messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            for _ in stream:
                pass
    assert info.value.body["error"]["type"] == "overloaded_error"


def test_unknown_events_are_ignored_by_the_stream_helper(server):
    script(server, {"unknown_events": True})
    client = make_client(server)
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        final = stream.get_final_message()
    assert final.model_dump() == client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES).model_dump()


def test_dropped_connection_is_a_connection_error_then_retried(server):
    script(server, {"drop_after": 0})
    with pytest.raises(anthropic.APIConnectionError):
        make_client(server).messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    script(server, {"drop_after": 0})
    msg = make_client(server, retries=1).messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert msg.type == "message"


# -- strict response validation: what the SDK requires of every answer -------------------------------------------

def strict_client(url: str) -> anthropic.Anthropic:
    """Validates every answer against the SDK's own types (anthropic >= 1.12 requires `lifecycle` on models)."""
    return anthropic.Anthropic(api_key=KEY, base_url=url, max_retries=0, timeout=10,
                               _strict_response_validation=True)


def test_strict_validation_accepts_create_stream_count_tokens_and_models(server):
    client = strict_client(server)
    msg = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        final = stream.get_final_message()
    assert final.model_dump() == msg.model_dump()
    counted = client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    assert counted.input_tokens == msg.usage.input_tokens
    models = list(client.models.list(limit=3))
    assert len(models) > 3 and len({m.id for m in models}) == len(models)
    one = client.models.retrieve(MODEL)
    assert one.id == MODEL
    if "lifecycle" in type(one).model_fields:  # anthropic >= 1.12
        assert one.lifecycle == "deprecated" and all(m.lifecycle in ("active", "deprecated") for m in models)


def test_the_usage_and_stop_fields_reach_the_sdk_types(server):
    raw = strict_client(server).messages.with_raw_response.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    msg = raw.parse()
    assert raw.headers["anthropic-organization-id"]
    usage = msg.usage
    if "cache_creation" in type(usage).model_fields:  # anthropic >= 0.75
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0
        assert usage.cache_creation is not None and usage.cache_creation.ephemeral_5m_input_tokens == 0
        assert usage.service_tier == "standard"
    # The wire message has every key the stream's accumulated message has (stop_details included).
    assert set(raw.http_response.json()) >= {"stop_details", "stop_reason", "stop_sequence", "usage"}


def test_an_alias_answers_with_the_dated_model_that_retrieve_resolves_to(server):
    client = strict_client(server)
    created = client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=MESSAGES)
    assert created.model == client.models.retrieve("claude-haiku-4-5").id == "claude-haiku-4-5-20251001"


def test_the_models_lifecycle_filter_is_honoured(server):
    client = strict_client(server)
    if "lifecycle" not in inspect.signature(client.models.list).parameters:
        pytest.skip(f"anthropic {anthropic.__version__} has no lifecycle filter (added in 1.12)")
    every = [m.id for m in client.models.list(limit=1000)]
    deprecated = [m.id for m in client.models.list(limit=1000, lifecycle=["deprecated"])]
    assert MODEL in deprecated and set(deprecated) < set(every)
    assert list(client.models.list(lifecycle=["retired"])) == []
