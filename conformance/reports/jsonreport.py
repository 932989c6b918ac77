"""Machine-readable findings: the one finding shape shared by ``lint`` and ``run``."""

from __future__ import annotations

from typing import Any

from conformance.findings import Severity
from conformance.lint import LintResult


def _finding(result: LintResult, n: int) -> dict[str, Any]:
    out = result.finding_json(result.findings[n])
    status = result.status(n)
    if status is not None:
        out["baseline"] = status
    return out


def to_json(result: LintResult, min_severity: Severity = Severity.INFO) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "findings": [_finding(result, n) for n, f in enumerate(result.findings) if f.severity >= min_severity],
        "summary": {
            "files": result.files,
            "interactions": result.interactions,
            "errors": result.count(Severity.ERROR),
            "warnings": result.count(Severity.WARNING),
            "infos": result.count(Severity.INFO),
            "skipped": [{"file": s.file, "interaction": s.interaction, "reason": s.reason}
                        for s in result.skipped],
            "input_errors": [str(e) for e in result.input_errors],
            "formats": dict(result.formats),
        },
    }
    if result.baseline is not None:
        doc["baseline"] = result.baseline.to_json()
    return doc
