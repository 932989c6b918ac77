"""Recordings outlive the suite: replay re-judges what was recorded, it does not regenerate it.

Each run is a real subprocess (as a user runs it); a "suite upgrade" is simulated by patching the
package in that subprocess before the run starts (other generators, a rule that did not exist yet).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__

# End to end: real `conformance` subprocesses (nox -s integration).
pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "replay" / "suite-0.2.0"
SELECT = ("--select", "positive", "--select", "negative", "--select", "auth")


def run(*args: str, patch: str = "") -> subprocess.CompletedProcess[str]:
    """``conformance run ARGS`` in a fresh process, after executing ``patch`` (Python) in it."""
    code = textwrap.dedent(patch) + "\nimport sys\nfrom conformance.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, "run", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def findings(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "findings.json").read_text())


def verdict(report_dir: Path) -> tuple[int, list[tuple[str, str, str]]]:
    doc = findings(report_dir)
    return doc["summary"]["interactions"], sorted((f["file"], f["rule"], f["severity"]) for f in doc["findings"])


# Another suite: every generated body differs, and so does the minimal request of the access checks.
OTHER_GENERATORS = """
import conformance.strategies.requests as requests
import conformance.suite.helpers as helpers
requests.TOOLS = {name: {**schema, "description": "v2"} for name, schema in requests.TOOLS.items()}
_minimal = helpers.minimal_request
helpers.minimal_request = lambda profile, **extra: {**_minimal(profile, **extra), "max_tokens": 9}
_LATER_LIMIT = 12345
"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("recorded")
    proc = run("--api-version", "2026-10-21", "--max-examples", "2", "--record-mode", "all",
               "--cassette-dir", str(base / "cassettes"), "--report-dir", str(base / "reports"), *SELECT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return base


def test_changed_generators_leave_the_replayed_verdict_unchanged(recording: Path, tmp_path: Path) -> None:
    cassettes = recording / "cassettes"
    same = run("--target", f"cassettes:{cassettes}", "--api-version", "2026-10-21", "--report-dir",
               str(tmp_path / "same"), *SELECT)
    upgraded = run("--target", f"cassettes:{cassettes}", "--api-version", "2026-10-21", "--report-dir",
                   str(tmp_path / "upgraded"), *SELECT, patch=OTHER_GENERATORS)
    assert same.returncode == 0, same.stdout[-3000:]
    assert upgraded.returncode == 0, upgraded.stdout[-3000:]
    interactions, judged = verdict(tmp_path / "upgraded")
    assert (interactions, judged) == verdict(tmp_path / "same") == verdict(recording / "reports")
    assert interactions > 0
    # The strict mode regenerates the requests, so the same change breaks it: it is the determinism test.
    strict = run("--target", f"cassettes:{cassettes}", "--api-version", "2026-10-21", "--max-examples", "2",
                 "--replay-mode", "strict", "--report-dir", str(tmp_path / "strict"), *SELECT,
                 patch=OTHER_GENERATORS)
    assert strict.returncode != 0
    assert "no recorded interaction matches" in strict.stdout + strict.stderr or "cannot" in strict.stdout.lower()


# A suite before `ratelimit.retry-after-missing` existed: the rule is taken out of the tables.
WITHOUT_RETRY_AFTER_RULE = """
import conformance.rules.ratelimit as ratelimit
_check = ratelimit.rate_limit_headers_are_well_formed
def _older(exchange, ctx):
    return [f for f in _check(exchange, ctx) if f.rule != "ratelimit.retry-after-missing"]
import conformance.engine as engine
engine.check_exchange.__defaults__ = (tuple(_older if c is _check else c for c in engine.EXCHANGE_CHECKS),)
"""


def test_a_recording_made_before_a_rule_existed_is_judged_by_it(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    older = run("--mutant", "no-retry-after", "--api-version", "2023-06-01", "--record-mode", "all",
                "--cassette-dir", str(cassettes), "--report-dir", str(tmp_path / "then"), "--select", "ratelimit",
                patch=WITHOUT_RETRY_AFTER_RULE)
    assert older.returncode == 0, older.stdout[-3000:]
    now = run("--target", f"cassettes:{cassettes}", "--api-version", "2023-06-01", "--report-dir",
              str(tmp_path / "now"), "--select", "ratelimit")
    assert now.returncode == 1
    rules = {f["rule"] for f in findings(tmp_path / "now")["findings"] if f["severity"] == "error"}
    assert rules == {"ratelimit.retry-after-missing"}


def test_checks_missing_from_a_recording_are_not_exercised_and_say_why(recording: Path, tmp_path: Path) -> None:
    proc = run("--target", f"cassettes:{recording / 'cassettes'}", "--api-version", "2026-10-21",
               "--report-dir", str(tmp_path), "--select", "positive", "--select", "model", "-v")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"not in the recording ({recording / 'cassettes'}, made with suite {__version__})" in proc.stdout
    doc = findings(tmp_path)
    assert doc["summary"]["not_exercised"] > 0 and doc["summary"]["passed"] > 0
    idle = [c for c in doc["checks"] if c["outcome"] == "not-exercised"]
    assert idle and all(c["reason"].startswith("not in the recording") for c in idle)
    assert "## Not exercised (never counted as passed)" in (tmp_path / "summary.md").read_text()


def test_a_recording_from_an_earlier_suite_keeps_working(tmp_path: Path) -> None:
    """A small recording made by suite 0.2.0 stays here for the future: every later suite must re-judge it."""
    assert sorted(p.name for p in FIXTURE.glob("*.yaml")), f"{FIXTURE} holds the kept recording"
    proc = run("--target", f"cassettes:{FIXTURE}", "--api-version", "2026-10-21", "--report-dir", str(tmp_path),
               "-v", *SELECT)
    assert proc.returncode == 0, proc.stdout[-3000:]
    passed = [line for line in proc.stdout.splitlines() if line.endswith("PASSED") or " PASSED " in line]
    assert any("test_invalid_requests_get_400" in line for line in passed)
    assert any("test_missing_key_gets_401" in line for line in passed)


def test_lint_of_a_run_recording_reads_the_intents(recording: Path) -> None:
    """The run's deliberate invalid requests are intents, not client errors, for lint too."""
    proc = subprocess.run([sys.executable, "-m", "conformance", "lint", "--format", "json",
                           str(recording / "cassettes")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = json.loads(proc.stdout)
    assert doc["summary"]["errors"] == 0 and doc["summary"]["interactions"] > 0
