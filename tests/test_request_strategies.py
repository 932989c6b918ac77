"""Generated requests: valid ones pass the request validator; invalid ones fail it exactly where they say."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.profiles import load_profiles
from conformance.rules.requests import request_problems
from conformance.strategies.invalid import InvalidRequest, constraints_for, invalid_requests
from conformance.strategies.requests import ENDPOINTS, valid_requests

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILES = {p.version: p for p in load_profiles()}
CASES = [(v, e) for v in PROFILES for e in ENDPOINTS]

def _problems(body: Any, version: str, endpoint: str) -> list[str]:
    return [f"{v.dotted}: {v.message}" for v in request_problems(body, PROFILES[version], endpoint)]


@pytest.mark.parametrize(("version", "endpoint"), CASES)
def test_valid_requests_pass_the_request_validator(version: str, endpoint: str) -> None:
    @SETTINGS
    @given(valid_requests(PROFILES[version], endpoint))
    def check(body: dict[str, Any]) -> None:
        assert _problems(body, version, endpoint) == [], json.dumps(body)[:800]

    check()


@pytest.mark.parametrize("version", sorted(PROFILES))
def test_valid_requests_respect_realistic_limits(version: str) -> None:
    profile = PROFILES[version]
    rejected = set(profile.request_rules.rejected_parameters)

    @SETTINGS
    @given(valid_requests(profile))
    def check(body: dict[str, Any]) -> None:
        assert body["model"] in profile.model_ids
        thinking = body.get("thinking", {})
        if thinking.get("type") == "enabled":
            assert 1024 <= thinking["budget_tokens"] < body["max_tokens"] <= thinking["budget_tokens"] + 256
        else:
            assert 1 <= body["max_tokens"] <= 256
        assert not rejected & body.keys()
        choice = body.get("tool_choice")
        if choice is not None and choice["type"] == "tool":
            assert choice["name"] in {t["name"] for t in body["tools"]}
        assert body["messages"][0]["role"] == "user"
        for i, message in enumerate(body["messages"]):
            if message["role"] != "user" or isinstance(message["content"], str):
                continue
            previous = body["messages"][i - 1]["content"] if i else []
            tool_use_ids = {b["id"] for b in previous if isinstance(b, dict) and b["type"] == "tool_use"}
            for block in message["content"]:
                if block["type"] == "tool_result":
                    assert block["tool_use_id"] in tool_use_ids

    check()


@pytest.mark.parametrize(("version", "endpoint"), CASES)
def test_valid_requests_send_a_model_only_what_it_is_known_to_take(version: str, endpoint: str) -> None:
    """Never a thinking type, a sampling field, temperature with top_p, speed or a forced tool choice that the
    profile does not record the model taking: what a real API would refuse is not a valid request."""
    profile = PROFILES[version]

    @SETTINGS
    @given(valid_requests(profile, endpoint))
    def check(body: dict[str, Any]) -> None:
        accepts = profile.accepts(body["model"])
        if "thinking" in body:
            assert accepts.thinking.get(body["thinking"]["type"]) is True
        for param in ("temperature", "top_p", "top_k"):
            assert param not in body or accepts.sampling.get(param) is True
        if "temperature" in body and "top_p" in body:
            assert accepts.temperature_with_top_p is True
        assert "speed" not in body or accepts.speed is True
        if body.get("tool_choice", {}).get("type") in ("any", "tool"):
            assert accepts.forced_tool_choice is True and body.get("thinking", {}).get("type") in (None, "disabled")

    check()


def test_what_models_take_is_still_exercised() -> None:
    """Gating by model keeps every field in play where some model takes it."""
    seen: set[str] = set()
    thinking: set[str] = set()
    models: set[str] = set()

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(valid_requests(PROFILES["2023-06-01"]))
    def collect(body: dict[str, Any]) -> None:
        seen.update(body)
        models.add(body["model"])
        if "thinking" in body:
            thinking.add(body["thinking"]["type"])
        if {"temperature", "top_p"} <= body.keys():
            seen.add("temperature+top_p")

    collect()
    assert {"speed", "temperature", "top_p", "top_k", "temperature+top_p", "tool_choice"} <= seen
    assert {"enabled", "adaptive", "disabled"} <= thinking
    # Models with unknown facts are still sent (without the fields they may refuse).
    assert any(not PROFILES["2023-06-01"].accepts(m).thinking for m in models)


def _kinds(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m["role"], b["type"]) for m in body["messages"] if isinstance(m["content"], list)
            for b in m["content"]}


@pytest.mark.parametrize("version", ["2023-06-01", "2026-10-21"])
def test_every_block_kind_is_exercised_in_each_role(version: str) -> None:
    seen: set[tuple[str, str]] = set()
    params: set[str] = set()

    @settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(valid_requests(PROFILES[version]))
    def collect(body: dict[str, Any]) -> None:
        seen.update(_kinds(body))
        params.update(body)

    collect()
    expected = {("user", k) for k in ("text", "image", "document", "tool_result")}
    expected |= {("assistant", k) for k in ("text", "tool_use", "thinking", "redacted_thinking")}
    if version == "2023-06-01":
        expected.add(("assistant", "document"))
        assert {"temperature", "top_p", "top_k"} <= params
    else:
        assert ("assistant", "document") not in seen
        assert not {"temperature", "top_p", "top_k"} & params
    assert expected <= seen, expected - seen
    assert {"system", "tools", "tool_choice", "stop_sequences", "thinking", "metadata"} <= params


@pytest.mark.parametrize(("version", "endpoint", "constraint"),
                         [(v, e, c) for v, e in CASES for c in constraints_for(PROFILES[v], e)])
def test_each_invalid_request_is_rejected_at_its_path(version: str, endpoint: str, constraint: str) -> None:

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invalid_requests(PROFILES[version], endpoint, constraints=(constraint,)))
    def check(case: InvalidRequest) -> None:
        assert case.constraint == constraint
        found = request_problems(case.body, PROFILES[version], endpoint)
        paths = {v.dotted for v in found}
        # Rejected, named at the path, and nothing else broken.
        assert paths == {case.path}, (case.path, [f"{v.dotted}: {v.message}" for v in found],
                                      json.dumps(case.body)[:600])

    check()


def test_version_specific_constraints_follow_the_profile() -> None:
    newest = set(constraints_for(PROFILES["2026-10-21"]))
    assert {"version-rejected-parameter", "version-document-in-assistant-turn",
            "version-citations-on-user-text"} <= newest
    assert "temperature-out-of-range" not in newest
    default = set(constraints_for(PROFILES["2023-06-01"]))
    assert not {c for c in default if c.startswith("version-")}
    assert {"temperature-out-of-range", "top-p-out-of-range", "thinking-budget-above-max-tokens"} <= default
    assert "max-tokens-out-of-range" not in constraints_for(PROFILES["2023-06-01"], "count_tokens")


def test_an_assistant_first_turn_is_sent_as_invalid_only_where_the_profile_requires_the_users() -> None:
    assert all("first-message-not-user" not in constraints_for(p) for p in PROFILES.values())
    base = PROFILES["2023-06-01"]
    strict = dataclasses.replace(base, request_rules=dataclasses.replace(base.request_rules, first_message_role="user"))
    assert "first-message-not-user" in constraints_for(strict)

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invalid_requests(strict, constraints=("first-message-not-user",)))
    def check(case: InvalidRequest) -> None:
        assert {v.dotted for v in request_problems(case.body, strict)} == {"messages.0.role"}
        assert request_problems(case.body, base) == []  # valid where the first turn may be the assistant's

    check()


@pytest.mark.parametrize("bad", [{"endpoint": "complete"}, {"constraints": ("no-such-constraint",)}])
def test_bad_arguments_are_refused_early(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        invalid_requests(PROFILES["2023-06-01"], **bad)


def test_valid_requests_refuses_an_unknown_endpoint() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        valid_requests(PROFILES["2023-06-01"], "complete")


def test_strategies_are_plain_hypothesis_strategies() -> None:
    assert isinstance(valid_requests(PROFILES["2023-06-01"]), st.SearchStrategy)
