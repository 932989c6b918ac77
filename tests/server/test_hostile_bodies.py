"""The reference server never answers 5xx to a type-confused body: a 400 in the error envelope (or 200/404).

The body is a valid request with an arbitrary JSON value at one arbitrary path (tests/hostile_bodies.py),
sent to both body endpoints; the server judges it with the request rules, so any exception there
would be a 500 here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given

from conformance.server import ServerConfig, create_app
from tests.hostile_bodies import RICH, bodies, replaced
from tests.server.support import InProcessClient, headers


@pytest.fixture(scope="module")
def server() -> Iterator[InProcessClient]:
    # The scale tier: a long property run stays inside its rate limits.
    c = InProcessClient(create_app(ServerConfig()))
    yield c
    c.close()


def _assert_answered_in_the_envelope(server: InProcessClient, body: Any, version: str = "2023-06-01") -> int:
    content = json.dumps(body).encode()  # stdlib: integers past 64 bits are still JSON
    status = 0
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        r = server.post(path, headers=headers(version, key="sk-ant-test-scale"), content=content)
        status = r.status_code
        assert status < 500, (path, status, r.text[:500])
        if status != 200:
            data = r.json()
            # 404 when the confusion left a valid request for a model that does not exist ("model": "0").
            expected = {400: "invalid_request_error", 404: "not_found_error"}
            assert data["type"] == "error" and data["error"]["type"] == expected.get(status), (status, data)
            assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    return status


@given(body=bodies)
def test_type_confused_bodies_get_400_never_5xx(server: InProcessClient, body: Any) -> None:
    _assert_answered_in_the_envelope(server, body)


@pytest.mark.parametrize(("path", "value"), [
    (("tools", 0, "name"), {"a": 1}),  # was 500: an unhashable name in a set (with tool_choice present)
    (("messages", 2, "content", 0, "tool_use_id"), {"id": "toolu_01"}),  # was 500: the same for an id
    ((), [RICH]),  # a top-level array
    ((), None),
])
def test_known_crashers_get_400(server: InProcessClient, path: tuple[Any, ...], value: Any) -> None:
    assert _assert_answered_in_the_envelope(server, replaced(path, value)) == 400
