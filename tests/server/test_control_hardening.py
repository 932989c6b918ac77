"""The control API is safe to leave running: it takes orders only with the token, shows no key, bounds
every input it accepts, and the server stays healthy after each hostile payload."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from conformance.control import CONTROL_TOKEN_HEADER, key_fingerprint
from conformance.server import ServerConfig
from tests.server.support import BUILD, body, control, headers

SCALE = "sk-ant-test-scale"
CONTROL_CALLS = [("POST", "/_conformance/scenarios", {"key": BUILD, "responses": [{"ok": True}]}),
                 ("GET", "/_conformance/requests", None),
                 ("POST", "/_conformance/reset", {}),
                 ("POST", "/_conformance/clock", {"advance": 0}),
                 ("GET", "/_conformance/nothing-here", None)]


def _call(c: Any, method: str, path: str, payload: Any, hdrs: dict[str, str]) -> Any:
    if method == "GET":
        return c.get(path, headers=hdrs)
    return c.post(path, headers=hdrs, json=payload)


def _healthy(c: Any) -> None:
    """A normal request, and a normal control call, still succeed."""
    assert c.post("/v1/messages", headers=headers(), json=body()).status_code == 200
    assert c.post("/_conformance/clock", headers=control(c), json={"advance": 0}).status_code == 200


@pytest.mark.parametrize(("method", "path", "payload"), CONTROL_CALLS, ids=[c[1] for c in CONTROL_CALLS])
@pytest.mark.parametrize("sent", [{}, {CONTROL_TOKEN_HEADER: "wrong-token"}, {"authorization": "Bearer wrong"},
                                  {"x-api-key": BUILD}], ids=["none", "wrong", "wrong-bearer", "api-key"])
def test_control_calls_need_the_token(client: Any, method: str, path: str, payload: Any,
                                      sent: dict[str, str]) -> None:
    r = _call(client, method, path, payload, sent)
    assert r.status_code == 401
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "authentication_error"
    assert "control token" in r.json()["error"]["message"]


def test_the_token_is_accepted_as_its_header_or_as_a_bearer(client: Any) -> None:
    token = client.app.state.conformance.config.control_token
    assert client.post("/_conformance/clock", headers={CONTROL_TOKEN_HEADER: token},
                       json={"advance": 0}).status_code == 200
    assert client.post("/_conformance/clock", headers={"authorization": f"Bearer {token}"},
                       json={"advance": 0}).status_code == 200


def test_each_server_has_its_own_token_unless_given_one() -> None:
    assert ServerConfig().control_token != ServerConfig().control_token
    assert len(ServerConfig().control_token) >= 20
    assert ServerConfig(control_token="my-shared-secret").control_token == "my-shared-secret"
    assert "my-shared-secret" not in repr(ServerConfig(control_token="my-shared-secret"))


@pytest.mark.parametrize("token", ["", "has space", "new\nline", "é-not-ascii"])
def test_a_token_that_cannot_travel_in_a_header_is_an_input_error(token: str) -> None:
    from conformance.errors import InputError

    with pytest.raises(InputError, match="control token"):
        ServerConfig(control_token=token)


def test_no_control_answer_shows_a_key(client: Any) -> None:
    leak = f"my key is {BUILD}, and {SCALE}"
    client.post("/v1/messages", headers=headers(), json=body(leak))
    client.post("/v1/messages", headers=headers(key=SCALE, bearer=True), json=body(leak))
    client.post("/v1/messages", headers=headers(key="sk-ant-api03-" + "x" * 40), json=body())  # unknown key
    answers = [
        client.post("/_conformance/scenarios", headers=control(client),
                    json={"key": BUILD, "responses": [{"ok": True}]}),
        client.get("/_conformance/requests", headers=control(client)),
        client.get("/_conformance/requests", headers=control(client), params={"key": BUILD}),
        client.post("/_conformance/reset", headers=control(client), json={"key": SCALE}),
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        text = r.text
        assert BUILD not in text and SCALE not in text and "sk-ant-api03" not in text, text[:300]
    log = answers[1].json()["requests"]
    assert set(log) == {key_fingerprint(BUILD), key_fingerprint(SCALE), key_fingerprint("sk-ant-api03-" + "x" * 40)}
    first = log[key_fingerprint(BUILD)][0]
    assert first["body"]["messages"][0]["content"] == "my key is REDACTED, and REDACTED"
    assert answers[0].json()["key"] == key_fingerprint(BUILD)
    assert answers[3].json()["reset"] == key_fingerprint(SCALE)


# -- hostile control payloads: each a 400 (or 413) in the envelope, then the server is still healthy --------

HOSTILE: list[tuple[str, Any]] = [
    ("/_conformance/clock", {"advance": 3e11}),  # was: every endpoint answered 500 until a full reset
    ("/_conformance/clock", {"advance": 1e308}),
    ("/_conformance/clock", {"advance": -1}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"status": 500, "repeat": 100_000_000}]}),  # was 826 MB
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"delay_ms": 1e308}]}),  # was: the key hung forever
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"delay_ms": 3_600_000}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"retry_after": 1e308, "status": 429}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"stream_error_after": -1}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"drop_after": 10**12}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"message": "x" * 10_000, "status": 500}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"error_type": "x" * 1000, "status": 500}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"ok": True}] * 1001}),
    ("/_conformance/scenarios", {"key": "k" * 10_000, "responses": [{"ok": True}]}),
    ("/_conformance/scenarios", {"key": BUILD, "responses": [{"ok": True}], "append": "yes"}),
    ("/_conformance/scenarios", [1, 2, 3]),
    ("/_conformance/reset", {"key": 5}),
    ("/_conformance/reset", {"key": BUILD, "everything": True}),
]


@pytest.mark.parametrize(("path", "payload"), HOSTILE,
                         ids=[f"{p.rsplit('/', 1)[1]}-{i}" for i, (p, _) in enumerate(HOSTILE)])
def test_hostile_control_payloads_are_400_and_the_server_stays_healthy(client: Any, path: str, payload: Any) -> None:
    r = client.post(path, headers=control(client), json=payload)
    assert r.status_code == 400, r.text[:300]
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and len(error["message"]) < 400
    _healthy(client)
    # Nothing was scripted: the next answer is a normal one.
    assert client.post("/v1/messages", headers=headers(), json=body()).status_code == 200


def test_the_clock_offset_is_bounded_in_total(client: Any) -> None:
    """Many small advances cannot take the clock where reset headers stop being times (year 9999)."""
    statuses = [client.post("/_conformance/clock", headers=control(client), json={"advance": 31_536_000}).status_code
                for _ in range(12)]
    assert statuses[0] == 200 and statuses[-1] == 400
    _healthy(client)
    r = client.post("/v1/messages", headers=headers(), json=body())
    assert r.headers["anthropic-ratelimit-requests-reset"].startswith("20")


def test_appending_steps_is_bounded_per_key(client: Any) -> None:
    step = {"key": BUILD, "responses": [{"ok": True, "repeat": 1000}], "append": True}
    statuses = [client.post("/_conformance/scenarios", headers=control(client), json=step).status_code
                for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 400
    _healthy(client)


def test_scripting_is_bounded_in_keys(make_client: Any) -> None:
    c = make_client(ServerConfig())
    statuses = {c.post("/_conformance/scenarios", headers=control(c),
                       json={"key": f"k{i}", "responses": [{"ok": True}]}).status_code for i in range(1001)}
    assert statuses == {200, 400}
    _healthy(c)


def test_control_bodies_are_capped(client: Any) -> None:
    big = b'{"key": "' + b"k" * (256 * 1024) + b'", "responses": []}'
    r = client.post("/_conformance/scenarios", headers={**control(client), "content-type": "application/json"},
                    content=big)
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/_conformance/scenarios", headers=control(client), content=deep)
    assert r.status_code in (400, 413)
    _healthy(client)


# -- the request log: a bounded ring, bodies truncated --------------------------------------------------------


def test_the_log_keeps_the_newest_requests_by_count(make_client: Any) -> None:
    c = make_client(ServerConfig(log_max_requests=3))
    for i in range(5):
        c.post("/v1/messages", headers=headers(), json=body(f"n{i}"))
    data = c.get("/_conformance/requests", headers=control(c)).json()
    entries = data["requests"][key_fingerprint(BUILD)]
    assert [e["body"]["messages"][0]["content"] for e in entries] == ["n2", "n3", "n4"]
    assert data["dropped"] == 2


def test_the_log_keeps_the_newest_requests_by_bytes_and_truncates_bodies(make_client: Any) -> None:
    c = make_client(ServerConfig(log_max_bytes=40_000, log_max_body_bytes=10_000))
    for i in range(6):
        c.post("/v1/messages", headers=headers(), json=body(f"{i}" * 30_000))
    entries = c.get("/_conformance/requests", headers=control(c)).json()["requests"][key_fingerprint(BUILD)]
    assert 1 <= len(entries) < 6
    last = entries[-1]
    assert last["body_truncated"] is True and last["body_bytes"] > 30_000
    assert isinstance(last["body"], str) and len(last["body"]) <= 10_000 and last["body"].startswith('{"model"')
    assert last["status"] == 200


def test_bad_log_limits_are_input_errors() -> None:
    from conformance.errors import InputError

    for field in ("log_max_requests", "log_max_bytes", "log_max_body_bytes"):
        with pytest.raises(InputError, match=field):
            ServerConfig(**{field: -1})


def test_a_body_too_large_to_serve_is_logged_as_such(make_client: Any) -> None:
    c = make_client(ServerConfig(max_body_bytes=2048))
    c.post("/v1/messages", headers=headers(), content=orjson.dumps(body("x" * 4096)))
    (entry,) = c.get("/_conformance/requests", headers=control(c)).json()["requests"][key_fingerprint(BUILD)]
    assert entry["status"] == 413 and entry["body"] is None and entry["body_truncated"] is True
