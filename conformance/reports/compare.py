"""``conformance compare`` as Markdown, sized for a pull-request comment (logic in conformance.compare)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance.compare import FIXED, NEW, UNCHANGED, UNCHECKED, Comparison, Delta, Side
from conformance.findings import FAILED, NOT_EXERCISED, PASSED

ROWS = 40
"""Rows per table: a comment stays readable; compare --format json has them all."""


def _cell(text: object) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def _about(side: Side) -> str:
    meta = side.meta
    bits = [side.kind]
    if meta.get("target"):
        bits.append(f"target `{meta['target']}`" + (f" (mutant `{meta['mutant']}`)" if meta.get("mutant") else ""))
    if meta.get("suite_version"):
        bits.append(f"suite {meta['suite_version']}")
    return f"`{side.name}` ({', '.join(bits)})"


def _where(d: Delta) -> str:
    fp = d.fingerprint
    return fp.source + (f" #{fp.interaction}" if fp.interaction is not None else "")


def _deltas(title: str, deltas: Sequence[Delta], *, show_counts: bool) -> list[str]:
    if not deltas:
        return []
    head = "| rule | party | severity | API version | where | path | findings | message |"
    out = ["", f"### {title} ({len(deltas)})", "", head, "|---|---|---|---|---|---|---:|---|"]
    for d in deltas[:ROWS]:
        fp = d.fingerprint
        count = f"{d.old} → {d.new}" if show_counts else str(d.new or d.old)
        severity = d.severity + (" (known: baseline)" if d.waived else "")
        message = d.message if not d.why else f"{d.message} — {d.why}"
        out.append(f"| `{fp.rule}` | {fp.party} | {severity} | {fp.api_version or '-'} | `{_cell(_where(d))}` "
                   f"| `{_cell(fp.part)} {_cell(fp.path)}` | {count} | {_cell(message[:160])} |")
    if len(deltas) > ROWS:
        out.append(f"| … | | | | {len(deltas) - ROWS} more (compare --format json lists them all) | | | |")
    return out


def _statuses(statuses: Mapping[str, int] | None) -> str:
    return ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items())) if statuses else "—"


def render_markdown(c: Comparison) -> str:
    new_errors = c.new_errors
    out = ["## Conformance: compared with the last run", "", f"- old: {_about(c.old)}", f"- new: {_about(c.new)}", ""]
    counts = {s: len(c.with_status(s)) for s in (NEW, FIXED, UNCHANGED, UNCHECKED)}
    verdict = (f"**{len(new_errors)} new error deviation(s).**" if new_errors else "**No new error deviation.**")
    waived = sum(1 for d in c.with_status(NEW) if d.waived)
    out.append(f"{verdict} Deviations: {counts[NEW]} new{f' ({waived} waived by the baseline)' if waived else ''}, "
               f"{counts[FIXED]} fixed, {counts[UNCHANGED]} unchanged, {counts[UNCHECKED]} not judged by the new run.")
    out += _deltas("New", c.with_status(NEW), show_counts=False)
    out += _deltas("Fixed", c.with_status(FIXED), show_counts=False)
    out += _deltas("Not judged by the new run", c.with_status(UNCHECKED), show_counts=False)
    rows = c.by_rule()
    if rows:
        out += ["", "### By rule and party", "", "| rule | party | new | fixed | unchanged | not judged |",
                "|---|---|---:|---:|---:|---:|"]
        out += [f"| `{rule}` | {party} | {n[NEW]} | {n[FIXED]} | {n[UNCHANGED]} | {n[UNCHECKED]} |"
                for rule, party, n in rows[:ROWS]]
    if c.old.checks or c.new.checks:
        before, after = c.old.counts(), c.new.counts()
        out += ["", "### Checks", "", "| | old | new | change |", "|---|---:|---:|---:|"]
        for outcome, label in ((PASSED, "passed"), (FAILED, "failed"), (NOT_EXERCISED, "not exercised")):
            out.append(f"| {label} | {before[outcome]} | {after[outcome]} | {after[outcome] - before[outcome]:+d} |")
        changed = c.changed_checks()
        if changed:
            out += ["", "Outcome changed:", ""]
            out += [f"- `{check}`: {a or 'absent'} → {b or 'absent'}" for check, a, b in changed[:ROWS]]
            if len(changed) > ROWS:
                out.append(f"- … and {len(changed) - ROWS} more")
    versions = sorted(set(c.old.version_support) | set(c.new.version_support))
    if versions:
        out += ["", "### Version support (statuses seen per anthropic-version sent)", "",
                "| anthropic-version | old | new | |", "|---|---|---|---|"]
        for v in versions:
            a, b = c.old.version_support.get(v), c.new.version_support.get(v)
            same = "" if a == b else "changed"
            out.append(f"| `{_cell(v)}` | {_statuses(a)} | {_statuses(b)} | {same} |")
    return "\n".join(out) + "\n"
