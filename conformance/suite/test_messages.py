"""Positive checks: valid requests get valid messages, streamed or not, and count_tokens agrees."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.intent import Intent
from conformance.strategies.requests import valid_requests
from conformance.suite.helpers import common_parameters_body, count_tokens_body, thinking_model

pytestmark = pytest.mark.conformance_areas("positive", "body", "stream", "message", "error", "ratelimit", "request",
                                           "response", "consistency", "count-tokens")


def send_three_ways(client: Any, check: Any, profile: Any, body: dict[str, Any]) -> None:
    """The same request plain, streamed and counted: each must be answered, and the answers agree."""
    group = check.new_group()
    client.send("POST", "/v1/messages", json={**body, "stream": False},
                intent=Intent("valid", detail={"group": group, "role": "plain"}))
    client.send("POST", "/v1/messages", json={**body, "stream": True},
                intent=Intent("valid", detail={"group": group, "role": "stream"}))
    client.send("POST", "/v1/messages/count_tokens", json=count_tokens_body(profile, body),
                intent=Intent("valid", detail={"group": group, "role": "count"}))


@given(data=st.data())
def test_valid_requests_get_valid_messages(conformance_client: Any, conformance_profile: Any,
                                           conformance_check: Any, data: st.DataObject) -> None:
    body = data.draw(valid_requests(conformance_profile), label="request")
    send_three_ways(conformance_client, conformance_check, conformance_profile, body)
    conformance_check.verdict()


WEATHER_TOOL = {"name": "get_weather", "description": "Current weather for a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_a_many_block_answer_streams_in_order(conformance_client: Any, conformance_profile: Any,
                                              conformance_check: Any) -> None:
    """Thinking, text and a tool call in one answer: the stream grammar with several blocks, every run.

    Generated requests reach several blocks only by chance; this one asks for them outright, of a model that
    thinks (one that does not answers thinking with a 400).
    """
    model, thinking = thinking_model(conformance_profile)
    body: dict[str, Any] = {"model": model, "max_tokens": 4096, "tools": [WEATHER_TOOL],
                            "tool_choice": {"type": "auto"},
                            "messages": [{"role": "user", "content": "What is the weather?"}]}
    if thinking is not None:
        body["thinking"] = thinking
    send_three_ways(conformance_client, conformance_check, conformance_profile, body)
    conformance_check.verdict()


def test_the_common_parameters_are_honoured(conformance_client: Any, conformance_profile: Any,
                                            conformance_check: Any) -> None:
    """The parameters clients set most, in one fixed request, so every run reaches the rules they feed (the stop
    sequence reported, metadata accepted), not only the runs where a generated request happens to carry them."""
    send_three_ways(conformance_client, conformance_check, conformance_profile,
                    common_parameters_body(conformance_profile))
    conformance_check.verdict()
