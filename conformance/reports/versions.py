"""The version comparison of a run (``--compare-versions``): per kind of request, the statuses under each version
side by side and what the pairs came to. A view over the run's records (findings of conformance/rules/versions.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.rules.versions import MISSING_CHANGE, PAIR, PREDICTED, REQUEST, UNPREDICTED, VERSIONS

ALIKE, AS_PREDICTED, MISSING, UNPREDICTED_CHANGE, NOT_COMPARABLE = (
    "alike", "changed as predicted", "predicted change missing", "unpredicted change", "not comparable")
VERDICTS = (UNPREDICTED_CHANGE, MISSING, AS_PREDICTED, ALIKE, NOT_COMPARABLE)
_BY_RULE = {UNPREDICTED: UNPREDICTED_CHANGE, MISSING_CHANGE: MISSING, PREDICTED: AS_PREDICTED}


def _detail(record: Mapping[str, Any]) -> Mapping[str, Any]:
    intent = record.get("intent")
    detail = intent.get("detail") if isinstance(intent, Mapping) else None
    return detail if isinstance(detail, Mapping) else {}


def _verdict(pair: Sequence[Mapping[str, Any]]) -> str:
    found = [f for r in pair for f in r.get("findings") or [] if f.get("rule") in _BY_RULE]
    if any(f.get("not_exercised") for f in found):
        return NOT_COMPARABLE
    rules = {f.get("rule") for f in found}
    return next((verdict for rule, verdict in _BY_RULE.items() if rule in rules), ALIKE)


def version_comparison(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """``{"versions": [A, B], "counts": {verdict: pairs}, "rows": [...]}``, or ``None`` when no pair was sent.

    A row per kind of request and verdict: how many pairs, and the statuses each version answered them with."""
    pairs: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    versions: list[str] = []
    for record in records:
        detail = _detail(record)
        if isinstance(detail.get(PAIR), str):
            pairs[(str(record.get("test")), detail[PAIR])].append(record)
            if not versions and isinstance(detail.get(VERSIONS), list):
                versions = [str(v) for v in detail[VERSIONS]]
    if not pairs:
        return None
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    counts: Counter[str] = Counter()
    for pair in pairs.values():
        verdict = _verdict(pair)
        counts[verdict] += 1
        kind = str(_detail(pair[0]).get(REQUEST) or "?")
        row = rows.setdefault((kind, verdict), {"request": kind, "verdict": verdict, "pairs": 0,
                                                "statuses": {v: Counter() for v in versions}})
        row["pairs"] += 1
        for record in pair:
            version = record.get("version")
            if version in row["statuses"]:
                row["statuses"][version][str(record.get("status"))] += 1
    ordered = sorted(rows.values(), key=lambda r: (r["request"], VERDICTS.index(r["verdict"])))
    for row in ordered:
        row["statuses"] = {v: dict(sorted(c.items())) for v, c in row["statuses"].items()}
    return {"versions": versions, "counts": {v: counts.get(v, 0) for v in VERDICTS}, "rows": ordered}


def _statuses(statuses: Mapping[str, int]) -> str:
    return ", ".join(f"{s}×{n}" for s, n in statuses.items()) or "—"


def markdown_section(comparison: Mapping[str, Any]) -> list[str]:
    versions = list(comparison.get("versions") or [])
    a, b = [*versions, "?", "?"][:2]
    counts = comparison.get("counts") or {}
    out = ["", f"## Across API versions: {a} and {b}", "",
           f"The same requests under both versions, judged against what the profiles predict (`conformance diff "
           f"{a} {b}`): " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + ".", "",
           f"| request | pairs | {a} | {b} | verdict |", "|---|---:|---|---|---|"]
    for row in comparison.get("rows") or []:
        statuses = row.get("statuses") or {}
        verdict = row["verdict"] if row["verdict"] in (ALIKE, AS_PREDICTED, NOT_COMPARABLE) else f"**{row['verdict']}**"
        out.append(f"| {str(row['request']).replace('|', '/')} | {row['pairs']} | {_statuses(statuses.get(a, {}))} "
                   f"| {_statuses(statuses.get(b, {}))} | {verdict} |")
    return out
