"""Write a lint's reports into a directory (``conformance lint --report-dir DIR``).

``findings.json`` (the ``lint --format json`` document, every severity, with ``meta``), the exchange log
``exchanges.jsonl`` and ``report.html``: the same files a run writes, so ``conformance report DIR`` reads
both alike. Redacted once, before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from conformance.exchange_log import EXCHANGES_FILE, redact_entry, redact_json, write_exchange_log
from conformance.lint import LintResult
from conformance.reports.html import write_html_report
from conformance.reports.jsonreport import to_json
from conformance.reports.run import FINDINGS_FILE


def write_lint_reports(report_dir: Path, result: LintResult, *, paths: Sequence[str], select: Sequence[str] = (),
                       party: str = "all", secrets: Iterable[str] = ()) -> Path:
    from conformance import __version__

    secret_list = list(secrets)
    meta = {"kind": "lint", "paths": list(paths), "select": list(select), "party": party,
            "suite_version": __version__}
    doc = redact_json({**to_json(result), "meta": meta}, secret_list)
    entries = [redact_entry(e, secret_list) for e in result.exchanges]
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / FINDINGS_FILE).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    write_exchange_log(report_dir / EXCHANGES_FILE, entries)
    return write_html_report(report_dir, doc, entries)
