"""Write a conformance run's reports (pytest writes ``junit.xml``).

``findings.json`` (findings, checks, summary, and ``meta``: what was run), ``exchanges.jsonl`` (the exchange
log, :mod:`conformance.exchange_log`), ``summary.md`` and ``report.html``. Every one is written from the
same records, redacted once before anything is written.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.endpoints import endpoint_of_url
from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome
from conformance.reports.markdown import render_summary, rule_table, version_matrix
from conformance.reports.versions import version_comparison

if TYPE_CHECKING:
    from conformance.baseline import Reconciled

FINDINGS_FILE = "findings.json"
_RUN_ONLY = ("test", "version", "findings")
"""Record fields that the exchange log does not repeat (findings live in findings.json)."""


def numbered(records: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Each record with its index among its check's records: the ``interaction`` of its findings."""
    per_test: Counter[str] = Counter()
    for record in records:
        index = per_test[record["test"]]
        per_test[record["test"]] += 1
        yield index, record


def check_areas(check: str) -> list[str]:
    """The rule areas a check of ``conformance.suite`` exercises, from its ``conformance_areas`` marker.

    For checks that sent nothing (not exercised before their first request) the records cannot say.
    """
    stem, _, rest = check.partition("::")
    try:
        module = importlib.import_module(f"conformance.suite.{stem}")
    except ImportError:
        return []
    marks = _marks(module) + _marks(getattr(module, rest.split("[", 1)[0], None))
    return [a for m in marks if getattr(m, "name", None) == "conformance_areas" for a in m.args]


def _marks(obj: Any) -> list[Any]:
    marks = getattr(obj, "pytestmark", [])
    return marks if isinstance(marks, list) else [marks]


def run_finding(finding: Mapping[str, Any], record: Mapping[str, Any], index: int | None = None) -> dict[str, Any]:
    """A finding of a run in the ``lint --format json`` shape: file is the check, interaction the exchange's index
    within it, with the API version and endpoint of its exchange (what a baseline fingerprint names)."""
    return {**finding, "file": record["test"], "interaction": index, "api_version": record["version"],
            "endpoint": endpoint_of_url(record.get("url"))}


def findings_document(records: Sequence[Mapping[str, Any]], outcomes: Mapping[str, CheckOutcome],
                      meta: Mapping[str, Any] | None = None, baseline: Reconciled | None = None) -> dict[str, Any]:
    """The same finding shape as ``lint --format json``: file is the check, interaction the exchange index."""
    findings = []
    areas: dict[str, list[str]] = {}
    for index, record in numbered(records):
        areas.setdefault(record["test"], list(record.get("areas") or []))
        for f in record["findings"]:
            findings.append(run_finding(f, record, index))
    severities = Counter(f["severity"] for f in findings)
    checks = Counter(o.outcome for o in outcomes.values())
    doc: dict[str, Any] = {
        "findings": findings,
        "checks": [{**o.to_json(), "areas": areas.get(c) or check_areas(c)} for c, o in sorted(outcomes.items())],
        "summary": {"checks": len(outcomes), "passed": checks.get(PASSED, 0),
                    "failed": checks.get(FAILED, 0), "not_exercised": checks.get(NOT_EXERCISED, 0),
                    "interactions": len(records), "errors": severities.get("error", 0),
                    "warnings": severities.get("warning", 0), "infos": severities.get("info", 0)}}
    matrix = version_matrix(records)
    doc["version_support"] = {v: {str(status): n for status, n in sorted(matrix[v].items())} for v in sorted(matrix)}
    versions = version_comparison(records)
    if versions is not None:
        doc["versions"] = versions
    if baseline is not None:
        doc["baseline"] = baseline.to_json()
    if meta is not None:
        doc["meta"] = dict(meta)
    return doc


def exchange_entries(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The exchange log of a run: each record located like its findings, without them."""
    from conformance.lint import describe

    return [{"file": record["test"], "interaction": index, "api_version": record["version"],
             "label": describe(record["method"], record["url"], record["status"], record["stream"]),
             **{k: v for k, v in record.items() if k not in _RUN_ONLY}}
            for index, record in numbered(records)]


def write_run_reports(report_dir: Path, records: Sequence[Mapping[str, Any]], outcomes: Mapping[str, CheckOutcome], *,
                      target: str | None, mutant: str | None, select: Sequence[str] = (), party: str = "all",
                      api_versions: Sequence[str] | None = None, secrets: Iterable[str] = (),
                      aborted: str | None = None, spent: Mapping[str, Any] | None = None,
                      baseline: Reconciled | None = None, key_env: str | None = None) -> None:
    """Every report of a run, from its records redacted once.

    ``aborted``: why the run gave up on the target (it stopped answering), said first in every report;
    ``spent``: what a live target cost (requests, tokens, waiting) against the caps.
    """
    from conformance import __version__
    from conformance.exchange_log import EXCHANGES_FILE, redact_entry, write_exchange_log
    from conformance.profiles import load_profiles
    from conformance.reports.html import write_html_report
    from conformance.rules import CATALOGUE

    secret_list = list(secrets)
    # Redacted once, here: every report below is written from these records.
    records = [redact_entry(r, secret_list) for r in records]
    report_dir.mkdir(parents=True, exist_ok=True)
    profiles = load_profiles()
    meta = {"kind": "run", "target": target, "mutant": mutant, "select": list(select), "party": party,
            "api_versions": list(api_versions or profiles.versions), "suite_version": __version__}
    if key_env:
        meta["key_env"] = key_env  # a variable's name (reproducers read the key from it), never its value
    doc = findings_document(records, outcomes, meta, baseline)
    doc["summary"]["aborted"] = aborted
    doc["summary"]["spent"] = dict(spent) if spent is not None else None
    (report_dir / FINDINGS_FILE).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    entries = exchange_entries(records)
    write_exchange_log(report_dir / EXCHANGES_FILE, entries)
    rows = rule_table(records, CATALOGUE)
    text = render_summary(rows, outcomes, records, target=target, mutant=mutant, known_versions=profiles.versions,
                          aborted=aborted, spent=spent, baseline=doc.get("baseline"), versions=doc.get("versions"),
                          **({"key_env": key_env} if key_env else {}))
    (report_dir / "summary.md").write_text(text, encoding="utf-8")
    write_html_report(report_dir, doc, entries)
