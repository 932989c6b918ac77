"""The official Python SDK (unmodified) against the reference server: what the server does, seen through it.

How the SDK itself behaves (its requests, retries, streaming, errors and their classes, timeouts, strict
validation) is `conformance sdk python`'s job, tested in test_sdk_official.py and run per version by
`nox -s sdk`; these tests keep to the server's answers: tools, thinking, counting, models, aliases.
"""

from __future__ import annotations

import inspect

import pytest

from conformance.profiles import load_profiles
from tests.sdk.conftest import KEY

anthropic = pytest.importorskip("anthropic", reason="the anthropic Python SDK is not installed (pip install .[test])")

pytestmark = pytest.mark.sdk

MODEL = "claude-sonnet-4-20250514"
MESSAGES = [{"role": "user", "content": "Hello, Claude!"}]
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def make_client(url: str, key: str = KEY, retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=url, max_retries=retries, timeout=10)


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


# -- strict response validation: what the SDK requires of every answer -------------------------------------------

def strict_client(url: str) -> anthropic.Anthropic:
    """Validates every answer against the SDK's own types (anthropic >= 1.12 requires `lifecycle` on models)."""
    return anthropic.Anthropic(api_key=KEY, base_url=url, max_retries=0, timeout=10,
                               _strict_response_validation=True)


def test_strict_validation_sees_the_model_lifecycle(server):
    client = strict_client(server)
    models = list(client.models.list(limit=3))
    one = client.models.retrieve(MODEL)
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
