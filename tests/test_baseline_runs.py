"""`conformance run --baseline`: known deviations pass, new ones fail, in the same run; fingerprints hold across
seeds; an expired waiver fails again; a fixed one is said to be fixed.

The reference server breaks one contract per mutant (``ServerConfig(mutant=...)`` takes one). For two deviations
in one run, a mutant reference server sits behind the test gateway (tests/gateway.py), which breaks a second,
unrelated contract on the way through: the run's target is the gateway's URL. Each run is a real subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.baseline import of_finding
from tests.gateway import running_gateway, running_reference

pytestmark = pytest.mark.xdist_group("run")

SCALE = "sk-ant-test-scale"


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "conformance", "run", "--api-version", "2023-06-01", *args],
                          capture_output=True, text=True, timeout=timeout, env={**env, "CONFORMANCE_KEY": SCALE})


def findings(report_dir: Path) -> list[dict[str, Any]]:
    return list(json.loads((report_dir / "findings.json").read_text())["findings"])


def outcomes(report_dir: Path) -> dict[str, str]:
    return {c["check"]: c["outcome"] for c in json.loads((report_dir / "findings.json").read_text())["checks"]}


def errors(report_dir: Path) -> list[dict[str, Any]]:
    return [f for f in findings(report_dir) if f["severity"] == "error"]


COMMON = "test_messages::test_the_common_parameters_are_honoured[2023-06-01]"


def test_a_known_deviation_passes_while_a_second_one_fails_the_same_run(tmp_path: Path) -> None:
    """Upstream: the reference server as mutant ``bad-message-id``; in front: a gateway answering 422 for 400."""
    baseline = tmp_path / "baseline.json"
    selection = ["--select", "message", "--select", "negative", "--max-examples", "1", "--api-key-env",
                 "CONFORMANCE_KEY", "--", "-k", "common_parameters or invalid_requests"]
    with running_reference(mutant="bad-message-id") as upstream:
        with running_gateway(upstream) as url:
            first = run("--target", url, "--report-dir", str(tmp_path / "first"), "--baseline", str(baseline),
                        "--baseline-update", *selection)
        assert first.returncode == 1, first.stdout[-3000:]
        written = json.loads(baseline.read_text())["entries"]
        assert written and {e["rule"] for e in written} == {"message.id-prefix"}

        with running_gateway(upstream, "422-for-400") as url:
            second = run("--target", url, "--report-dir", str(tmp_path / "second"), "--baseline", str(baseline),
                         *selection)
    report = tmp_path / "second"
    assert second.returncode == 1, second.stdout[-3000:]
    by_rule: dict[str, set[str]] = {}
    for f in errors(report):
        by_rule.setdefault(f["rule"], set()).add(f["baseline"])
    assert by_rule.pop("message.id-prefix") == {"known"}
    assert by_rule and set().union(*by_rule.values()) == {"new"}
    assert "negative.status" in by_rule
    checks = outcomes(report)
    assert checks[COMMON] == "passed"  # its only errors are known
    negative = [o for c, o in checks.items() if c.startswith("test_negative::")]
    assert negative and set(negative) == {"failed"}
    assert "baseline " in second.stdout and " known, " in second.stdout
    summary = (report / "summary.md").read_text()
    assert "## Baseline (known deviations)" in summary and "*known deviation*" in summary
    assert "`message.id-prefix`" not in summary.split("## What failed")[1].split("## Rules")[0]
    html = (report / "report.html").read_text()
    assert 'data-baseline="known"' in html


def _fingerprints(report_dir: Path) -> set[Any]:
    return {of_finding(f, "run") for f in errors(report_dir)}


def test_the_same_deviation_has_the_same_fingerprints_from_two_seeds(tmp_path: Path) -> None:
    """Mutant ``wrong-delta-type``: every text block streams thinking deltas. With the deviation waived the checks
    run every example, so the runs send different requests (server seed 1 and 7; 3 and 10 derandomized examples)
    and meet the deviation at other exchanges and other events, yet name it alike."""
    baseline = tmp_path / "baseline.json"
    common = ["--mutant", "wrong-delta-type", "--select", "stream", "--baseline", str(baseline)]
    only = ["--", "-k", "valid_requests or many_block"]
    made = run(*common, "--baseline-update", "--max-examples", "1", "--report-dir", str(tmp_path / "made"), *only)
    assert made.returncode == 1 and baseline.is_file(), made.stdout[-2000:]
    for seed, examples in (("1", "3"), ("7", "10")):
        proc = run(*common, "--seed", seed, "--max-examples", examples, "--report-dir", str(tmp_path / seed), *only)
        assert proc.returncode == 0, proc.stdout[-2000:]
    one, seven = tmp_path / "1", tmp_path / "7"
    assert _fingerprints(one) == _fingerprints(seven) != set()

    def sent(report_dir: Path) -> set[str]:
        lines = (report_dir / "exchanges.jsonl").read_text().splitlines()
        return {json.dumps(json.loads(line)["request_body"], sort_keys=True) for line in lines}

    def where(report_dir: Path) -> set[tuple[Any, ...]]:
        return {(f["file"], f["interaction"], f.get("event"), f["path"]) for f in errors(report_dir)}

    assert sent(seven) - sent(one)  # requests the first run never sent
    assert where(one) != where(seven)  # met at other exchanges and events


def test_an_expired_waiver_fails_again_and_a_fixed_one_is_reported(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    common = ["--select", "message", "--max-examples", "1", "--baseline", str(baseline)]
    only = ["--", "-k", "common_parameters"]
    made = run("--mutant", "bad-message-id", *common, "--baseline-update", "--report-dir", str(tmp_path / "made"),
               *only)
    assert made.returncode == 1, made.stdout[-2000:]
    doc = json.loads(baseline.read_text())
    for entry in doc["entries"]:
        entry.update(expires="2020-06-30", owner="gateway-team", reason="upstream ticket 42")
    baseline.write_text(json.dumps(doc))

    expired = run("--mutant", "bad-message-id", *common, "--report-dir", str(tmp_path / "expired"), *only)
    assert expired.returncode == 1, expired.stdout[-2000:]
    assert {f["baseline"] for f in errors(tmp_path / "expired")} == {"expired"}
    assert "expired 2020-06-30, fails again: message.id-prefix" in expired.stdout
    assert "(its baseline entry has expired)" in expired.stdout
    summary = (tmp_path / "expired" / "summary.md").read_text()
    assert "| expired | `message.id-prefix`" in summary and "upstream ticket 42" in summary

    fixed = run(*common, "--report-dir", str(tmp_path / "fixed"), *only)  # the faithful server
    assert fixed.returncode == 0, fixed.stdout[-2000:]
    block = json.loads((tmp_path / "fixed" / "findings.json").read_text())["baseline"]
    assert block["entries"]["fixed"] == len(doc["entries"])
    assert "fixed, remove it: message.id-prefix" in fixed.stdout


def test_a_broken_baseline_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"baseline": 1, "kind": "run", "entries": [{"rule": "x", "expires": 3}]}))
    proc = run("--baseline", str(baseline), "--report-dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "baseline.json:entries[0]:" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and not (tmp_path / "findings.json").exists()
