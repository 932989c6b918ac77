"""Machine-readable findings: the one finding shape shared by ``lint`` and ``run``."""

from __future__ import annotations

from typing import Any

from conformance.findings import Severity
from conformance.lint import LintResult


def to_json(result: LintResult, min_severity: Severity = Severity.INFO) -> dict[str, Any]:
    return {
        "findings": [f.to_json() for f in result.findings if f.severity >= min_severity],
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
