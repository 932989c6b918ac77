"""Running the server: in a thread, as a blocking serve() stopped by Ctrl-C, and the keys file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from conformance.errors import InputError
from conformance.server import KeySpec, ServerConfig, load_keys_file, running_server
from tests.server.support import body, headers


def test_running_server_serves_and_stops():
    with running_server(ServerConfig(seed=3)) as url:
        assert url.startswith("http://127.0.0.1:")
        r = httpx.post(url + "/v1/messages", headers=headers(), json=body(), timeout=10)
        assert r.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/v1/messages", headers=headers(), json=body(), timeout=2)


def test_serve_prints_its_url_and_stops_cleanly_on_ctrl_c(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": {"sk-mine": {"tier": "scale"}}}))
    code = f"from conformance.server import serve; serve('127.0.0.1', 0, 5, {str(keys)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split()[line.split().index("on") + 1]
        r = httpx.post(url + "/v1/messages", headers=headers(key="sk-mine"), json=body(), timeout=10)
        assert r.status_code == 200
        assert r.headers["anthropic-ratelimit-requests-limit"] == "1000"
        assert httpx.post(url + "/v1/messages", headers=headers(), json=body(), timeout=10).status_code == 401
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_keys_file_forms(tmp_path):
    f = tmp_path / "k.json"
    f.write_text(json.dumps({"a": "free", "b": {"tier": "Scale", "forbidden": True}, "c": {"out_of_credit": True}}))
    assert load_keys_file(f) == {"a": KeySpec("free"), "b": KeySpec("scale", forbidden=True),
                                 "c": KeySpec("build", out_of_credit=True)}


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not valid JSON"),
    ("[]", "expected an object"),
    ('{"keys": {"a": {"tier": "platinum"}}}', "unknown tier 'platinum'"),
    ('{"keys": {"a": {"tier": "free", "admin": true}}}', "unknown field(s) admin"),
    ('{"keys": {"a": {"forbidden": "yes"}}}', "forbidden must be true or false"),
    ('{"keys": {"a": 3}}', "tier name or an object"),
])
def test_bad_keys_file_is_a_clear_input_error(tmp_path, content, fragment):
    f = tmp_path / "k.json"
    f.write_text(content)
    with pytest.raises(InputError) as info:
        load_keys_file(f)
    assert fragment in str(info.value) and str(f) in str(info.value)


def test_missing_keys_file(tmp_path):
    with pytest.raises(InputError, match="cannot read keys file"):
        load_keys_file(tmp_path / "absent.json")


def test_unknown_mutant_is_rejected():
    with pytest.raises(InputError, match="unknown mutant"):
        ServerConfig(mutant="break-everything")
