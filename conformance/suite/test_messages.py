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
