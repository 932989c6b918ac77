"""POST /_conformance/clock: moving the rate-limit clock instead of sleeping for retry-after."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance.server import ServerConfig
from tests.server.support import body, control, headers

FREE = "sk-ant-test-free"
START = 1_800_000_000.0


def _clock(c, payload):
    return c.post("/_conformance/clock", headers=control(c), json=payload)


def _reset_header(response) -> dt.datetime:
    return dt.datetime.fromisoformat(response.headers["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00"))


def test_advancing_by_retry_after_lifts_the_limit(make_client):
    c = make_client(ServerConfig(clock=lambda: START))
    for _ in range(5):
        assert c.post("/v1/messages", headers=headers(key=FREE), json=body()).status_code == 200
    limited = c.post("/v1/messages", headers=headers(key=FREE), json=body())
    assert limited.status_code == 429
    wait = float(limited.headers["retry-after"])
    # Not far enough: still limited, and retry-after counts down by the advance.
    assert _clock(c, {"advance": wait - 10}).json() == {"offset": wait - 10}
    again = c.post("/v1/messages", headers=headers(key=FREE), json=body())
    assert again.status_code == 429
    assert float(again.headers["retry-after"]) == 10
    assert _clock(c, {"advance": 10}).json() == {"offset": wait}
    ok = c.post("/v1/messages", headers=headers(key=FREE), json=body())
    assert ok.status_code == 200
    assert ok.headers["anthropic-ratelimit-requests-remaining"] == "4"


def test_reset_headers_follow_the_moved_clock(make_client):
    c = make_client(ServerConfig(clock=lambda: START))
    first = _reset_header(c.post("/v1/messages", headers=headers(), json=body()))
    assert first == dt.datetime.fromtimestamp(START + 60, dt.UTC)
    _clock(c, {"advance": 3600})
    later = _reset_header(c.post("/v1/messages", headers=headers(), json=body()))
    assert later == dt.datetime.fromtimestamp(START + 3600 + 60, dt.UTC)


def test_reset_clears_the_offset_and_can_be_combined_with_advance(client):
    assert _clock(client, {"advance": 5}).json() == {"offset": 5}
    assert _clock(client, {"advance": 2.5}).json() == {"offset": 7.5}
    assert _clock(client, {"reset": True}).json() == {"offset": 0}
    assert _clock(client, {"reset": True, "advance": 3}).json() == {"offset": 3}
    # Forgetting scenarios and rate-limit state does not move the clock back.
    client.post("/_conformance/reset", headers=control(client))
    assert _clock(client, {"advance": 0}).json() == {"offset": 3}


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "advance"), ({"advance": -1}, "advance"), ({"advance": "60"}, "advance"), ({"advance": True}, "advance"),
    ({"reset": "yes"}, "reset"), ({"advance": 1, "speed": 2}, "speed"), ([1], "advance"),
])
def test_bad_clock_requests_are_400_naming_the_field(client, payload, field):
    r = _clock(client, payload)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{field}: ")
    assert _clock(client, {"advance": 0}).json() == {"offset": 0}


def test_clock_body_must_be_json(client):
    r = client.post("/_conformance/clock", content=b"{advance",
                    headers={**control(client), "content-type": "application/json"})
    assert r.status_code == 400
    assert "not JSON" in r.json()["error"]["message"]
