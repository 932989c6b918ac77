"""Write a conformance run's reports: ``findings.json`` and ``summary.md`` (pytest writes ``junit.xml``)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome
from conformance.reports.markdown import render_summary, rule_table


def findings_document(records: Sequence[Mapping[str, Any]], outcomes: Mapping[str, CheckOutcome]) -> dict[str, Any]:
    """The same finding shape as ``lint --format json``: file is the check, interaction the exchange index."""
    findings = []
    per_test: Counter[str] = Counter()
    for record in records:
        index = per_test[record["test"]]
        per_test[record["test"]] += 1
        for f in record["findings"]:
            findings.append({**f, "file": record["test"], "interaction": index, "api_version": record["version"]})
    severities = Counter(f["severity"] for f in findings)
    checks = Counter(o.outcome for o in outcomes.values())
    return {"findings": findings,
            "checks": [o.to_json() for _, o in sorted(outcomes.items())],
            "summary": {"checks": len(outcomes), "passed": checks.get(PASSED, 0),
                        "failed": checks.get(FAILED, 0), "not_exercised": checks.get(NOT_EXERCISED, 0),
                        "interactions": len(records), "errors": severities.get("error", 0),
                        "warnings": severities.get("warning", 0), "infos": severities.get("info", 0)}}


def write_run_reports(report_dir: Path, records: Sequence[Mapping[str, Any]], outcomes: Mapping[str, CheckOutcome], *,
                      target: str | None, mutant: str | None, aborted: str | None = None,
                      spent: Mapping[str, Any] | None = None) -> None:
    """``aborted``: why the run gave up on the target (it stopped answering), said first in every report."""
    from conformance.profiles import load_profiles
    from conformance.rules import CATALOGUE

    report_dir.mkdir(parents=True, exist_ok=True)
    doc = findings_document(records, outcomes)
    doc["summary"]["aborted"] = aborted
    doc["summary"]["spent"] = dict(spent) if spent is not None else None
    (report_dir / "findings.json").write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    rows = rule_table(records, CATALOGUE)
    text = render_summary(rows, outcomes, records, target=target, mutant=mutant,
                          known_versions=load_profiles().versions, aborted=aborted, spent=spent)
    (report_dir / "summary.md").write_text(text, encoding="utf-8")
