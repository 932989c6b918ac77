"""The driver protocol: every scenario line is valid, and a hostile result line is one line of refusal."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from conformance.profiles import load_profiles
from conformance.sdk.protocol import MAX_RESULT_BYTES, ProtocolError, parse_result, scenario_line
from conformance.sdk.scenarios import CHECKS, scenarios

GOOD = {"protocol": 1, "sdk": {"name": "x", "version": "1"}, "outcome": "error",
        "error": {"class": "E", "kind": "api", "status": 429, "type": "rate_limit_error", "message": "m",
                  "request_id": "req_1"}, "stream": {"events": ["message_start"], "text": ""}, "elapsed_ms": 3.5}


@pytest.mark.parametrize("version", load_profiles().versions)
def test_every_scenario_is_a_valid_protocol_line_for_every_version(version):
    for scenario in scenarios(load_profiles().get(version)):
        line = scenario_line(scenario.line(version))
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line)["client"]["api_version"] == version
        assert all(info.id in CHECKS for info, _ in scenario.checks)


def test_a_valid_result_is_parsed_into_typed_data():
    result = parse_result(orjson.dumps(GOOD))
    assert result.outcome == "error" and result.error is not None
    assert (result.error.cls, result.error.status, result.error.type, result.error.request_id) == \
        ("E", 429, "rate_limit_error", "req_1")
    assert result.events == ("message_start",) and result.elapsed_ms == 3.5
    assert result.shown() == "error E (api 429 rate_limit_error)"


@pytest.mark.parametrize(("line", "says"), [
    (b"hello world", "printed 'hello world', not a JSON result"),
    (b"[" * 5000 + b"]" * 5000, "not a JSON result"),  # orjson refuses the depth itself
    (b"[" * 100 + b"]" * 100, "nested deeper than 64 levels"),
    (orjson.dumps({**GOOD, "outcome": "maybe"}), "result $.outcome: 'maybe' is not one of"),
    (orjson.dumps({**GOOD, "error": None}), "result $.error: None is not of type 'object'"),
    (orjson.dumps({k: v for k, v in GOOD.items() if k != "error"}), "'error' is a required property"),
    (orjson.dumps({**GOOD, "surprise": 1}), "Additional properties are not allowed"),
    (orjson.dumps({**GOOD, "protocol": 2}), "result $.protocol: 1 was expected"),
    (b'{"x": "' + b"a" * MAX_RESULT_BYTES + b'"}', "over the 4194304 the protocol allows"),
])
def test_a_hostile_result_is_one_line_naming_what_is_wrong(line, says):
    with pytest.raises(ProtocolError) as info:
        parse_result(line)
    message = str(info.value)
    assert says in message and "\n" not in message and len(message) < 400


def test_the_python_driver_reports_a_missing_beta_namespace_as_unsupported() -> None:
    """anthropic before 0.3x has no client.beta: the beta scenario is not exercised, it is not a failure."""
    import importlib.util
    from pathlib import Path
    from types import SimpleNamespace

    pytest.importorskip("anthropic")
    path = Path(__file__).parents[2] / "conformance" / "sdk" / "drivers" / "python_anthropic.py"
    spec = importlib.util.spec_from_file_location("python_anthropic_driver", path)
    assert spec is not None and spec.loader is not None
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    old_client = SimpleNamespace(messages=SimpleNamespace(create=lambda **kw: kw))
    with pytest.raises(driver.Unsupported, match=r"has no client\.beta\.messages"):
        driver.resource(old_client, {"betas": ["tools-2024-04-04"]}, "messages")
    assert driver.resource(old_client, {}, "messages") is old_client.messages


_FAKE_SDK = """
class APIError extends Error {
  constructor(style, id) {
    super('500 scripted');
    this.status = 500;
    this.error = { type: 'error', error: { type: 'api_error', message: 'scripted' } };
    if (style === 'camel') this.requestID = id;
    if (style === 'snake') { this.request_id = id; this.headers = { 'request-id': id }; }
    if (style === 'headers') this.headers = new Headers({ 'request-id': id });
  }
}
class Anthropic {
  constructor() {
    this.messages = { create: async (p) => { throw new APIError(p.metadata.user_id, 'req_' + p.metadata.user_id); } };
  }
}
module.exports = { default: Anthropic, APIError };
"""


@pytest.mark.parametrize("style", ["camel", "snake", "headers"])
def test_the_typescript_driver_reads_the_request_id_of_every_sdk_generation(tmp_path: Path, style: str) -> None:
    """`requestID` (0.3x on), `request_id` (before), or only the answer's header: the id is read, not lost."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the TypeScript driver cannot run here")
    package = tmp_path / "node_modules" / "@anthropic-ai" / "sdk"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@anthropic-ai/sdk", "version": "0.0.1",
                                                      "main": "index.js"}))
    (package / "index.js").write_text(_FAKE_SDK)
    (tmp_path / "package.json").write_text("{}")
    driver = Path(__file__).parents[2] / "conformance" / "sdk" / "drivers" / "typescript" / "driver.mjs"
    scenario = {"protocol": 1, "client": {"max_retries": 0, "timeout": 1}, "call": "messages.create",
                "params": {"model": "m", "max_tokens": 1, "messages": [], "metadata": {"user_id": style}}}
    done = subprocess.run([node, str(driver)], input=json.dumps(scenario) + "\n", capture_output=True, text=True,
                          timeout=30, env={"PATH": "/usr/bin:/bin", "CONFORMANCE_SDK_PATH": str(tmp_path),
                                           "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "error" and result["error"]["request_id"] == f"req_{style}"
    assert result["error"]["status"] == 500 and result["error"]["type"] == "api_error"
