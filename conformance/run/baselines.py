"""A run against its baseline (:mod:`conformance.baseline`): each finding's status as it is judged, each entry's
fate when the run ends. Pure functions over the run's records and check outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.baseline import Baseline, Fingerprint, Reconciled, Scope, counts, of_finding, reconcile
from conformance.engine import parties
from conformance.findings import FAILED, PASSED, CheckOutcome
from conformance.reports.run import run_finding


def mark(baseline: Baseline, record: dict[str, Any], today: dt.date) -> list[str | None]:
    """Each finding's status in ``record`` (``None`` for a non-error), also written into the finding as
    ``baseline`` so that it travels to the reports with the record."""
    out: list[str | None] = []
    for f in record["findings"]:
        status = None
        if counts(f):
            status = baseline.status(of_finding(run_finding(f, record), "run"), today)
            f["baseline"] = status
        out.append(status)
    return out


def observed(records: Sequence[Mapping[str, Any]]) -> list[tuple[Fingerprint, str]]:
    """Every error finding of the run: its fingerprint and its message."""
    return [(of_finding(run_finding(f, record), "run"), str(f.get("message") or ""))
            for record in records for f in record["findings"] if counts(f)]


def reconcile_run(baseline: Baseline, records: Sequence[Mapping[str, Any]], outcomes: Mapping[str, CheckOutcome],
                  today: dt.date, *, select: Sequence[str] = (), ignore: Sequence[str] = (),
                  party: str = "all") -> Reconciled:
    """Each entry's fate: fixed only when its check passed (a failing check stops at its first failing example)."""
    scope = Scope(frozenset(c for c, o in outcomes.items() if o.outcome == PASSED),
                  frozenset(c for c, o in outcomes.items() if o.outcome == FAILED),
                  tuple(select), tuple(ignore), parties(party))
    return reconcile(baseline, [fp for fp, _ in observed(records)], scope, today)
