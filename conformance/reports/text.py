"""Human-readable report: findings grouped by file and interaction."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from conformance.findings import Finding, Severity
from conformance.lint import LintResult

_WIDTH = 7


def _value(v: Any) -> str:
    plain = isinstance(v, str) and "\n" not in v and "\r" not in v
    text = v if plain else json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


_MARKS = {"known": "  [known: baseline]", "expired": "  [baseline entry expired: fails again]"}


def _finding_lines(f: Finding, status: str | None = None) -> list[str]:
    where = f.part
    if f.event is not None:
        where += f" event {f.event}"
    head = f"    {f.severity!s:<{_WIDTH}} {f.party:<6} {f.rule}  {where} {f.path}{_MARKS.get(status or '', '')}"
    lines = [head, f"    {'':<{_WIDTH}} {f.message}"]
    if f.expected is not None or f.actual is not None:
        lines.append(f"    {'':<{_WIDTH}} expected: {_value(f.expected)}   actual: {_value(f.actual)}")
    return lines


def render(result: LintResult, min_severity: Severity = Severity.INFO) -> str:
    shown = [(f, result.status(n)) for n, f in enumerate(result.findings) if f.severity >= min_severity]
    by_file: dict[str | None, dict[int | None, list[tuple[Finding, str | None]]]] = defaultdict(
        lambda: defaultdict(list))
    for f, status in shown:
        by_file[f.file][f.interaction].append((f, status))
    out: list[str] = []
    for file, by_interaction in by_file.items():
        out.append(file or "<no file>")
        for interaction, findings in sorted(by_interaction.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            if interaction is None:
                out.append("  across interactions")
            else:
                lbl = result.labels.get((file, interaction), "")
                out.append(f"  interaction {interaction}  {lbl}".rstrip())
            for f, status in sorted(findings, key=lambda fs: (-fs[0].severity, fs[0].event or 0, fs[0].rule)):
                out.extend(_finding_lines(f, status))
    if min_severity <= Severity.INFO:
        for s in result.skipped:
            where = s.file if s.interaction is None else f"{s.file} interaction {s.interaction}"
            out.append(f"note: {where}: skipped, {s.reason}")
    # After every readable input's findings: one bad path never hides the rest.
    for err in result.input_errors:
        out.append(f"unreadable: {err}")
    out.append(summary_line(result))
    if result.baseline is not None:
        from conformance.reports.baseline import terminal_lines

        out.extend(terminal_lines(result.baseline))
    return "\n".join(out) + "\n"


def summary_line(result: LintResult) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    errors = plural(result.count(Severity.ERROR), "error")
    if result.known:
        errors += f" ({result.known} known: not failing)"
    parts = [plural(result.files, "file"), plural(result.interactions, "interaction"), errors,
             plural(result.count(Severity.WARNING), "warning"), f"{result.count(Severity.INFO)} info"]
    if result.skipped:
        parts.append(f"{len(result.skipped)} skipped")
    if result.input_errors:
        parts.append(plural(len(result.input_errors), "unreadable file"))
    return "summary: " + ", ".join(parts)
