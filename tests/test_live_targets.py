"""Live targets (a URL): an honest verdict whatever the target does, within a request budget.

The target is a small gateway (tests/gateway.py) in front of the reference server on loopback, broken
in one way per test. Each run is a real `conformance run` subprocess, bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gateway import echoed_forms, running_gateway, running_reference

# End to end: real `conformance` subprocesses (nox -s integration).
pytestmark = pytest.mark.integration

SCALE, FREE = "sk-ant-test-scale", "sk-ant-test-free"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "CONFORMANCE_KEY": SCALE, **(env or {})})


def live(url: str, report_dir: Path, *extra: str) -> list[str]:
    return ["--target", url, "--api-key-env", "CONFORMANCE_KEY", "--api-version", "2023-06-01",
            "--report-dir", str(report_dir), "--max-examples", "1", *extra]


def findings(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "findings.json").read_text())


def error_rules(report_dir: Path) -> set[str]:
    return {f["rule"] for f in findings(report_dir)["findings"] if f["severity"] == "error"}


@pytest.mark.parametrize(("target", "says"), [("http://[::1", "not a URL"), ("http://127.0.0.1:9", "cannot connect")])
def test_a_target_that_cannot_work_is_one_line_before_anything_starts(target: str, says: str, tmp_path: Path) -> None:
    proc = run("--target", target, "--api-key-env", "CONFORMANCE_KEY", "--report-dir", str(tmp_path), timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2
    assert says in output and "Traceback" not in output
    assert len([line for line in output.splitlines() if line.strip()]) <= 3


def test_an_unresponsive_target_is_a_verdict_not_a_hang(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream, "silent") as url:
        proc = run(*live(url, tmp_path, "--timeout", "1", "--stream-timeout", "1", "--select", "auth"))
    errors = [line for line in proc.stderr.splitlines() if line.startswith("conformance: error:")]
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert len(errors) == 1 and "stopped answering" in errors[0] and url in errors[0] and "/v1/messages" in errors[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    doc = findings(tmp_path)
    assert doc["summary"]["aborted"] and doc["summary"]["passed"] == 0
    assert "**Aborted:" in (tmp_path / "summary.md").read_text()


def test_a_stream_that_stalls_is_a_finding(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream, "stall-streams") as url:
        proc = run(*live(url, tmp_path, "--stream-timeout", "1", "--select", "stream", "--shrink-requests", "0",
                         "--", "-k", "many_block"))
    assert proc.returncode == 1, proc.stdout[-2000:]
    stalled = [f for f in findings(tmp_path)["findings"] if f["rule"] == "stream.stalled"]
    assert stalled and "stalled after event" in stalled[0]["message"]


def test_streams_ending_in_an_error_event_are_not_a_pass(tmp_path: Path) -> None:
    """A gateway that breaks every stream with an error event (of a type no profile knows)."""
    with running_reference() as upstream, running_gateway(upstream, "error-every-stream") as url:
        proc = run(*live(url, tmp_path, "--select", "positive"))
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "positive.completed" in error_rules(tmp_path)
    assert "positive.completed" in proc.stdout
    # The run ends shrinking itself (the request allowance): Hypothesis's "five minutes" warning is not shown.
    assert "five minutes" not in proc.stdout and "PLEASE REPORT" not in proc.stdout


def test_a_key_echoed_in_any_encoding_is_written_nowhere(tmp_path: Path) -> None:
    key = "sk-ant-api03-" + "Zq9" * 30  # a long key: its fragments are redacted too
    reports, cassettes = tmp_path / "reports", tmp_path / "cassettes"
    with running_reference(keys={key: "scale"}) as upstream, running_gateway(upstream, "echo-key") as url:
        proc = run(*live(url, reports, "--record-mode", "all", "--cassette-dir", str(cassettes), "--select", "auth",
                         "--select", "positive", "--", "-k", "many_block or auth_styles or wrong_key"),
                   env={"CONFORMANCE_KEY": key})
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".yaml" for p in written)
    forms = [key, *echoed_forms(key), key.replace("-", "\\u002d")]
    for path in written:
        data = path.read_bytes().decode("utf-8", "replace")
        leaked = [f for f in forms if f in data or f.replace("\n", "\\n") in data]
        assert not leaked, f"{path.name} holds the key as {leaked[0][:24]}..."
    output = proc.stdout + proc.stderr
    assert not [f for f in forms if f in output]


def test_dropping_retry_after_is_caught_with_a_free_tier_ratelimit_key(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream, "drop-retry-after") as url:
        proc = run(*live(url, tmp_path / "free", "--select", "ratelimit", "--ratelimit-key-env", "FREE_KEY",
                         "--max-wait", "1"), env={"FREE_KEY": FREE})
        assert proc.returncode == 1, proc.stdout[-2000:]
        assert "ratelimit.retry-after-missing" in error_rules(tmp_path / "free")
        # With only the Scale key the limit is out of the burst's reach: said, never counted as passed.
        proc = run(*live(url, tmp_path / "scale", "--select", "ratelimit"))
    assert proc.returncode == 0, proc.stdout[-2000:]
    summary = (tmp_path / "scale" / "summary.md").read_text()
    assert "rule `ratelimit.limit-enforced` | no 429 within the burst cap" in summary
    assert "--ratelimit-key-env" in summary


def test_the_run_says_up_front_what_it_may_cost_and_at_the_end_what_it_spent(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream) as url:
        proc = run(*live(url, tmp_path, "--select", "auth", "--max-requests", "500"))
    assert proc.returncode == 0, proc.stdout[-2000:]
    lines = proc.stdout.splitlines()
    announce = next(i for i, line in enumerate(lines) if "may send up to" in line)
    assert "caps: 500 requests" in lines[announce]
    assert any("checks; spent" in line for line in lines[announce:])
    spent = findings(tmp_path)["summary"]["spent"]
    assert 0 < spent["requests"] <= 500 and spent["max_requests"] == 500
    assert f"- spent: {spent['requests']} of 500 requests" in (tmp_path / "summary.md").read_text()


def test_caps_too_small_for_the_selection_are_said_before_anything_is_sent(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream) as url:
        proc = run(*live(url, tmp_path, "--select", "negative", "--max-requests", "5"))
    assert "the caps may leave some checks unexercised" in proc.stdout
    doc = findings(tmp_path)
    assert doc["summary"]["spent"]["requests"] <= 5
    idle = [c for c in doc["checks"] if c["outcome"] == "not-exercised"]
    assert idle and all("request cap reached" in c["reason"] for c in idle)


def requests_sent(fault: str, tmp_path: Path, *extra: str) -> int:
    """How many requests a `--select positive` run sent through a gateway with ``fault``."""
    from tests.gateway import Gateway, serving

    with running_reference() as upstream:
        gateway = Gateway(upstream, fault)
        with serving(gateway) as url:
            proc = run(*live(url, tmp_path / f"{fault}{'-'.join(extra)}", "--select", "positive", *extra))
    assert proc.returncode == 1, proc.stdout[-2000:]
    return gateway.requests


@pytest.mark.parametrize(("fault", "exit_code"), [(None, 0), ("flatten-errors", 1)])
def test_faults_scripted_behind_a_gateway_are_judged_as_it_passes_them_on(tmp_path: Path, fault: str | None,
                                                                         exit_code: int) -> None:
    """--upstream-control: the gateway is the target, the faults are scripted on the reference server behind it."""
    token = "control-token-for-this-test"
    with running_reference(control_token=token) as upstream, running_gateway(upstream, fault) as url:
        proc = run(*live(url, tmp_path, "--select", "fault", "--upstream-control", upstream,
                         "--upstream-control-token-env", "UPSTREAM_TOKEN"), env={"UPSTREAM_TOKEN": token})
    assert proc.returncode == exit_code, proc.stdout[-2000:]
    checks = {c["check"]: c["outcome"] for c in findings(tmp_path)["checks"] if c["check"].startswith("test_faults")}
    assert checks and "not-exercised" not in checks.values(), checks
    if fault is None:
        assert set(checks.values()) == {"passed"}
    else:  # 529 overloaded_error arrives as 500 api_error: caught by the fault's own rule
        assert "fault.error-mapping" in error_rules(tmp_path)
        assert checks["test_faults::test_scripted_http_errors_map_status_to_type[2023-06-01-529]"] == "failed"
    assert token not in (tmp_path / "findings.json").read_text() + proc.stdout


def test_upstream_control_is_refused_where_it_cannot_apply(tmp_path: Path) -> None:
    proc = run("--target", "reference", "--upstream-control", "http://127.0.0.1:9", "--report-dir", str(tmp_path))
    assert proc.returncode == 2 and "applies to a URL target only" in proc.stdout + proc.stderr
    with running_reference() as upstream:
        proc = run(*live(upstream, tmp_path, "--upstream-control", "http://127.0.0.1:9"))
    assert proc.returncode == 2 and "--upstream-control http://127.0.0.1:9" in proc.stdout + proc.stderr


def test_a_failing_check_spends_a_bounded_number_of_requests_looking_for_a_smaller_example(tmp_path: Path) -> None:
    # A gateway refusing large requests: a failure a smaller request can avoid, so shrinking has work to do.
    alone = requests_sent("reject-large", tmp_path, "--max-examples", "5", "--shrink-requests", "0")
    allowed = requests_sent("reject-large", tmp_path, "--max-examples", "5", "--shrink-requests", "3")
    assert 0 < allowed - alone <= 3, (alone, allowed)


def test_an_answer_that_never_arrived_is_not_shrunk(tmp_path: Path) -> None:
    """No smaller request makes "the stream ended in an error" clearer: not one request goes to shrinking it."""
    alone = requests_sent("error-every-stream", tmp_path, "--shrink-requests", "0")
    assert requests_sent("error-every-stream", tmp_path, "--shrink-requests", "25") == alone


def test_one_pervasive_fault_reads_as_one_line_and_a_quick_verdict_skips_its_repeats(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream, "422-for-400") as url:
        full = run(*live(url, tmp_path / "full", "--select", "negative"))
        quick = run(*live(url, tmp_path / "quick", "--select", "negative", "--first-failure-per-rule"))
    assert full.returncode == quick.returncode == 1
    summary = (tmp_path / "full" / "summary.md").read_text()
    cause = next(line for line in summary.splitlines() if line.startswith("- `negative.status`"))
    checks = findings(tmp_path / "full")["summary"]["failed"]
    assert f"{checks} checks, all answered [422" in cause and 'where [400, "invalid_request_error"]' in cause
    doc = findings(tmp_path / "quick")
    assert doc["summary"]["failed"] == 1
    idle = [c for c in doc["checks"] if c["outcome"] == "not-exercised"]
    assert idle and all("negative already failed in" in c["reason"] for c in idle)


def test_ignored_rules_and_areas_are_left_out(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream, "drop-request-id") as url:
        proc = run(*live(url, tmp_path, "--select", "auth", "--ignore", "error.request-id-missing"))
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "error.request-id-missing" not in {f["rule"] for f in findings(tmp_path)["findings"]}


def test_a_gateway_that_accepts_a_bad_models_query_is_caught(tmp_path: Path) -> None:
    with running_reference() as upstream, running_gateway(upstream, "200-for-400") as url:
        proc = run(*live(url, tmp_path, "--select", "model", "--", "-k", "bad_limit"))
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert error_rules(tmp_path) == {"model.list-query"}


def test_every_check_of_the_suite_has_a_cost() -> None:
    """The estimate before a live run is only as good as the table: a new check needs its entry."""
    import ast

    from conformance.suite import costs

    suite = Path(costs.__file__).parent
    names = {node.name for path in suite.glob("test_*.py") for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    assert names and names == set(costs.COSTS), names ^ set(costs.COSTS)
