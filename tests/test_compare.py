"""`conformance compare OLD NEW`: deviations new, fixed, unchanged and not judged; checks; version support.

Pure on hand-made findings.json documents, hostile inputs, and end to end on two real runs of two mutants.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.compare import FIXED, NEW, UNCHANGED, UNCHECKED, compare, read_side, side_of
from conformance.errors import InputError
from conformance.reports.compare import render_markdown

V = "2023-06-01"
COMMON = f"test_messages::test_the_common_parameters_are_honoured[{V}]"
VALID = f"test_messages::test_valid_requests_get_valid_messages[{V}]"


def f(rule: str, check: str = COMMON, **kw: Any) -> dict[str, Any]:
    return {"rule": rule, "severity": "error", "party": "server", "message": f"{rule} broke", "file": check,
            "interaction": kw.pop("interaction", 0), "part": "response.body", "path": "$", "api_version": V,
            "endpoint": "messages", **kw}


def doc(findings: list[dict[str, Any]], checks: dict[str, str], support: dict[str, dict[str, int]] | None = None,
        **meta: Any) -> dict[str, Any]:
    return {"findings": findings, "checks": [{"check": c, "outcome": o} for c, o in checks.items()],
            "version_support": support or {}, "meta": {"kind": "run", "target": "reference", **meta}}


def statuses(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    result = compare(side_of(old, "old.json"), side_of(new, "new.json"))
    return {d.fingerprint.rule: d.status for d in result.deltas}


def test_new_fixed_unchanged_and_not_judged() -> None:
    old = doc([f("message.id-prefix"), f("stream.block-order", VALID), f("error.request-id-missing", VALID),
               f("message.usage", "test_x::gone[2023-06-01]")],
              {COMMON: "failed", VALID: "failed", "test_x::gone[2023-06-01]": "failed"})
    new = doc([f("message.id-prefix", interaction=5), f("negative.status", VALID, part="exchange")],
              {COMMON: "failed", VALID: "failed"})
    assert statuses(old, new) == {"message.id-prefix": UNCHANGED, "negative.status": NEW,
                                  "stream.block-order": UNCHECKED, "error.request-id-missing": UNCHECKED,
                                  "message.usage": UNCHECKED}
    passed = doc(new["findings"], {COMMON: "failed", VALID: "passed"})
    assert statuses(old, passed)["stream.block-order"] == FIXED  # its check now ran in full


def test_exit_code_counts_new_errors_only_and_not_what_the_baseline_waived() -> None:
    old = doc([], {COMMON: "passed"})
    warned = doc([f("negative.field-named", severity="warning")], {COMMON: "passed"})
    assert compare(side_of(old, "o"), side_of(warned, "n")).exit_code == 0
    failing = doc([f("message.id-prefix")], {COMMON: "failed"})
    assert compare(side_of(old, "o"), side_of(failing, "n")).exit_code == 1
    waived = doc([f("message.id-prefix", baseline="known")], {COMMON: "passed"})
    result = compare(side_of(old, "o"), side_of(waived, "n"))
    assert result.exit_code == 0 and result.deltas[0].waived
    assert "1 new (1 waived by the baseline)" in render_markdown(result)
    fixed = compare(side_of(failing, "o"), side_of(old, "n"))
    assert fixed.exit_code == 0 and fixed.deltas[0].status == FIXED


def test_markdown_has_checks_and_version_support_side_by_side() -> None:
    old = doc([f("message.id-prefix")], {COMMON: "failed", VALID: "passed"}, {V: {"200": 9}})
    new = doc([], {COMMON: "passed", VALID: "not-exercised"}, {V: {"200": 6, "400": 1}, "2026-10-21": {"200": 3}})
    text = render_markdown(compare(side_of(old, "old.json"), side_of(new, "new.json")))
    assert "### Fixed (1)" in text and "`message.id-prefix`" in text
    assert "| passed | 1 | 1 | +0 |" in text and "| not exercised | 0 | 1 | +1 |" in text
    assert f"- `{COMMON}`: failed → passed" in text
    assert f"| `{V}` | 200×9 | 200×6, 400×1 | changed |" in text
    assert "| `2026-10-21` | — | 200×3 | changed |" in text


@pytest.mark.parametrize(("content", "says"), [
    ("not json", "not JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[]", "$: [] is not of type 'object'"),
    ('{"findings": {}}', "$.findings: {} is not of type 'array'"),
    ('{"findings": [3]}', "$.findings[0]: 3 is not of type 'object'"),
    ('{"findings": [], "checks": [{"check": 1}]}', "$.checks[0]"),
])
def test_a_broken_report_is_one_line_naming_it(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "findings.json"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_side(tmp_path)  # a directory: its findings.json
    assert str(caught.value).startswith(str(path)) and says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_run_and_a_lint_do_not_compare() -> None:
    with pytest.raises(InputError, match="cannot compare a run with a lint"):
        compare(side_of(doc([], {}), "o"), side_of({"findings": [], "meta": {"kind": "lint"}}, "n"))


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.xdist_group("run")
def test_compare_two_runs_lists_a_new_and_a_fixed_finding(tmp_path: Path) -> None:
    """Old: a server whose models list lacks a model; new: one that serves unknown models (another check)."""
    selection = ["--api-version", V, "--select", "model", "--max-examples", "1"]
    for name, mutant in (("old", "models-list-incomplete"), ("new", "unknown-model-accepted")):
        proc = conformance("run", "--mutant", mutant, "--report-dir", str(tmp_path / name), *selection)
        assert proc.returncode == 1, proc.stdout[-2000:]
    proc = conformance("compare", str(tmp_path / "old"), str(tmp_path / "new" / "findings.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = proc.stdout
    new = text.split("### New")[1].split("###")[0]
    fixed = text.split("### Fixed")[1].split("###")[0]
    assert "`model.unknown`" in new and "`model.list`" not in new
    assert "`model.list`" in fixed
    assert "| `model.unknown` | server | 1 | 0 | 0 | 0 |" in text
    assert "| `model.list` | server | 0 | 1 | 0 | 0 |" in text
    as_json = conformance("compare", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json",
                          "-o", str(tmp_path / "compare.json"))
    assert as_json.returncode == 1
    data = json.loads((tmp_path / "compare.json").read_text())
    assert data["deviations"][NEW] >= 1 and data["deviations"][FIXED] >= 1 and data["new_errors"] >= 1
    same = conformance("compare", str(tmp_path / "old"), str(tmp_path / "old"))
    assert same.returncode == 0 and "**No new error deviation.**" in same.stdout
    missing = conformance("compare", str(tmp_path / "nowhere"), str(tmp_path / "old"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr
