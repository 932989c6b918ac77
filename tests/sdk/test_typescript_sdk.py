"""The official TypeScript SDK (@anthropic-ai/sdk, unmodified) against the reference server.

A small node script (ts/driver.mjs) runs batches of SDK calls and prints their results as
JSON; the SDK is installed with npm from the committed package-lock.json into ts/node_modules
(git-ignored) on first use. Skipped, with the reason shown, only where node or npm is absent.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.conftest import logged

pytestmark = pytest.mark.sdk

TS = Path(__file__).parent / "ts"
MODEL = "claude-sonnet-4-20250514"
MESSAGES = [{"role": "user", "content": "Hello, Claude!"}]
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not found on PATH: the TypeScript SDK tests need node >= 18 and npm")
    # One installer at a time (pytest-xdist workers share the directory).
    with open(TS / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (TS / "node_modules" / "@anthropic-ai" / "sdk").is_dir():
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=TS,
                                  capture_output=True, text=True, timeout=240)
            if done.returncode != 0:
                pytest.fail(f"npm ci failed in {TS} (it needs the npm registry once):\n{done.stderr[-2000:]}")
    return Path(node)


def run_ts(node: Path, url: str, *steps: dict[str, Any]) -> list[dict[str, Any]]:
    done = subprocess.run([str(node), str(TS / "driver.mjs")], input=json.dumps({"baseURL": url, "steps": steps}),
                          capture_output=True, text=True, timeout=60, cwd=TS)
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def ok(result: dict[str, Any]) -> Any:
    assert result["ok"], result.get("error")
    return result["result"]


def wire(message: dict[str, Any]) -> dict[str, Any]:
    """The message without what the SDK adds on the client side (``parsed_output`` of structured outputs)."""
    return {k: v for k, v in message.items() if k != "parsed_output"}


def test_create_stream_count_models(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES}
    create, raw, helper, counted, models, one = run_ts(
        node_sdk, server,
        {"op": "create", "params": params},
        {"op": "stream_raw", "params": params},
        {"op": "stream_helper", "params": params},
        {"op": "count_tokens", "params": {"model": MODEL, "messages": MESSAGES}},
        {"op": "models_list", "params": {"limit": 2}},
        {"op": "models_retrieve", "params": {"id": MODEL}},
    )
    msg = ok(create)
    assert msg["type"] == "message" and msg["content"][0]["text"]
    events = ok(raw)
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == \
        msg["content"][0]["text"]
    streamed = ok(helper)
    assert wire(streamed["final"]) == msg
    assert streamed["text"] == msg["content"][0]["text"]
    assert ok(counted) == {"input_tokens": msg["usage"]["input_tokens"]}
    ids = ok(models)
    assert MODEL in ids and len(ids) == len(set(ids)) > 2
    assert ok(one)["id"] == MODEL
    sent = {k.lower(): v for k, v in logged(server)[0]["headers"]}
    assert sent["anthropic-version"] == "2026-10-21"
    assert sent.get("authorization") == "Bearer REDACTED" or sent.get("x-api-key") == "REDACTED"


@pytest.mark.parametrize("extra", [{"tools": [WEATHER], "tool_choice": {"type": "any"}},
                                   {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048}])
def test_stream_helper_final_message_with_tools_and_thinking(node_sdk, server, extra):
    params = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES, **extra}
    create, helper = run_ts(node_sdk, server, {"op": "create", "params": params},
                            {"op": "stream_helper", "params": params})
    assert wire(ok(helper)["final"]) == ok(create)


ERRORS = [(400, "BadRequestError"), (401, "AuthenticationError"), (402, "PaymentRequiredError"),
          (403, "PermissionDeniedError"), (404, "NotFoundError"), (408, "RequestTimeoutError"),
          (409, "ConflictError"), (413, "ContentTooLargeError"), (429, "RateLimitError"),
          (500, "InternalServerError"), (503, "ServiceUnavailableError"), (504, "GatewayTimeoutError"),
          (529, "OverloadedError")]


def test_each_error_status_raises_the_sdk_class(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 16, "messages": MESSAGES}
    results = run_ts(node_sdk, server, *[{"op": "create", "params": params, "scenario": [{"status": s}]}
                                         for s, _ in ERRORS])
    for (status, cls), result in zip(ERRORS, results, strict=True):
        assert not result["ok"]
        err = result["error"]
        assert cls in err["classes"], (status, err)
        assert err["status"] == status
        assert err["requestID"] and err["requestID"].startswith("req_")


def test_real_errors_raise_the_sdk_class(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 16, "messages": MESSAGES}
    results = run_ts(node_sdk, server,
                     {"op": "create", "params": params, "key": "sk-wrong"},
                     {"op": "create", "params": params, "key": "sk-ant-test-forbidden"},
                     {"op": "create", "params": {**params, "model": "claude-imaginary-9"}},
                     {"op": "create", "params": {**params, "temperature": 0.5}})
    classes = [r["error"]["classes"][0] for r in results]
    assert classes == ["AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError"]
    assert results[3]["error"]["body"]["error"]["message"].startswith("temperature:")


def test_retries_honour_retry_after_ms(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 16, "messages": MESSAGES}
    (result,) = run_ts(node_sdk, server, {"op": "create", "params": params, "maxRetries": 2,
                                          "scenario": [{"status": 429, "retry_after_ms": 60, "retry_after": 30},
                                                       {"status": 529, "retry_after_ms": 60}]})
    ok(result)
    log = logged(server)
    assert len(log) == 3
    counts = [dict((k.lower(), v) for k, v in e["headers"]).get("x-stainless-retry-count") for e in log]
    assert counts == ["0", "1", "2"]
    assert log[2]["time"] - log[0]["time"] < 25
    assert log[1]["time"] - log[0]["time"] >= 0.05


def test_should_retry_false_mid_stream_error_and_unknown_events(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES}
    no_retry, mid_stream, unknown, plain = run_ts(
        node_sdk, server,
        {"op": "create", "params": params, "maxRetries": 2, "scenario": [{"status": 500, "should_retry": False}]},
        {"op": "stream_helper", "params": params, "scenario": [{"stream_error_after": 4}]},
        {"op": "stream_helper", "params": params, "scenario": [{"unknown_events": True}]},
        {"op": "create", "params": params},
    )
    assert "InternalServerError" in no_retry["error"]["classes"]
    assert len(logged(server)) == 4
    assert "APIError" in mid_stream["error"]["classes"]
    assert "overloaded" in mid_stream["error"]["message"].lower()
    assert wire(ok(unknown)["final"]) == ok(plain)


def test_dropped_connection_is_a_connection_error(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 16, "messages": MESSAGES}
    dropped, retried = run_ts(node_sdk, server,
                              {"op": "create", "params": params, "scenario": [{"drop_after": 0}]},
                              {"op": "create", "params": params, "maxRetries": 1, "scenario": [{"drop_after": 0}]})
    assert not dropped["ok"]
    assert "APIConnectionError" in dropped["error"]["classes"]
    assert ok(retried)["type"] == "message"
    assert len(logged(server)) == 3


def test_model_objects_lifecycle_filter_and_aliases(node_sdk, server):
    params = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": MESSAGES}
    every, deprecated, retired, one, created, helper = run_ts(
        node_sdk, server,
        {"op": "models_list", "params": {"limit": 1000}},
        {"op": "models_list", "params": {"limit": 1000, "lifecycle": ["deprecated"]}},
        {"op": "models_list", "params": {"lifecycle": ["retired"]}},
        {"op": "models_retrieve", "params": {"id": "claude-sonnet-4-5"}},
        {"op": "create", "params": params},
        {"op": "stream_helper", "params": params},
    )
    assert MODEL in ok(deprecated) and set(ok(deprecated)) < set(ok(every))
    assert ok(retired) == []
    model = ok(one)
    assert model["id"] == "claude-sonnet-4-5-20250929" and model["lifecycle"] == "deprecated"
    assert model["max_input_tokens"] > 0 and model["retires_at"]
    msg = ok(created)
    assert msg["model"] == model["id"]
    assert msg["stop_details"] is None and msg["usage"]["cache_read_input_tokens"] == 0
    assert wire(ok(helper)["final"]) == msg


def test_the_installed_typescript_sdk_has_no_unexplained_drift(node_sdk):
    from conformance.drift import run_drift

    run = run_drift("typescript", sdk_path=str(TS))
    assert run.sdk.sends_version == "2026-10-21"
    assert run.unexplained == 0, [d for p in run.profiles for d in p.unexplained]
    lifecycle = [r for p in run.profiles for r in p.results if r.difference.path == "$.lifecycle"]
    assert lifecycle and all(r.difference.kind == "sdk-requires" for r in lifecycle)
