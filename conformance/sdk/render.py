"""Markdown views of the SDK documents (report.py builds them): one per SDK version, and the matrix.

Rendering only: every number and word comes from the documents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conformance.sdk.scenarios import REPORTED

MARKS = {"passed": "pass", "failed": "**fail**", "differs": "*differs*", "not-exercised": "not exercised"}
CELL_REASON = 90
"""Characters of a reason shown in a matrix cell (the per-version report has it whole)."""


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _summary_line(summary: Mapping[str, Any]) -> str:
    return (f"{summary['passed']} pass, {summary['differs']} differ, {summary['failed']} fail, "
            f"{summary['not_exercised']} not exercised (of {summary['checks']} checks)")


def render_run(doc: Mapping[str, Any]) -> str:
    sdk, summary = doc["sdk"], doc["summary"]
    out = [f"# SDK conformance: {sdk['sdk'] or sdk['driver']}", "",
           f"- driver: `{sdk['driver']}`",
           f"- SDK as the driver reported it: {sdk['sdk'] or '(no valid result)'}",
           f"- anthropic-version: {sdk['api_version'] or 'the SDK default'}",
           f"- checks: {_summary_line(summary)}",
           f"- requests judged by the client rules: {summary['interactions']} "
           f"({summary['errors']} errors, {summary['warnings']} warnings)",
           f"- took {sdk['seconds']} s" + (f"; {sdk['installed']}" if sdk.get("installed") else ""), "",
           "## Results", "", "| check | result | reason |", "|---|---|---|"]
    for c in doc["checks"]:
        out.append(f"| `{c['check']}` | {MARKS.get(c['outcome'], c['outcome'])} | {_cell(c['reason'])} |")
    if doc.get("sdk_headers"):
        out += ["", "## What the SDK sends (recorded, not judged)", "", "| header | value |", "|---|---|"]
        out += [f"| `{n}` | `{_cell(v)}` |" for n, v in doc["sdk_headers"]]
    shown = [c for c in doc["checks"] if c.get("views")]
    if shown:
        out += ["", "## Failures and differences", ""]
        for c in shown:
            out += [f"### `{c['check']}`: {MARKS.get(c['outcome'], c['outcome'])}", "", c["reason"], ""]
            for view in c["views"]:
                out += _view(view)
    findings = [f for f in doc["findings"] if not f["rule"].startswith("sdk.")]
    if findings:
        out += ["", "## Client-rule findings (what the SDK sent)", "",
                "| rule | severity | scenario | attempt | message |", "|---|---|---|---:|---|"]
        out += [f"| `{f['rule']}` | {f['severity']} | {f['file']} | {(f['interaction'] or 0) + 1} | "
                f"{_cell(_short(f['message'], 200))} |" for f in findings]
    if doc.get("problems"):
        out += ["", "## Driver problems", ""] + [f"- {_cell(p)}" for p in doc["problems"]]
    return "\n".join(out) + "\n"


def _view(view: Mapping[str, Any]) -> list[str]:
    out = [f"Scenario `{view['scenario']}`, the server's view:", ""]
    if view["server"]:
        out += ["| attempt | at (s) | status | request-id | scripted | answer headers | request headers |",
                "|---:|---:|---|---|---|---|---|"]
        for a in view["server"]:
            scripted = json.dumps(a["scripted"], separators=(",", ":")) if a["scripted"] else ""
            answer = ", ".join(f"{k}: {v}" for k, v in a["answer_headers"].items() if k != "content-type")
            sent = ", ".join(f"{k}: {v}" for k, v in a["headers"].items())
            out.append(f"| {a['attempt']} | {a['at']} | {a['status'] if a['status'] is not None else 'no answer'} | "
                       f"{a['request_id'] or ''} | `{_cell(scripted)}` | {_cell(answer)} | {_cell(sent)} |")
    else:
        out.append("(no request reached the server)")
    driver = json.dumps(view["driver"], indent=1, default=str)
    out += ["", "The driver's view:", "", "```json", _short(driver, 3000), "```", ""]
    return out


def render_matrix(matrix: Mapping[str, Any]) -> str:
    columns = matrix["columns"]
    out = ["# SDK conformance matrix", "",
           "Rows are checks, columns SDK versions. *differs* marks a documented difference between versions; "
           "a reason is shown for everything but an unremarkable pass. Each version's report has the detail.", "",
           "| check | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row in matrix["rows"]:
        cells = []
        for cell in row["cells"]:
            if cell is None:
                cells.append("")
                continue
            mark = MARKS.get(cell["outcome"], cell["outcome"])
            reason = cell["reason"]
            if cell.get("partial"):
                reason = f"not exercised: {cell['partial']}"
            elif cell["outcome"] == "passed" and row["check"] not in REPORTED:
                reason = ""
            cells.append(_cell(f"{mark}: {_short(reason, CELL_REASON)}" if reason else mark))
        out.append(f"| `{row['check']}` | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
