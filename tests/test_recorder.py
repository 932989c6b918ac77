"""Cassette record/replay over vcrpy: real HTTP through httpx against real local servers, then replay offline."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import secrets as token
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from vcr.request import Request as VcrRequest

from conformance.cassettes.recorder import (
    MATCH_ON,
    RECORD_MODES,
    ReadableYamlSerializer,
    cassette_name,
    contract_headers,
    json_body,
    make_vcr,
    use_cassette,
)
from conformance.cassettes.redact import REDACTED
from conformance.errors import InputError, UsageError

ORG_ID = "org-" + token.token_hex(6)
COOKIE = "session=" + token.token_hex(8)


def fake_key() -> str:
    # built at run time so no key-shaped literal sits in the repository
    return "-".join(("sk", "ant", "api03", token.token_urlsafe(30)))


# --- a tiny server that misbehaves the ways redaction must survive --------------------------------

def _sse(key: str, n: int) -> Iterator[bytes]:
    events = [("message_start", {"type": "message_start", "n": n}),
              ("content_block_delta", {"type": "content_block_delta", "delta": {"text": f"key was {key}"}}),
              ("message_stop", {"type": "message_stop"})]
    for name, data in events:
        yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _app() -> Starlette:
    count = {"n": 0}

    async def messages(request: Request) -> Response:
        count["n"] += 1
        key = request.headers.get("x-api-key", "")
        body: Any = json.loads(await request.body() or b"{}")
        echo = {"x-echo-key": key, "anthropic-organization-id": ORG_ID, "set-cookie": COOKIE}
        if isinstance(body, dict) and body.get("stream"):
            return StreamingResponse(_sse(key, count["n"]), media_type="text/event-stream", headers=echo)
        # padded so the gzip middleware compresses it
        return JSONResponse({"n": count["n"], "saw": body, "key_was": key, "pad": "x" * 600}, headers=echo)

    return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])],
                     middleware=[Middleware(GZipMiddleware, minimum_size=100)])


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _headers(key: str | None, version: str = "2023-06-01") -> dict[str, str]:
    h = {"anthropic-version": version, "content-type": "application/json"}
    if key is not None:
        h["x-api-key"] = key
    return h


def _post(client: httpx.Client, url: str, body: bytes, key: str | None, version: str = "2023-06-01") -> httpx.Response:
    return client.post(url + "/v1/messages", content=body, headers=_headers(key, version))


def _stream(client: httpx.Client, url: str, body: bytes, key: str) -> tuple[int, httpx.Headers, bytes]:
    with client.stream("POST", url + "/v1/messages", content=body, headers=_headers(key)) as r:
        return r.status_code, r.headers, b"".join(r.iter_bytes())


PLAIN = json.dumps({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode()
STREAMED = json.dumps({"model": "m", "max_tokens": 5, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()


def _record_echo(tmp_path: Path, key: str, name: str = "echo") -> tuple[str, list[tuple[int, httpx.Headers, bytes]]]:
    """Record one plain and one streamed exchange; return the server URL and what the client saw."""
    my_vcr = make_vcr(tmp_path, "once", secrets=[key])
    seen = []
    with echo_server() as url, httpx.Client() as client, use_cassette(my_vcr, name):
        r = _post(client, url, PLAIN, key)
        seen.append((r.status_code, r.headers, r.content))
        seen.append(_stream(client, url, STREAMED, key))
    return url, seen


def _expected_after_redaction(headers: httpx.Headers, body: bytes, key: str) -> tuple[dict[str, str], bytes]:
    clean = body.replace(key.encode(), REDACTED.encode())
    out = {}
    for name, value in headers.multi_items():
        if name in ("x-echo-key",):
            value = value.replace(key, REDACTED)
        elif name in ("set-cookie", "anthropic-organization-id"):
            value = REDACTED
        elif name == "content-encoding":
            continue  # stored decoded, replayed decoded
        elif name == "content-length":
            value = str(len(clean))
        out[name] = value
    return out, clean


# --- record, stop, replay ---------------------------------------------------------------------------

def test_replay_with_the_server_stopped_gives_the_recorded_exchanges(tmp_path: Path) -> None:
    key = fake_key()
    url, seen = _record_echo(tmp_path, key)
    assert seen[0][1].get("content-encoding") == "gzip", "the JSON response should have been compressed"

    replayed = []
    with httpx.Client() as client, use_cassette(make_vcr(tmp_path, "none"), "echo"):
        r = _post(client, url, PLAIN, key)
        replayed.append((r.status_code, r.headers, r.content))
        replayed.append(_stream(client, url, STREAMED, key))

    for (status, headers, body), (r_status, r_headers, r_body) in zip(seen, replayed, strict=True):
        want_headers, want_body = _expected_after_redaction(headers, body, key)
        assert r_status == status == 200
        assert r_body == want_body
        assert dict(r_headers.items()) == want_headers
    assert json.loads(replayed[0][2])["n"] == 1
    assert b"event: message_stop" in replayed[1][2]


def test_the_key_and_identity_values_appear_nowhere_in_the_cassette(tmp_path: Path) -> None:
    key = fake_key()
    _record_echo(tmp_path, key)
    data = (tmp_path / "echo.yaml").read_bytes()
    for secret in (key, ORG_ID, COOKIE):
        assert secret.encode() not in data
    assert b"sk-ant-" not in data
    stored = yaml.safe_load(data)["interactions"]
    assert stored[0]["request"]["headers"]["x-api-key"] == [REDACTED]
    assert stored[0]["response"]["headers"]["anthropic-organization-id"] == [REDACTED]
    assert stored[1]["response"]["headers"]["x-echo-key"] == [REDACTED]


def test_key_shaped_strings_are_redacted_even_when_not_given_as_secrets(tmp_path: Path) -> None:
    key = fake_key()
    my_vcr = make_vcr(tmp_path, "once")  # no secrets passed
    with echo_server() as url, httpx.Client() as client, use_cassette(my_vcr, "unlisted"):
        _post(client, url, json.dumps({"note": key}).encode(), key)
    assert key.encode() not in (tmp_path / "unlisted.yaml").read_bytes()


def test_literal_secrets_that_are_not_key_shaped_are_redacted(tmp_path: Path) -> None:
    secret = "gateway-token-" + token.token_hex(10)
    my_vcr = make_vcr(tmp_path, "once", secrets=[secret])
    with echo_server() as url, httpx.Client() as client, use_cassette(my_vcr, "literal"):
        _post(client, url, json.dumps({"note": secret}).encode(), secret)
    data = (tmp_path / "literal.yaml").read_bytes()
    assert secret.encode() not in data
    assert data.count(REDACTED.encode()) >= 3  # request header, request body, echoed body and header


def test_sse_and_json_bodies_are_readable_text_in_the_file(tmp_path: Path) -> None:
    _record_echo(tmp_path, fake_key())
    text = (tmp_path / "echo.yaml").read_text("utf-8")
    assert "!!binary" not in text
    # a literal block, one line per SSE line
    assert re.search(r"string: \|\+?\n +event: message_start\n +data: \{", text)
    assert '"pad":"xxxx' in text  # the gunzipped JSON body on one line
    stored = yaml.safe_load(text)["interactions"]
    assert stored[1]["response"]["body"]["string"].startswith("event: message_start\n")
    assert json.loads(stored[0]["response"]["body"]["string"])["n"] == 1
    assert "content-encoding" not in stored[0]["response"]["headers"]


def test_the_cassette_file_is_readable_by_the_recording_reader(tmp_path: Path) -> None:
    read_recording = pytest.importorskip("conformance.cassettes").read_recording
    key = fake_key()
    _record_echo(tmp_path, key)
    recording = read_recording(tmp_path / "echo.yaml")
    assert recording.format == "vcrpy-yaml"
    plain, streamed = recording.exchanges
    assert plain.response is not None and plain.response.status == 200
    assert plain.request is not None and json.loads(plain.request.body) == json.loads(PLAIN)
    assert streamed.is_stream
    assert [e.name for e in streamed.events or []] == ["message_start", "content_block_delta", "message_stop"]


@pytest.mark.parametrize("text", [
    "event: a\ndata: {}\n\n", "a\r\nb\r\n", "trailing  \nspaces", "\n leading newline", "tab\there\n",
    "  indented\nline\n", "unicode é \u2028 x\n", "\x00 nul\n", " ".join(['{"word": 1}'] * 1000),
])
def test_readable_yaml_round_trips_bodies_exactly(text: str) -> None:
    stored = ReadableYamlSerializer.serialize({"body": {"string": text}})
    assert ReadableYamlSerializer.deserialize(stored) == {"body": {"string": text}}
    if "\n" not in text:
        assert text in stored  # a long one-line body stays one line: never folded


# --- matching ----------------------------------------------------------------------------------------

def test_json_key_order_does_not_matter_on_replay(tmp_path: Path) -> None:
    key = fake_key()
    url, _ = _record_echo(tmp_path, key)
    reordered = json.dumps(dict(reversed(list(json.loads(PLAIN).items()))), indent=2).encode()
    assert reordered != PLAIN
    with httpx.Client() as client, use_cassette(make_vcr(tmp_path, "none"), "echo"):
        r = _post(client, url, reordered, key)
    assert r.status_code == 200 and json.loads(r.content)["saw"] == json.loads(PLAIN)


def test_a_different_body_is_not_replayed_and_the_error_names_cassette_and_difference(tmp_path: Path) -> None:
    key = fake_key()
    url, _ = _record_echo(tmp_path, key)
    other = json.dumps({**json.loads(PLAIN), "max_tokens": 6}).encode()
    with pytest.raises(InputError) as err, httpx.Client() as client, \
            use_cassette(make_vcr(tmp_path, "none"), "echo"):
        _post(client, url, other, key)
    message = str(err.value)
    assert str(tmp_path / "echo.yaml") in message
    assert "json_body" in message and '-  "max_tokens": 5' in message and '+  "max_tokens": 6' in message
    assert "--record-mode new_episodes" in message
    assert key not in message


@pytest.mark.parametrize(("key_sent", "version", "differs_in"), [
    (False, "2023-06-01", "x-api-key: sent when recorded, absent in this request"),
    (True, "2099-01-01", "anthropic-version: '2023-06-01' recorded, '2099-01-01' in this request"),
])
def test_requests_differing_in_contract_headers_are_not_replayed(
        tmp_path: Path, key_sent: bool, version: str, differs_in: str) -> None:
    key = fake_key()
    url, _ = _record_echo(tmp_path, key)
    with pytest.raises(InputError, match="contract_headers") as err, httpx.Client() as client, \
            use_cassette(make_vcr(tmp_path, "none"), "echo"):
        _post(client, url, PLAIN, key if key_sent else None, version)
    assert differs_in in str(err.value)


def test_a_different_key_value_still_replays_because_keys_are_never_stored(tmp_path: Path) -> None:
    url, _ = _record_echo(tmp_path, fake_key())
    with httpx.Client() as client, use_cassette(make_vcr(tmp_path, "none"), "echo"):
        assert _post(client, url, PLAIN, fake_key()).status_code == 200


def test_identical_requests_replay_in_recorded_order_and_no_more_often(tmp_path: Path) -> None:
    key = fake_key()
    with echo_server() as url, httpx.Client() as client, use_cassette(make_vcr(tmp_path, "once"), "burst"):
        recorded = [json.loads(_post(client, url, PLAIN, key).content)["n"] for _ in range(3)]
    assert recorded == [1, 2, 3]
    replayed = []
    # vcrpy raises inside the HTTP call; use_cassette turns it into an InputError at the block's edge
    with pytest.raises(InputError, match="all been played back"), httpx.Client() as client, \
            use_cassette(make_vcr(tmp_path, "none"), "burst"):
        for _ in range(4):
            replayed.append(json.loads(_post(client, url, PLAIN, key).content)["n"])
    assert replayed == recorded
    with httpx.Client() as client, use_cassette(make_vcr(tmp_path, "none", allow_playback_repeats=True), "burst"):
        assert [json.loads(_post(client, url, PLAIN, key).content)["n"] for _ in range(5)] == [1] * 5


def test_replay_without_a_cassette_is_an_input_error_saying_how_to_record(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--record-mode once") as err, httpx.Client() as client, \
            use_cassette(make_vcr(tmp_path, "none"), "missing"):
        _post(client, "http://127.0.0.1:9", PLAIN, fake_key())
    assert str(tmp_path / "missing.yaml") in str(err.value)
    assert not (tmp_path / "missing.yaml").exists()


def test_new_episodes_adds_to_an_existing_cassette(tmp_path: Path) -> None:
    key = fake_key()
    _record_echo(tmp_path, key)
    other = json.dumps({**json.loads(PLAIN), "max_tokens": 6}).encode()
    with echo_server() as url, httpx.Client() as client, use_cassette(make_vcr(tmp_path, "new_episodes"), "echo"):
        assert json.loads(_post(client, url, PLAIN, key).content)["n"] == 1  # replayed, not re-sent
        assert json.loads(_post(client, url, other, key).content)["n"] == 1  # a fresh server's first request
    assert len(yaml.safe_load((tmp_path / "echo.yaml").read_text())["interactions"]) == 3


def test_matcher_json_body_semantics() -> None:
    def rq(body: bytes) -> VcrRequest:
        return VcrRequest("POST", "http://h/v1/messages", body, {})

    json_body(rq(b'{"a": 1, "b": [1, 2]}'), rq(b'{"b":[1,2],"a":1}'))
    json_body(rq(b"not json"), rq(b"not json"))
    for left, right in [(b'{"a": 1}', b'{"a": true}'), (b'{"a": 1}', b'{"a": 1.0}'),
                        (b'{"b": [1, 2]}', b'{"b": [2, 1]}'), (b'{"a": 1, "a": 2}', b'{"a": 2}'),
                        (b"not json", b"not json!"), (b"{}", b"not json")]:
        with pytest.raises(AssertionError):
            json_body(rq(left), rq(right))


def test_matcher_contract_headers() -> None:
    def rq(headers: dict[str, str]) -> VcrRequest:
        return VcrRequest("POST", "http://h/v1/messages", b"{}", headers)

    contract_headers(rq({"x-api-key": "a", "Anthropic-Version": "v"}),
                     rq({"X-Api-Key": REDACTED, "anthropic-version": "v"}))
    with pytest.raises(AssertionError, match="anthropic-beta"):
        contract_headers(rq({"anthropic-beta": "x"}), rq({}))
    with pytest.raises(AssertionError, match="authorization"):
        contract_headers(rq({"authorization": "Bearer a"}), rq({}))


# --- configuration -----------------------------------------------------------------------------------

def test_record_modes_are_vcrpys_and_anything_else_is_a_usage_error(tmp_path: Path) -> None:
    for mode in RECORD_MODES:
        assert make_vcr(tmp_path, mode).record_mode.value == mode
    with pytest.raises(UsageError) as err:
        make_vcr(tmp_path, "record")
    assert "none, once, new_episodes, all" in str(err.value) and "'record'" in str(err.value)


def test_vcr_is_configured_to_match_and_decode_as_documented(tmp_path: Path) -> None:
    my_vcr = make_vcr(tmp_path)
    assert my_vcr.match_on == MATCH_ON
    assert {"method", "path", "json_body"} <= set(MATCH_ON)
    assert my_vcr.decode_compressed_response is True
    assert my_vcr.get_merged_config()["allow_playback_repeats"] is False


@pytest.mark.parametrize(("test_id", "expected_prefix"), [
    ("test_plain", "test_plain"),
    ("tests/test_x.py::TestA::test_b[param-1/2 x]", "tests-test_x.py-TestA-test_b-param-1-2-x-"),
    ("../../etc/passwd", "etc-passwd-"),
    ("", "cassette-"),
])
def test_cassette_name_is_a_safe_file_name(test_id: str, expected_prefix: str) -> None:
    name = cassette_name(test_id)
    assert name.startswith(expected_prefix)
    assert all(c.isalnum() or c in "._-" for c in name)
    assert not name.startswith(".") and "/" not in name
    assert cassette_name(test_id) == name  # stable across calls (and so across runs)


def test_cassette_names_do_not_collide_or_grow_without_bound() -> None:
    assert cassette_name("a/b") != cassette_name("a-b")
    assert cassette_name("a/b") != cassette_name("a:b")
    long_ids = ["x" * 300 + "1", "x" * 300 + "2"]
    names = [cassette_name(i) for i in long_ids]
    assert names[0] != names[1] and all(len(n) < 140 for n in names)


# --- against the reference server ----------------------------------------------------------------------

def test_reference_server_exchanges_round_trip_through_a_cassette(tmp_path: Path) -> None:
    server = pytest.importorskip("conformance.server", reason="the reference server is not importable")
    key = fake_key()
    config = server.ServerConfig(keys={key: server.KeySpec("scale")})
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 30,
                       "messages": [{"role": "user", "content": "hello"}]}).encode()
    stream_body = json.dumps({**json.loads(body), "stream": True}).encode()
    with server.running_server(config) as url, httpx.Client() as client, \
            use_cassette(make_vcr(tmp_path, "once", secrets=[key]), cassette_name("reference::round trip")):
        plain = _post(client, url, body, key)
        streamed = _stream(client, url, stream_body, key)
    assert plain.status_code == 200 and streamed[0] == 200
    [path] = tmp_path.glob("*.yaml")
    assert key.encode() not in path.read_bytes()
    with httpx.Client() as client, use_cassette(make_vcr(tmp_path, "none"), path.stem):
        assert _post(client, url, body, key).content == plain.content
        assert _stream(client, url, stream_body, key)[2] == streamed[2]
    gz = gzip.compress(path.read_bytes())
    assert key.encode() not in gzip.decompress(gz)
