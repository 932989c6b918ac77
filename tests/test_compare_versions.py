"""`conformance run --api-version A --api-version B --compare-versions` on the reference server.

The faithful server changes exactly as the profiles predict (2026-10-21 refuses temperature, top_p, top_k, document
blocks in assistant turns and citations on user text): each such pair is reported as expected, nothing fails. The
mutant ``metadata-rejected-in-2023-06-01`` refuses metadata under one version only, a change no profile predicts:
``versions.unpredicted-change``, naming the field, the versions and that ``conformance diff`` lists no change there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("run")

A, B = "2023-06-01", "2026-10-21"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def compare(report_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("--api-version", A, "--api-version", B, "--compare-versions", "--select", "versions",
               "--max-examples", "3", "--report-dir", str(report_dir), *extra)


def report(report_dir: Path) -> dict[str, Any]:
    return dict(json.loads((report_dir / "findings.json").read_text()))


def test_the_faithful_server_changes_as_the_profiles_predict(tmp_path: Path) -> None:
    proc = compare(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = report(tmp_path)
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []
    seen = {f["path"] for f in doc["findings"] if f["rule"] == "versions.predicted-change"}
    assert "$.temperature" in seen  # the common parameters of 2023-06-01 carry it, every run
    expected = next(f for f in doc["findings"] if f["path"] == "$.temperature")
    assert expected["api_version"] == B and "removed $.temperature" in expected["message"]
    assert expected["expected"] == {A: "200", B: "400 invalid_request_error"}
    versions = doc["versions"]
    assert versions["versions"] == [A, B] and versions["counts"]["unpredicted change"] == 0
    assert versions["counts"]["changed as predicted"] >= 1 and versions["counts"]["alike"] >= 1
    checks = {c["check"]: c["outcome"] for c in doc["checks"]}
    assert checks and all(c.startswith("test_versions::") and f"{A}-vs-{B}" in c for c in checks)
    assert set(checks.values()) == {"passed"}
    summary = (tmp_path / "summary.md").read_text()
    assert f"## Across API versions: {A} and {B}" in summary
    assert f"| the common parameters of {A} | 1 | 200×1 | 400×1 | changed as predicted |" in summary
    page = (tmp_path / "report.html").read_text()
    assert f"Across API versions: {A} and {B}" in page and 'data-across-verdict="changed as predicted"' in page


def test_a_behaviour_change_no_profile_predicts_is_found(tmp_path: Path) -> None:
    proc = compare(tmp_path, "--mutant", "metadata-rejected-in-2023-06-01")
    assert proc.returncode == 1, proc.stdout[-3000:]
    doc = report(tmp_path)
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert errors and {f["rule"] for f in errors} == {"versions.unpredicted-change"}
    assert {(f["path"], f["api_version"]) for f in errors} == {("$.metadata", A)}
    assert all("lists no change at $.metadata" in f["message"] for f in errors)
    assert f"| the common parameters of {B} | 1 | 400×1 | 200×1 | **unpredicted change** |" in \
        (tmp_path / "summary.md").read_text()
    assert "versions.unpredicted-change" in proc.stdout
    # The changes the profiles predict are still told apart, as expected.
    assert any(f["rule"] == "versions.predicted-change" for f in doc["findings"])


def test_compare_versions_needs_two_versions_and_stays_out_of_other_runs(tmp_path: Path) -> None:
    proc = run("--api-version", A, "--compare-versions", "--report-dir", str(tmp_path))
    assert proc.returncode == 2 and "give exactly two --api-version" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    plain = run("--api-version", A, "--api-version", B, "--select", "model", "--max-examples", "1",
                "--report-dir", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stdout[-2000:]
    doc = report(tmp_path / "plain")
    assert not [c for c in doc["checks"] if c["check"].startswith("test_versions::")] and "versions" not in doc
