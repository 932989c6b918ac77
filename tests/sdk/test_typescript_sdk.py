"""The official TypeScript SDK (@anthropic-ai/sdk, unmodified) against the reference server, through the
shipped driver (conformance/sdk/drivers/typescript/driver.mjs): what the server does, seen through it.

How the SDK itself behaves is `conformance sdk typescript`'s job (test_sdk_official.py, `nox -s sdk`).
The SDK is installed once, by npm from the shipped lockfile, into the SDK cache; skipped, with the reason
shown, only where node or npm is absent.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from conformance.sdk.driverproc import DriverProcess, driver_environment
from conformance.sdk.environments import DriverCommand, driver_for
from conformance.sdk.protocol import DriverResult, parse_result, scenario_line
from tests.sdk.conftest import KEY

pytestmark = pytest.mark.sdk

MODEL = "claude-sonnet-4-20250514"
MESSAGES = [{"role": "user", "content": "Hello, Claude!"}]


@pytest.fixture(scope="session")
def node_sdk() -> DriverCommand:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not found on PATH: the TypeScript SDK tests need node >= 18 and npm")
    return driver_for("typescript", None, None)


def run_ts(driver: DriverCommand, url: str, *calls: tuple[str, dict[str, Any]], key: str = KEY) -> list[DriverResult]:
    """Each (call, params) through one driver process, as protocol lines; the results in order."""
    env = driver_environment(os.environ, {**driver.env, "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": key})
    results = []
    with DriverProcess(driver, env) as proc:
        for call, params in calls:
            line = {"protocol": 1, "scenario": "test", "call": call, "params": params,
                    "client": {"max_retries": 0, "timeout": 10}}
            answer = proc.ask(scenario_line(line), 30)
            assert answer.line is not None, answer.problem
            results.append(parse_result(answer.line))
    return results


def ok(result: DriverResult) -> Any:
    assert result.outcome == "ok", result.shown()
    return result.response


def test_create_count_tokens_and_models(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES}
    create, counted, models, one = run_ts(
        node_sdk, server, ("messages.create", params),
        ("messages.count_tokens", {"model": MODEL, "messages": MESSAGES}),
        ("models.list", {"limit": 2}), ("models.retrieve", {"model_id": MODEL}))
    msg = ok(create)
    assert msg["type"] == "message" and msg["content"][0]["text"]
    assert ok(counted) == {"input_tokens": msg["usage"]["input_tokens"]}
    ids = [m["id"] for m in ok(models)]
    assert MODEL in ids and len(ids) == len(set(ids)) > 2
    assert ok(one)["id"] == MODEL


def test_real_errors_raise_the_sdk_class(node_sdk, server):
    params = {"model": MODEL, "max_tokens": 16, "messages": MESSAGES}
    (wrong,) = run_ts(node_sdk, server, ("messages.create", params), key="sk-wrong")
    (forbidden,) = run_ts(node_sdk, server, ("messages.create", params), key="sk-ant-test-forbidden")
    unknown, sampling = run_ts(node_sdk, server, ("messages.create", {**params, "model": "claude-imaginary-9"}),
                               ("messages.create", {**params, "temperature": 0.5}))
    classes = [r.error.cls if r.error else None for r in (wrong, forbidden, unknown, sampling)]
    assert classes == ["AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError"]
    # @anthropic-ai/sdk 1.x sends 2026-10-21, which rejects temperature.
    assert sampling.error is not None and "temperature:" in sampling.error.message


def test_model_objects_lifecycle_filter_and_aliases(node_sdk, server):
    params = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": MESSAGES}
    every, deprecated, retired, one, created, streamed = run_ts(
        node_sdk, server,
        ("models.list", {"limit": 1000}), ("models.list", {"limit": 1000, "lifecycle": ["deprecated"]}),
        ("models.list", {"lifecycle": ["retired"]}), ("models.retrieve", {"model_id": "claude-sonnet-4-5"}),
        ("messages.create", params), ("messages.stream", params))
    every_ids, deprecated_ids = {m["id"] for m in ok(every)}, {m["id"] for m in ok(deprecated)}
    assert MODEL in deprecated_ids and deprecated_ids < every_ids
    assert ok(retired) == []
    model = ok(one)
    assert model["id"] == "claude-sonnet-4-5-20250929" and model["lifecycle"] == "deprecated"
    assert model["max_input_tokens"] > 0 and model["retires_at"]
    msg = ok(created)
    assert msg["model"] == model["id"]
    assert msg["stop_details"] is None and msg["usage"]["cache_read_input_tokens"] == 0
    assert {k: v for k, v in ok(streamed).items() if k != "parsed_output"} == msg


def test_the_installed_typescript_sdk_has_no_unexplained_drift(node_sdk):
    from conformance.drift import run_drift

    run = run_drift("typescript", sdk_path=node_sdk.env["CONFORMANCE_SDK_PATH"])
    assert run.sdk.sends_version == "2026-10-21"
    assert run.unexplained == 0, [d for p in run.profiles for d in p.unexplained]
    lifecycle = [r for p in run.profiles for r in p.results if r.difference.path == "$.lifecycle"]
    assert lifecycle and all(r.difference.kind == "sdk-requires" for r in lifecycle)
