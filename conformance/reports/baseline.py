"""How a baseline's outcome reads: terminal lines and the ``summary.md`` section (logic in conformance.baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.baseline import EXPIRED, FIXED, KNOWN, NEW, SEEN, UNCHECKED, EntryResult, Reconciled

_SHOWN = 20
"""Entries listed per status in the terminal; the reports list them all."""


def _owner_reason(r: EntryResult) -> str:
    bits = [f"owner {r.entry.owner}" if r.entry.owner else "", f"reason: {r.entry.reason}" if r.entry.reason else ""]
    text = "; ".join(b for b in bits if b)
    return f" ({text})" if text else ""


def headline(rec: Reconciled) -> str:
    f, e = rec.findings, {s: len(rec.with_status(s)) for s in (SEEN, EXPIRED, FIXED, UNCHECKED)}
    return (f"baseline {rec.file}: {f.get(KNOWN, 0)} known, {f.get(NEW, 0)} new, {f.get(EXPIRED, 0)} expired error "
            f"finding(s); entries: {e[SEEN]} seen, {e[EXPIRED]} expired, {e[FIXED]} fixed, {e[UNCHECKED]} unchecked")


def terminal_lines(rec: Reconciled) -> list[str]:
    """The headline, then each expired entry (it fails again) and each fixed one (to be removed)."""
    out = [headline(rec)]
    for status, say in ((EXPIRED, "expired {expires}, fails again: "), (FIXED, "fixed, remove it: ")):
        found = rec.with_status(status)
        for r in found[:_SHOWN]:
            expires = r.entry.expires.isoformat() if r.entry.expires else ""
            out.append("  " + say.format(expires=expires) + r.entry.fingerprint.describe() + _owner_reason(r))
        if len(found) > _SHOWN:
            out.append(f"  ... and {len(found) - _SHOWN} more {status} (see the reports)")
    return out


def _cell(text: Any) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def markdown_section(rec: Mapping[str, Any]) -> list[str]:
    """``summary.md``'s baseline section, from the ``baseline`` block of ``findings.json``."""
    found, entries = rec.get("findings") or {}, rec.get("entries") or {}
    out = ["", "## Baseline (known deviations)", "",
           f"`{rec.get('file')}`: {found.get(KNOWN, 0)} known error finding(s) (shown, not failing), "
           f"{found.get(NEW, 0)} new, {found.get(EXPIRED, 0)} on expired entries (failing again). Entries: "
           f"{entries.get(SEEN, 0)} seen, {entries.get(EXPIRED, 0)} expired, {entries.get(FIXED, 0)} fixed, "
           f"{entries.get(UNCHECKED, 0)} unchecked.", ""]
    results = rec.get("entry_results") or []
    if results:
        out += ["| status | rule | party | where | path | findings | owner | expires | reason |",
                "|---|---|---|---|---|---:|---|---|---|"]
        order = {EXPIRED: 0, FIXED: 1, SEEN: 2, UNCHECKED: 3}
        for r in sorted(results, key=lambda r: order.get(str(r.get("status")), 9)):
            where = r.get("check") or f"{r.get('file')} #{r.get('interaction')}"
            status = str(r.get("status"))
            if r.get("why"):
                status += f" ({r['why']})"
            out.append(f"| {_cell(status)} | `{r.get('rule')}` | {r.get('party')} | `{_cell(where)}` "
                       f"| `{_cell(r.get('part'))} {_cell(r.get('path'))}` | {r.get('findings', 0)} "
                       f"| {_cell(r.get('owner') or '')} | {r.get('expires') or ''} | {_cell(r.get('reason') or '')} |")
    return out
