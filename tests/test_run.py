"""`conformance run` end to end: reports, live-target safety, secrets, record and replay.

Each run is a real subprocess (`python -m conformance run ...`) so the pytest plugin, Hypothesis
profile and xdist behave exactly as for a user.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.server import KeySpec, ServerConfig, running_server

# End to end: real `conformance` subprocesses (nox -s integration).
pytestmark = pytest.mark.integration


def conformance_run(*args: str, env: dict[str, str] | None = None,
                    timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def findings(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "findings.json").read_text())


def test_reference_run_passes_and_writes_every_report(tmp_path: Path) -> None:
    proc = conformance_run("--max-examples", "2", "--api-version", "2023-06-01", "--report-dir", str(tmp_path),
                           "--select", "auth", "--select", "version", "--select", "model")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = findings(tmp_path)
    assert doc["summary"]["errors"] == 0
    assert doc["summary"]["passed"] == doc["summary"]["checks"] > 0
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    cases = junit.findall(".//testcase")
    assert len(cases) == doc["summary"]["checks"]
    summary = (tmp_path / "summary.md").read_text()
    assert "| `auth.rejected` | server | error |" in summary
    assert "## Version support" in summary
    # pytest's bare "N deselected" is said in words
    assert "deselected: the checks outside --select / --ignore and the version-pair checks" in proc.stdout


def test_live_target_never_leaks_the_key_and_respects_the_request_cap(tmp_path: Path) -> None:
    """A URL target (here a reference server on loopback) with a key-shaped secret from the environment."""
    key = "sk-ant-api03-" + secrets.token_urlsafe(48)
    config = ServerConfig(keys={key: KeySpec("scale")})
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    with running_server(config) as url:
        proc = conformance_run("--target", url, "--api-key-env", "CONFORMANCE_TEST_KEY", "--api-version",
                               "2023-06-01", "--record-mode", "all", "--cassette-dir", str(cassettes),
                               "--report-dir", str(reports), "--max-examples", "2", "--max-requests", "8",
                               "--select", "positive", "--select", "auth",
                               env={"CONFORMANCE_TEST_KEY": key})
    output = proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".yaml" for p in written), output[-2000:]
    for path in written:
        assert key.encode() not in path.read_bytes(), f"the key leaked into {path}"
    assert key not in output
    # The cap held: never more requests than --max-requests reached the server.
    sent = sum(1 for _ in _recorded_requests(cassettes))
    assert 0 < sent <= 8
    assert "request cap reached" in output


def _recorded_requests(directory: Path) -> list[Any]:
    from conformance.cassettes import read_recording

    out = []
    for path in sorted(directory.glob("*.yaml")):
        out.extend(read_recording(path).exchanges)
    return out


def test_live_target_without_key_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--target", "http://127.0.0.1:9",
                           "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert "ANTHROPIC_API_KEY" in proc.stdout + proc.stderr


def test_record_then_strict_replay_regenerates_the_same_requests(tmp_path: Path) -> None:
    """The determinism test: the same suite regenerates byte-identical requests from its recording."""
    cassettes = tmp_path / "cassettes"
    first = conformance_run("--max-examples", "2", "--api-version", "2026-10-21", "--record-mode", "all",
                            "--cassette-dir", str(cassettes), "--report-dir", str(tmp_path / "a"),
                            "--select", "positive", "--select", "negative", "--select", "fault")
    assert first.returncode == 0, first.stdout[-3000:]
    second = conformance_run("--target", f"cassettes:{cassettes}", "--replay-mode", "strict", "--max-examples", "2",
                             "--api-version", "2026-10-21", "--report-dir", str(tmp_path / "b"), "--select", "positive",
                             "--select", "negative", "--select", "fault")
    assert second.returncode == 0, second.stdout[-3000:]
    a, b = findings(tmp_path / "a"), findings(tmp_path / "b")
    assert a["summary"]["interactions"] == b["summary"]["interactions"] > 0
    assert sorted(f["rule"] for f in a["findings"]) == sorted(f["rule"] for f in b["findings"])


def test_select_matching_nothing_is_a_usage_error(tmp_path: Path) -> None:
    proc = conformance_run("--select", "no-such-area", "--report-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "no checks selected" in proc.stdout + proc.stderr
