"""`serve` is safe to leave running: slow and vanishing clients, exhausted file descriptors, bad arguments.

Timeouts here are guards (a test fails instead of hanging), never what is asserted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.server import ServerConfig, create_app, running_server
from conformance.server.run import RepeatedConditionFilter
from tests.server.support import body, headers

GUARD = 15.0


def _serve_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance", "serve", *args]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_serve_cmd(*args), capture_output=True, text=True, timeout=GUARD)


# -- a client that vanishes mid-body ----------------------------------------------------------------------------


def test_a_client_gone_mid_body_is_no_error(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(ServerConfig())
    payload = json.dumps(body()).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/messages", "raw_path": b"/v1/messages", "query_string": b"", "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in headers().items()]
             + [(b"content-length", str(len(payload)).encode())],
             "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 80)}
    messages = iter([{"type": "http.request", "body": payload[:10], "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(app(scope, receive, send))  # before: ClientDisconnect escaped, uvicorn logged a traceback
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_client_gone_mid_body_leaves_no_traceback_in_serve(tmp_path: Path) -> None:
    proc = subprocess.Popen(_serve_cmd("--port", "0", "--control-token", "token-for-the-test"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = _url_from(proc)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=GUARD) as s:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: sk-ant-test-build\r\n"
                      b"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
                      b"content-length: 100000\r\n\r\n{\"model\": ")
        assert httpx.post(url + "/v1/messages", headers=headers(), json=body(), timeout=GUARD).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=GUARD)
    assert "Traceback" not in err and "Exception in ASGI application" not in err, err


def _url_from(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, line + (proc.stderr.read() if proc.stderr else "")
    return line.split()[line.split().index("on") + 1]


# -- slow clients ---------------------------------------------------------------------------------------------


def test_a_connection_that_never_sends_its_headers_is_closed() -> None:
    with running_server(ServerConfig(), header_timeout=0.3) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=GUARD) as s:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n")  # and never the rest
            assert s.recv(1024) == b""  # closed by the server (the socket timeout is the guard)
        # Complete requests are unaffected.
        assert httpx.post(url + "/v1/messages", headers=headers(), json=body(), timeout=GUARD).status_code == 200


def test_a_repeated_condition_is_logged_once_then_counted() -> None:
    now = [1000.0]
    f = RepeatedConditionFilter(window=60.0, clock=lambda: now[0])

    def record(msg: str, exc: bool = True) -> logging.LogRecord:
        info = (OSError, OSError(24, "Too many open files"), None) if exc else None
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, (), info)

    first = record("socket.accept() out of system resource")
    assert f.filter(first) is True
    assert first.exc_info is None and "too many open files" in first.getMessage().lower()
    assert [f.filter(record("socket.accept() out of system resource")) for _ in range(100)] == [False] * 100
    now[0] += 61
    again = record("socket.accept() out of system resource")
    assert f.filter(again) is True and "100 more" in again.getMessage()
    assert f.filter(record("something else entirely", exc=False)) is True


def test_exhausted_file_descriptors_are_logged_once_and_the_server_recovers() -> None:
    code = ("import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96)); "
            "from conformance.server import serve; "
            "serve('127.0.0.1', 0, 0, None, control_token='token-for-the-test', header_timeout=1.0)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    held: list[socket.socket] = []
    try:
        url = _url_from(proc)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        for _ in range(150):
            held.append(socket.create_connection((host, int(port)), timeout=GUARD))
        time.sleep(2.5)  # let the server meet the limit at several accept retries (it retries each second)
        for s in held:
            s.close()
        held.clear()
        # Once the silent connections are closed, the server serves again.
        deadline = time.monotonic() + GUARD
        while True:
            try:
                r = httpx.post(url + "/v1/messages", headers=headers(), json=body(), timeout=GUARD)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert r.status_code == 200
    finally:
        for s in held:
            s.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=GUARD)
    assert "Traceback" not in err, err[-2000:]
    assert err.lower().count("too many open files") == 1, err[-2000:]


# -- bad arguments: one line, exit 2 --------------------------------------------------------------------------


def _one_line_exit_2(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(("args", "fragment"), [
    (["--port", "99999"], "--port 99999"),
    (["--port", "-1"], "--port -1"),
    (["--host", "not a host"], "--host 'not a host'"),
    (["--control-token", "has space"], "control token"),
    (["--mutant", "nope"], "unknown mutant"),
    (["--log-max-requests", "-5"], "--log-max-requests: -5: give at least 1"),
])
def test_bad_serve_arguments(args: list[str], fragment: str) -> None:
    _one_line_exit_2(_run(*args), fragment)


def test_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        _one_line_exit_2(_run("--port", port), "in use")


@pytest.mark.parametrize(("content", "fragment"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00binary", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"", "not valid JSON"),
    (b'{"keys": {"a": {"tier": "platinum"}}}', "unknown tier"),
])
def test_a_malformed_keys_file(tmp_path: Path, content: bytes, fragment: str) -> None:
    keys = tmp_path / "keys.json"
    keys.write_bytes(content)
    _one_line_exit_2(_run("--keys", str(keys)), fragment)


def test_a_keys_file_that_is_a_directory_or_missing(tmp_path: Path) -> None:
    _one_line_exit_2(_run("--keys", str(tmp_path)), "cannot read keys file")
    _one_line_exit_2(_run("--keys", str(tmp_path / "absent.json")), "cannot read keys file")


@pytest.mark.parametrize(("args", "warned"), [(["--host", "0.0.0.0"], True),
                                              (["--host", "0.0.0.0", "--control-token", "chosen-token"], False),
                                              (["--host", "127.0.0.1"], False)])
def test_a_reachable_host_warns_about_the_control_api(args: list[str], warned: bool) -> None:
    proc = subprocess.Popen(_serve_cmd("--port", "0", *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _url_from(proc)
        assert proc.stdout is not None
        printed = proc.stdout.readline() if "--control-token" not in args else ""
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert ("control API" in err and "reachable" in err) is warned, err
    assert ("Control API token:" in printed) is ("--control-token" not in args), printed
