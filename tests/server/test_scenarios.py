"""Faults on demand and the request log (the control API)."""

from __future__ import annotations

import httpx
import orjson
import pytest

from conformance.control import control_headers, key_fingerprint
from tests.server.support import BUILD, body, control, error_of, exchange_of, findings_of, headers

SCALE = "sk-ant-test-scale"


def script(c, key, *steps, append=False, token=None):
    hdrs = control(c) if token is None else control_headers(token)
    r = c.post("/_conformance/scenarios", headers=hdrs, json={"key": key, "responses": list(steps), "append": append})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("status,etype", [(429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error"),
                                          (409, "conflict_error"), (503, "overloaded_error"),
                                          (408, "timeout_error")])
def test_scripted_http_errors_then_normal_service(client, status, etype):
    script(client, BUILD, {"status": status})
    r = client.post("/v1/messages", headers=headers(), json=body())
    assert r.status_code == status
    assert error_of(r)[0] == etype
    assert r.headers["x-should-retry"] == "true"
    if status == 429:
        assert r.headers["retry-after"] == "1"
    assert client.post("/v1/messages", headers=headers(), json=body()).status_code == 200


def test_scripted_retry_headers_and_should_retry(client):
    script(client, BUILD, {"status": 429, "retry_after_ms": 250, "should_retry": False}, {"status": 529, "repeat": 2})
    r = client.post("/v1/messages", headers=headers(), json=body())
    assert r.headers["retry-after-ms"] == "250" and r.headers["retry-after"] == "1"
    assert r.headers["x-should-retry"] == "false"
    assert [client.post("/v1/messages", headers=headers(), json=body()).status_code for _ in range(3)] == [529, 529,
                                                                                                           200]


def test_a_step_may_leave_the_retry_decision_to_the_status(client):
    # What `conformance sdk` uses to check a client's own retry table: no x-should-retry to follow.
    script(client, BUILD, {"status": 503, "without_should_retry": True}, {"status": 503})
    bare = client.post("/v1/messages", headers=headers(), json=body())
    assert bare.status_code == 503 and "x-should-retry" not in bare.headers
    assert client.post("/v1/messages", headers=headers(), json=body()).headers["x-should-retry"] == "true"


def test_appending_no_steps_answers_how_many_are_pending(client):
    script(client, BUILD, {"status": 500, "repeat": 3})
    client.post("/v1/messages", headers=headers(), json=body())
    assert script(client, BUILD, append=True)["pending"] == 2


def test_steps_are_per_key(client):
    script(client, SCALE, {"status": 500})
    assert client.post("/v1/messages", headers=headers(), json=body()).status_code == 200
    assert client.post("/v1/messages", headers=headers(key=SCALE), json=body()).status_code == 500


def test_mid_stream_error_event(client):
    script(client, BUILD, {"stream_error_after": 3})
    r = client.post("/v1/messages", headers=headers(), json=body(stream=True))
    assert r.status_code == 200
    events = exchange_of(r).events
    assert [e.type for e in events][-1] == "error"
    assert events[-1].payload["error"]["type"] == "overloaded_error"
    assert len(events) == 4
    assert findings_of(r) == []


def test_mid_stream_error_on_a_plain_request_is_an_http_error(client):
    script(client, BUILD, {"stream_error_after": 3})
    r = client.post("/v1/messages", headers=headers(), json=body())
    assert r.status_code == 529 and error_of(r)[0] == "overloaded_error"


def test_unknown_events_are_mixed_in_and_tolerated(client):
    script(client, BUILD, {"unknown_events": True})
    r = client.post("/v1/messages", headers=headers(), json=body(stream=True))
    ex = exchange_of(r)
    assert sum(e.type == "conformance_future_event" for e in ex.events) == 2
    plain = client.post("/v1/messages", headers=headers(), json=body()).json()
    assert ex.accumulated == plain
    assert all(f.severity.name != "ERROR" for f in findings_of(r))


def test_slow_stream_still_delivers_everything(client):
    script(client, BUILD, {"delay_ms": 5})
    r = client.post("/v1/messages", headers=headers(), json=body(stream=True, max_tokens=10))
    assert exchange_of(r).accumulated == client.post("/v1/messages", headers=headers(),
                                                     json=body(max_tokens=10)).json()


def test_dropped_connection_mid_stream(live_server):
    server_url, token = live_server
    with httpx.Client(base_url=server_url, timeout=10) as c:
        script(c, "sk-ant-test-build", {"drop_after": 4}, token=token)
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/v1/messages", headers=headers(), content=orjson.dumps(body("drop", stream=True)))
        script(c, "sk-ant-test-build", {"drop_after": 0}, token=token)
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/v1/messages", headers=headers(), json=body("drop"))
        # The server is still serving.
        assert c.post("/v1/messages", headers=headers(), json=body()).status_code == 200


def test_bad_scenarios_are_rejected_with_the_field(client):
    r = client.post("/_conformance/scenarios", headers=control(client),
                    json={"key": BUILD, "responses": [{"statuss": 500}]})
    assert r.status_code == 400 and "responses.0.statuss" in r.json()["error"]["message"]
    r = client.post("/_conformance/scenarios", headers=control(client),
                    json={"key": BUILD, "responses": [{"status": 200}]})
    assert r.status_code == 400 and "responses.0.status" in r.json()["error"]["message"]
    r = client.post("/_conformance/scenarios", headers=control(client), json={"responses": []})
    assert r.status_code == 400
    r = client.post("/_conformance/scenarios", headers=control(client), content=b"{")
    assert r.status_code == 400


def test_request_log_records_headers_redacted_body_and_time(client):
    client.post("/v1/messages", headers=headers(), json=body("first"))
    client.post("/v1/messages", headers=headers(key=SCALE, bearer=True), json=body("second"))
    client.get("/v1/models", headers=headers())
    log = client.get("/_conformance/requests", headers=control(client),
                     params={"key": BUILD}).json()["requests"][key_fingerprint(BUILD)]
    assert [e["path"] for e in log] == ["/v1/messages", "/v1/models"]
    assert log[0]["body"]["messages"][0]["content"] == "first"
    assert log[0]["status"] == 200
    hdrs = {k.lower(): v for k, v in log[0]["headers"]}
    assert hdrs["x-api-key"] == "REDACTED" and BUILD not in orjson.dumps(log).decode()
    assert log[0]["time"] <= log[1]["time"]
    # The answer's side: its request id and the headers that steer a client's retries.
    assert log[0]["request_id"].startswith("req_") and log[0]["answer_headers"]["content-type"] == "application/json"
    scale = client.get("/_conformance/requests", headers=control(client),
                       params={"key": SCALE}).json()["requests"][key_fingerprint(SCALE)]
    assert dict((k.lower(), v) for k, v in scale[0]["headers"])["authorization"] == "Bearer REDACTED"
    everything = client.get("/_conformance/requests", headers=control(client)).json()["requests"]
    assert set(everything) == {key_fingerprint(BUILD), key_fingerprint(SCALE)}


def test_reset_forgets_log_steps_and_limits(client):
    script(client, BUILD, {"status": 500})
    client.post("/v1/messages", headers=headers(key=SCALE), json=body())
    assert client.post("/_conformance/reset", headers=control(client)).json() == {"reset": "all"}
    assert client.get("/_conformance/requests", headers=control(client)).json()["requests"] == {}
    r = client.post("/v1/messages", headers=headers(key=SCALE), json=body())
    assert r.status_code == 200
    assert r.headers["anthropic-ratelimit-requests-remaining"] == "999"
    assert client.post("/v1/messages", headers=headers(), json=body()).status_code == 200
