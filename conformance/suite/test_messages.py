"""Positive checks: valid requests get valid messages, streamed or not, and count_tokens agrees."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.findings import Finding, error
from conformance.rules.probes import count_tokens_matches_usage, stream_matches_message
from conformance.strategies.requests import valid_requests
from conformance.suite.helpers import count_tokens_body

pytestmark = pytest.mark.conformance_areas("body", "stream", "message", "error", "ratelimit", "request",
                                           "response", "consistency", "count-tokens", "positive")


def _accepted(ex: Any) -> list[Finding]:
    status = ex.response.status if ex.response is not None else None
    if status == 200:
        return []
    return [error("positive.accepted", f"a valid request was answered {status}", expected=200, actual=status)]


@given(data=st.data())
def test_valid_requests_get_valid_messages(client: Any, profile: Any, conformance: Any, conformance_target: Any,
                                           data: st.DataObject) -> None:
    body = data.draw(valid_requests(profile), label="request")
    plain = client.send("POST", "/v1/messages", json={**body, "stream": False})
    conformance.require(plain, profile, extra=_accepted(plain))

    streamed = client.send("POST", "/v1/messages", json={**body, "stream": True})
    extra = _accepted(streamed)
    if conformance_target.deterministic:
        extra += list(stream_matches_message(plain, streamed))
    conformance.require(streamed, profile, extra=extra)

    count = client.send("POST", "/v1/messages/count_tokens", json=count_tokens_body(profile, body))
    extra = _accepted(count)
    if conformance_target.deterministic:
        extra += list(count_tokens_matches_usage(count, plain))
    conformance.require(count, profile, extra=extra)


WEATHER_TOOL = {"name": "get_weather", "description": "Current weather for a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_a_many_block_answer_streams_in_order(client: Any, profile: Any, conformance: Any,
                                              conformance_target: Any) -> None:
    """Thinking, text and a tool call in one answer: the stream grammar with several blocks, every run.

    Generated requests reach several blocks only by chance; this one asks for them outright.
    """
    accepted = profile.schemas.schema("request").get("properties", {})
    body: dict[str, Any] = {"model": profile.model_ids[0], "max_tokens": 4096, "tools": [WEATHER_TOOL],
                            "tool_choice": {"type": "auto"},
                            "messages": [{"role": "user", "content": "What is the weather?"}]}
    if "thinking" in accepted:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    plain = client.send("POST", "/v1/messages", json=body)
    conformance.require(plain, profile, extra=_accepted(plain))
    streamed = client.send("POST", "/v1/messages", json={**body, "stream": True})
    extra = _accepted(streamed)
    if conformance_target.deterministic:
        extra += list(stream_matches_message(plain, streamed))
    conformance.require(streamed, profile, extra=extra)
