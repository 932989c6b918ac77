"""An SDK run as data: the per-version document (the lint findings shape, plus the checks) and the matrix.

    <slug>.json   {"sdk": {...}, "findings": [...], "checks": [...], "sdk_headers": [...], "problems": [...],
                   "summary": {...}}   findings: the client rules' (party client) and one per failed or differing
                   check (rule ``sdk.<check>``); checks: outcome, reason, each scenario's verdict, and for a
                   failure or a difference the server's and the driver's views
    matrix.json   {"columns": [<run>, ...], "rows": [{"check", "title", "cells": [{"outcome", "reason", "partial"}]}]}

The matrix is rebuilt from every ``*.json`` run document in the report directory, so running one SDK after
another fills it in. Everything written goes through the redaction of conformance/cassettes/redact.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.cassettes.redact import redact_text
from conformance.errors import InputError
from conformance.findings import CLIENT, Finding, Severity
from conformance.sdk.model import Outcome
from conformance.sdk.runner import TEST_KEY, SdkRun, observation_view
from conformance.sdk.scenarios import CHECKS

DOCUMENT_KIND = "conformance-sdk-run"
"""The ``kind`` of a per-version document: what the matrix collects from the report directory."""


def slug(run: SdkRun) -> str:
    """The file name of a run's reports: the SDK and its version (and the API version when one was asked)."""
    name = run.sdk or run.driver
    if run.api_version:
        name += f" api {run.api_version}"
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-").lower()[:100] or "sdk"


def check_findings(run: SdkRun) -> list[Finding]:
    """One finding per failed (error) or differing (info) check, located at its first scenario."""
    out = []
    for c in run.checks:
        if c.verdict.outcome not in (Outcome.FAIL, Outcome.DIFFERS):
            continue
        severity = Severity.ERROR if c.verdict.outcome is Outcome.FAIL else Severity.INFO
        scenario = c.parts[0][0] if c.parts else None
        out.append(Finding(f"sdk.{c.info.id}", severity, c.verdict.reason, file=scenario, party=CLIENT))
    return out


def run_document(run: SdkRun) -> dict[str, Any]:
    findings = [f for j in run.requests for f in j.findings] + check_findings(run)
    checks = []
    for c in run.checks:
        entry: dict[str, Any] = {"check": c.info.id, "title": c.info.title, "outcome": c.verdict.outcome.json_name,
                                 "reason": c.verdict.reason,
                                 "scenarios": [{"scenario": s, "outcome": v.outcome.json_name, "reason": v.reason}
                                               for s, v in c.parts]}
        if c.verdict.outcome in (Outcome.FAIL, Outcome.DIFFERS) and c.observations:
            entry["views"] = [observation_view(o) for o in c.observations]
        checks.append(entry)
    severities = [f.severity for f in findings]
    return {
        "kind": DOCUMENT_KIND,
        "sdk": {"driver": run.driver, "sdk": run.sdk, "api_version": run.api_version,
                "seconds": round(run.seconds, 1), "installed": run.installed},
        "findings": [f.to_json() for f in findings],
        "checks": checks,
        "sdk_headers": [list(h) for h in run.sdk_headers],
        "problems": run.problems,
        "summary": {"checks": len(run.checks), "passed": run.count(Outcome.PASS), "failed": run.count(Outcome.FAIL),
                    "differs": run.count(Outcome.DIFFERS), "not_exercised": run.count(Outcome.NOT_EXERCISED),
                    "interactions": len(run.requests), "errors": severities.count(Severity.ERROR),
                    "warnings": severities.count(Severity.WARNING), "infos": severities.count(Severity.INFO)},
    }


def column_name(doc: Mapping[str, Any]) -> str:
    sdk = doc.get("sdk") or {}
    name = str(sdk.get("sdk") or sdk.get("driver") or "?")
    return name + (f" (api {sdk['api_version']})" if sdk.get("api_version") else "")


def _sort_key(doc: Mapping[str, Any]) -> tuple[Any, ...]:
    """By SDK name (``@scope/`` ignored, so anthropic comes before @anthropic-ai/sdk), then version numerically."""
    name = column_name(doc)
    numbers = tuple(int(n) for n in re.findall(r"\d+", name.rsplit(" ", 1)[-1])[:3])
    return (name.rsplit(" ", 1)[0].lstrip("@"), numbers, name)


def _cell(check: Mapping[str, Any]) -> dict[str, Any]:
    """A matrix cell; ``partial`` says which of the check's scenarios were not exercised, and why."""
    parts = check.get("scenarios") or []
    idle = [f"{p['scenario']}: {p['reason']}" for p in parts if p.get("outcome") == "not-exercised"]
    partial = "; ".join(idle) if idle and check["outcome"] != "not-exercised" else None
    return {"outcome": check["outcome"], "reason": check["reason"], "partial": partial}


def matrix_document(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rows: checks (report order); columns: the runs; cells: outcome and reason."""
    docs = sorted(docs, key=_sort_key)
    by_run = [{c["check"]: c for c in d.get("checks", [])} for d in docs]
    rows = []
    for check_id in [*CHECKS, *sorted({c for r in by_run for c in r} - set(CHECKS))]:
        cells = [_cell(r[check_id]) if check_id in r else None for r in by_run]
        if any(cells):
            rows.append({"check": check_id, "title": CHECKS.get(check_id, ""), "cells": cells})
    return {"columns": [column_name(d) for d in docs], "rows": rows}


def read_run_documents(directory: Path) -> list[dict[str, Any]]:
    """Every per-version document in ``directory`` (other JSON files are left alone)."""
    docs = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and data.get("kind") == DOCUMENT_KIND and isinstance(data.get("checks"), list):
            docs.append(data)
    return docs


def write_text(path: Path, text: str) -> None:
    """Write a report, redacted (the test key and anything shaped like a key never reach a file)."""
    try:
        path.write_text(redact_text(text, [TEST_KEY]), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", file=str(path)) from None


def write_reports(run: SdkRun, report_dir: Path) -> tuple[Path, Path]:
    """``<slug>.md`` and ``<slug>.json`` for the run, then ``matrix.md`` and ``matrix.json`` over the directory."""
    from conformance.sdk.render import render_matrix, render_run

    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report directory: {exc.strerror or exc}", file=str(report_dir)) \
            from None
    name = slug(run)
    doc = run_document(run)
    write_text(report_dir / f"{name}.json", json.dumps(doc, indent=2, default=str) + "\n")
    write_text(report_dir / f"{name}.md", render_run(doc))
    matrix = matrix_document(read_run_documents(report_dir))
    write_text(report_dir / "matrix.json", json.dumps(matrix, indent=2) + "\n")
    write_text(report_dir / "matrix.md", render_matrix(matrix))
    return report_dir / f"{name}.md", report_dir / "matrix.md"
