"""The request rules survive any JSON value at any path (type confusion), and never raise.

The reference server answers with these very functions, so an exception here is a 500 there
(``tools[].name`` an object next to a ``tool_choice`` made an unhashable set; a ``tool_use_id``
object did the same). The property takes a valid, feature-rich request and puts an arbitrary JSON
value (null, bool, number, string, array, object, nested) at one arbitrary path, root included; a
top-level array or scalar body is the root case.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.engine import context
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.profiles import load_profiles
from conformance.rules.requests import (
    header_problems,
    request_headers_are_valid,
    request_obeys_cross_field_rules,
    request_problems,
    server_rejects_invalid_requests,
)
from tests.hostile_bodies import RICH, Path, bodies, replaced

PROFILES = load_profiles()
VERSIONS = sorted(PROFILES.versions)


def _exchange(body_bytes: bytes, status: int = 200) -> Exchange:
    headers = Headers([("x-api-key", "sk-ant-test-build"), ("anthropic-version", "2023-06-01"),
                       ("content-type", "application/json")])
    request = HttpRequest(headers, body_bytes, "POST", "http://reference.test/v1/messages")
    response = HttpResponse(Headers([("content-type", "application/json")]), b"{}", status)
    return Exchange(request, response)


@pytest.mark.parametrize("version", VERSIONS)
@given(body=bodies)
def test_request_problems_never_raise_on_type_confused_bodies(version: str, body: Any) -> None:
    profile = PROFILES.get(version)
    for endpoint in ("messages", "count_tokens"):
        found = request_problems(body, profile, endpoint)
        assert all(isinstance(v.message, str) and v.message for v in found)


@pytest.mark.parametrize("body", [None, True, 0, 1.5, "text", [], [RICH], [1, 2], {}],
                         ids=lambda b: type(b).__name__ + (str(len(b)) if isinstance(b, list) else ""))
def test_non_object_bodies_are_problems_not_exceptions(body: Any) -> None:
    for profile in PROFILES:
        assert request_problems(body, profile) != []


@pytest.mark.parametrize(("path", "value"), [
    (("tools", 0, "name"), {"a": 1}),  # was: unhashable dict in a set -> the server's 500
    (("tools", 0, "name"), ["a"]),
    (("messages", 2, "content", 0, "tool_use_id"), {"id": "toolu_01"}),  # was: the same
    (("messages", 1, "content", 1, "id"), ["toolu_01"]),
    (("tool_choice", "name"), {"n": 1}),
])
def test_known_crashers_are_reported_as_problems(path: Path, value: Any) -> None:
    for profile in PROFILES:
        assert request_problems(replaced(path, value), profile) != []


@given(body=bodies)
def test_request_checks_never_raise_on_type_confused_bodies(body: Any) -> None:
    exchange = _exchange(json.dumps(body).encode())  # stdlib: integers past 64 bits are JSON too
    ctx = context(PROFILES.default, PROFILES)
    for check in (request_headers_are_valid, request_obeys_cross_field_rules, server_rejects_invalid_requests):
        list(check(exchange, ctx))


header_values = st.text(st.characters(codec="latin-1"), max_size=30)


@given(st.lists(st.tuples(st.sampled_from(["anthropic-version", "x-api-key", "authorization", "content-type"]),
                          header_values), max_size=6))
def test_header_problems_never_raise(pairs: list[tuple[str, str]]) -> None:
    for v in header_problems(Headers(pairs), PROFILES):
        assert v.message
