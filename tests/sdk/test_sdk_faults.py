"""Proof that `conformance sdk` catches bugs: a driver without any SDK (raw_driver.py, raw HTTP) passes,
and each of its misbehaving variants fails exactly the check of its fault. Drivers that break the protocol
(garbage, a crash, a hang, a huge or deep line, the wrong shape) end as one line naming the driver and
the scenario, never a traceback."""

from __future__ import annotations

import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.sdk.environments import custom_driver
from conformance.sdk.model import Outcome
from conformance.sdk.runner import SdkRun, run_sdk

RAW = Path(__file__).parent / "raw_driver.py"
FAULT_CHECKS = {
    "no-version": "requests.version",
    "two-versions": "requests.version",
    "retry-400": "retries.400-not-retried",
    "ignore-retry-after": "retries.retry-after",
    "never-retry-529": "retries.529",
    "retry-forever": "retries.max-attempts",
    "swallow-stream-error": "streaming.error-event",
    "partial-after-drop": "streaming.dropped-connection",
    "text-out-of-order": "streaming.final-message",
    "500-as-success": "errors.500",
    # Beyond the list: each request check catches its own fault too.
    "no-auth": "requests.auth",
    "text-content-type": "requests.content-type",
    "string-max-tokens": "requests.body",
}
STRICT = {"strict.create", "strict.stream", "strict.count-tokens", "strict.models-list", "strict.models-retrieve"}

pytestmark = pytest.mark.integration  # `conformance sdk` subprocesses with real drivers


def raw(*args: str) -> str:
    return shlex.join([sys.executable, str(RAW), *args])


def outcomes(run: SdkRun, outcome: Outcome) -> set[str]:
    return {c.info.id for c in run.checks if c.verdict.outcome is outcome}


def test_the_raw_http_driver_passes_every_check_it_can_exercise():
    run = run_sdk(custom_driver(raw()))
    assert run.sdk == "raw-http 1"
    assert outcomes(run, Outcome.FAIL) == set() and outcomes(run, Outcome.DIFFERS) == set()
    # Raw HTTP has no types to validate answers with: strict validation is not exercised, and says why.
    assert outcomes(run, Outcome.NOT_EXERCISED) == STRICT
    assert {c.verdict.reason for c in run.checks if c.info.id in STRICT} == \
        {"raw HTTP has no types to validate answers against"}
    assert run.exit_code == 0 and not run.problems


def test_each_misbehaving_driver_fails_exactly_the_check_of_its_fault():
    with ThreadPoolExecutor(4) as pool:
        runs = dict(zip(FAULT_CHECKS, pool.map(lambda f: run_sdk(custom_driver(raw("--fault", f))), FAULT_CHECKS),
                        strict=True))
    failing = {fault: outcomes(run, Outcome.FAIL) for fault, run in runs.items()}
    assert failing == {fault: {check} for fault, check in FAULT_CHECKS.items()}
    assert all(run.exit_code == 1 for run in runs.values())
    # Ignoring retry-after also ignores one over 60 s: backing off on its own there is a difference, not a fault.
    assert outcomes(runs["ignore-retry-after"], Outcome.DIFFERS) == {"retries.retry-after-over-60s"}
    # A request the server refuses (no version) leaves the scripted checks not exercised, never passed.
    refused = runs["no-version"]
    assert outcomes(refused, Outcome.PASS) <= {"requests.auth", "requests.content-type", "requests.body",
                                               "requests.beta", "retries.400-not-retried"} | STRICT
    assert all(("before the scripted fault" in c.verdict.reason or "answered 400" in c.verdict.reason)
               for c in refused.checks if c.verdict.outcome is Outcome.NOT_EXERCISED and c.info.id not in STRICT)


def test_a_driver_that_exits_after_each_scenario_is_started_again():
    wanted = ["errors.400", "errors.401", "errors.402", "errors.403", "errors.404"]
    run = run_sdk(custom_driver(raw("--one-shot")), select=wanted)
    assert [c.info.id for c in run.checks] == wanted
    assert outcomes(run, Outcome.PASS) == {c.info.id for c in run.checks} and not run.problems


BREAKERS = {
    "garbage": "printed 'Traceback? no: just some garbage on stdout', not a JSON result",
    "crash": "exited with code 1 without a result: RuntimeError: the driver crashed",
    "hang": "no result within 2 s (killed)",
    "huge": "printed a line longer than 4194304 bytes (killed)",
    "deep": "not a JSON result",
    "wrong-shape": "result $.outcome: 'maybe' is not one of ['ok', 'error', 'unsupported']",
}


def test_a_driver_that_breaks_the_protocol_is_one_line_per_scenario():
    def run(fault: str) -> SdkRun:
        return run_sdk(custom_driver(raw("--fault", fault)), select=["errors.400", "errors.401"], deadline=2)

    with ThreadPoolExecutor(3) as pool:
        runs = dict(zip(BREAKERS, pool.map(run, BREAKERS), strict=True))
    for fault, says in BREAKERS.items():
        problems = runs[fault].problems
        assert len(problems) == 2, (fault, problems)
        for problem, scenario in zip(problems, ("errors.400", "errors.401"), strict=True):
            assert problem.startswith(f"driver {raw('--fault', fault)!r} on scenario {scenario}: ")
            assert says in problem and "\n" not in problem and len(problem) < 600, (fault, problem)
        assert runs[fault].exit_code == 2
        assert outcomes(runs[fault], Outcome.FAIL) == {"errors.400", "errors.401"}


def test_three_driver_failures_in_a_row_end_the_run():
    run = run_sdk(custom_driver(raw("--fault", "crash")), select=["errors"], deadline=2)
    assert len(run.problems) == 3 and run.aborted == "not run: the driver failed 3 scenarios in a row"
    assert outcomes(run, Outcome.NOT_EXERCISED) == {c.info.id for c in run.checks[3:]}


def test_a_run_past_its_time_budget_runs_nothing_more():
    run = run_sdk(custom_driver(raw()), select=["errors.400", "errors.401"], budget=0)
    assert [c.verdict.outcome for c in run.checks] == [Outcome.PASS, Outcome.NOT_EXERCISED]
    assert run.checks[1].verdict.reason == "not run: the run's time budget (0 s) is spent"


def test_the_cli_reports_a_broken_driver_in_one_line_and_exits_2(tmp_path, capsys):
    code = main(["sdk", "--driver", raw("--fault", "garbage"), "--select", "errors.400", "--report-dir",
                 str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"conformance: driver {raw('--fault', 'garbage')!r} on scenario errors.400: printed "
                               "'Traceback? no: just some garbage on stdout', not a JSON result (")
    assert lines[0].endswith("); stdout is for result lines only, logs go to stderr")
    assert "gave no valid result" in lines[-1] and "Traceback (most recent" not in err
    assert (tmp_path / "matrix.md").is_file()


@pytest.mark.parametrize(("argv", "says"), [
    (["sdk"], "name the SDK (python or typescript) or give --driver"),
    (["sdk", "python", "--driver", "x"], "not both"),
    (["sdk", "python", "--select", "nothing"], "--select 'nothing' matches no check"),
    (["sdk", "python", "--sdk-version", "latest"], "give an exact release"),
    (["sdk", "python", "--api-version", "1999-01-01"], "1999-01-01"),
])
def test_bad_usage_is_one_line_and_exit_2(argv, says, capsys, tmp_path):
    try:
        code = main([*argv, "--report-dir", str(tmp_path)])
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err
