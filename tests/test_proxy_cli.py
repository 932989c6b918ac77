"""``conformance proxy`` as a user runs it: its own process, SDK programs in theirs, Ctrl-C to stop.

The Python SDK (``tests/sdk/examples.py``: create, stream, tools, count_tokens) and the TypeScript SDK
(``tests/sdk/ts/driver.mjs``) through the proxy in front of the reference server: zero findings. A broken client
is named live and in the reports; a mutant server is named; the recording is read back by ``lint``. In front of a
gateway's route (``--upstream http://gateway/anthropic``) every exchange is judged and recorded as in front of the
API's root.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.sdk.test_typescript_sdk import node_sdk, run_ts  # noqa: F401 (the fixture, shared)

KEY = "sk-ant-test-scale"
MODEL = "claude-sonnet-4-20250514"
HELLO = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]}


class ProxyProcess:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "conformance", "proxy", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert first.startswith("conformance proxy: http://"), first + self.process.stderr.read()  # type: ignore[union-attr]
        self.url = first.split()[2]

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out + err


@pytest.fixture
def proxy(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ProxyProcess]:
    extra = getattr(request, "param", ())
    running = ProxyProcess("--upstream", "reference", "--port", "0", "--report-dir", str(tmp_path / "reports"),
                           "--record", str(tmp_path / "recorded"), *extra)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.communicate()


def findings_of(tmp_path: Path) -> list[dict[str, object]]:
    return json.loads((tmp_path / "reports" / "findings.json").read_text())["findings"]


@pytest.mark.sdk
def test_the_python_sdk_examples_through_the_proxy_have_no_findings(proxy: ProxyProcess, tmp_path: Path) -> None:
    env = {**os.environ, "ANTHROPIC_BASE_URL": proxy.url, "ANTHROPIC_API_KEY": KEY}
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "sdk" / "examples.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "tools: tool_use" in done.stdout and "count_tokens:" in done.stdout
    code, out = proxy.stop()
    assert code == 0, out
    assert "conformance proxy: 5 exchanges, 0 errors, 0 warnings" in out
    assert [f for f in findings_of(tmp_path) if f["severity"] != "info"] == []
    assert (tmp_path / "reports" / "junit.xml").is_file() and (tmp_path / "reports" / "report.html").is_file()
    assert KEY not in out
    # The recording is a cassette lint reads: the same five exchanges, still conformant.
    lint = subprocess.run([sys.executable, "-m", "conformance", "lint", str(tmp_path / "recorded")],
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0 and "5 interactions, 0 errors" in lint.stdout, lint.stdout


@pytest.mark.sdk
def test_the_typescript_sdk_through_the_proxy_has_no_findings(node_sdk: Path, proxy: ProxyProcess,  # noqa: F811
                                                              tmp_path: Path) -> None:
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}]
    results = run_ts(node_sdk, proxy.url,
                     ("messages.create", HELLO),
                     ("messages.stream", HELLO),
                     ("messages.create", {**HELLO, "tools": tools, "tool_choice": {"type": "any"}}),
                     ("messages.count_tokens", {"model": MODEL, "messages": HELLO["messages"]}))
    assert all(r.outcome == "ok" for r in results), [r.shown() for r in results]
    code, out = proxy.stop(signal.SIGTERM)
    assert code == 0, out
    assert "conformance proxy: 4 exchanges, 0 errors, 0 warnings" in out
    assert [f for f in findings_of(tmp_path) if f["severity"] != "info"] == []


def test_a_broken_client_is_named_live_and_in_the_report(proxy: ProxyProcess, tmp_path: Path) -> None:
    headers = [("x-api-key", KEY), ("anthropic-version", "2023-06-01"), ("anthropic-version", "2023-06-01")]
    answer = httpx.post(proxy.url + "/v1/messages", headers=headers, json={**HELLO, "temperatur": 0.5})
    assert answer.status_code == 400  # what the reference server answered, passed on
    assert proxy.process.stdout is not None
    live = [proxy.process.stdout.readline(), proxy.process.stdout.readline()]
    assert all("#0 POST /v1/messages -> 400" in line and " client " in line for line in live), live
    assert any("request.version-duplicated" in line for line in live)
    assert any("temperatur" in line for line in live)
    code, _out = proxy.stop()
    assert code == 0  # the server rejected it as the API does: a client warning (--fail-on error)
    rules = {(f["rule"], f["party"]) for f in findings_of(tmp_path)}
    assert rules == {("request.rejected-as-expected", "client")}
    messages = " ".join(str(f["message"]) for f in findings_of(tmp_path))
    assert "request.version-duplicated" in messages and "temperatur" in messages


@pytest.mark.parametrize("proxy", [("--mutant", "no-message-stop", "--fail-on", "error")], indirect=True)
def test_a_mutant_server_is_named(proxy: ProxyProcess, tmp_path: Path) -> None:
    with httpx.stream("POST", proxy.url + "/v1/messages", headers={"x-api-key": KEY, "anthropic-version":
                                                                   "2023-06-01"}, json={**HELLO, "stream": True}) as r:
        body = b"".join(r.iter_raw())
    assert b"message_start" in body and b"message_stop" not in body
    code, out = proxy.stop()
    assert code == 1
    assert "server stream.message-stop" in out
    assert {(f["rule"], f["party"]) for f in findings_of(tmp_path)} == {("stream.message-stop", "server")}


@pytest.mark.parametrize("proxy", [("--max-requests", "2",)], indirect=True)
def test_max_requests_stops_the_proxy(proxy: ProxyProcess, tmp_path: Path) -> None:
    for _ in range(2):
        httpx.post(proxy.url + "/v1/messages", headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
                   json=HELLO)
    assert proxy.process.wait(timeout=30) == 0
    assert len(findings_of(tmp_path)) == 0 and (tmp_path / "reports" / "summary.md").is_file()


@pytest.fixture
def gateway_route(tmp_path: Path) -> Iterator[tuple[str, ProxyProcess]]:
    """``conformance proxy --upstream http://127.0.0.1:PORT/anthropic/``: the reference server mounted under a
    prefix, as a gateway's pass-through route serves the API (any path outside it is a 404)."""
    from tests.proxy_upstream import mounted_reference

    with mounted_reference("/anthropic") as upstream:
        running = ProxyProcess("--upstream", upstream + "/", "--port", "0", "--report-dir", str(tmp_path / "reports"),
                               "--record", str(tmp_path / "recorded"))
        yield upstream, running
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


@pytest.mark.sdk
def test_a_gateway_route_as_upstream_judges_every_exchange_and_records_it(
        gateway_route: tuple[str, ProxyProcess], tmp_path: Path) -> None:
    upstream, proxy = gateway_route
    env = {**os.environ, "ANTHROPIC_BASE_URL": proxy.url, "ANTHROPIC_API_KEY": KEY}
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "sdk" / "examples.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    headers = [("x-api-key", KEY), ("anthropic-version", "2023-06-01"), ("anthropic-version", "2023-06-01")]
    assert httpx.post(proxy.url + "/v1/messages", headers=headers, json=HELLO).status_code == 400
    code, out = proxy.stop()
    assert code == 0, out  # the broken client's request was rejected as the API does: a client warning
    assert "conformance proxy: 6 exchanges, 0 errors, 1 warnings" in out, out
    assert "#5 POST /anthropic/v1/messages -> 400" in out and "request.version-duplicated" in out
    assert {(f["rule"], f["party"]) for f in findings_of(tmp_path) if f["severity"] != "info"} == {
        ("request.rejected-as-expected", "client")}
    # The recording names where each request went, keeps every body, and lint judges all six exchanges.
    [cassette] = (tmp_path / "recorded").glob("*.yaml")
    interactions = yaml.safe_load(cassette.read_text())["interactions"]
    assert interactions[0]["request"]["uri"] == upstream + "/v1/messages"
    assert all(i["response"]["body"]["string"] for i in interactions)
    lint = subprocess.run([sys.executable, "-m", "conformance", "lint", "--format", "json", str(cassette)],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(lint.stdout)
    assert report["summary"]["interactions"] == 6 and report["summary"]["skipped"] == [], lint.stdout[:2000]
    assert {(f["rule"], f["party"]) for f in report["findings"] if f["severity"] != "info"} == {
        ("request.rejected-as-expected", "client")}
