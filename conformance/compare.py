"""``conformance compare OLD NEW``: what changed between two runs (or two lints), for a pull-request comment.

Each side is a report directory or its ``findings.json``. Findings are matched by their baseline fingerprint
(:mod:`conformance.baseline`), so two runs that generated other requests still match the same deviation:

    new        a deviation NEW has and OLD had not (an error fails ``compare``, unless NEW's baseline waived it)
    fixed      OLD had it; NEW judged the same place in full and it is gone
    unchanged  both have it
    unchecked  OLD had it; NEW did not judge its check (not run, not exercised, failed first, not selected)

Only errors and warnings are compared (info findings are notes, not deviations). Beside the findings: the
change in checks passed / failed / not exercised, the checks whose outcome changed, and the statuses seen per
``anthropic-version`` side by side. Rendering is :mod:`conformance.reports.compare`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.baseline import Fingerprint, Scope, of_finding
from conformance.engine import parties
from conformance.errors import InputError
from conformance.findings import FAILED, NOT_EXERCISED, PASSED

NEW, FIXED, UNCHANGED, UNCHECKED = "new", "fixed", "unchanged", "unchecked"
_RANK = {"warning": 1, "error": 2}


@dataclasses.dataclass(frozen=True, slots=True)
class Side:
    """One report, as compare reads it."""

    name: str
    kind: str
    findings: tuple[Mapping[str, Any], ...]
    checks: Mapping[str, str]
    """Check -> outcome (a run); empty for a lint."""
    version_support: Mapping[str, Mapping[str, int]]
    meta: Mapping[str, Any]

    def counts(self) -> dict[str, int]:
        outcomes = Counter(self.checks.values())
        return {o: outcomes.get(o, 0) for o in (PASSED, FAILED, NOT_EXERCISED)}


_FIX = "give a report directory or the findings.json of `conformance run` or `lint --report-dir`"


def _bad(name: str, where: str, message: str) -> InputError:
    return InputError(message, file=name, where=where, fix=_FIX)


def read_side(path: Path) -> Side:
    """A report directory or a ``findings.json``; :class:`InputError` naming the file and what is wrong."""
    from conformance.reports.documents import read_findings_file

    file = path / "findings.json" if path.is_dir() else path
    return side_of(read_findings_file(file, fix=_FIX), str(file))


def side_of(doc: Any, name: str) -> Side:
    """The :class:`Side` in a parsed ``findings.json`` (checked for shape, never trusted)."""
    if not isinstance(doc, Mapping):
        raise _bad(name, "$", f"a findings.json is an object, not {type(doc).__name__}")
    findings = doc.get("findings")
    if not isinstance(findings, list):
        raise _bad(name, "findings", "no list of findings")
    for n, f in enumerate(findings):
        if not isinstance(f, Mapping) or not isinstance(f.get("rule"), str):
            raise _bad(name, f"findings[{n}]", "a finding is an object with a rule")
    raw_meta = doc.get("meta")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    raw_checks = doc.get("checks")
    kind = str(meta.get("kind") or ("run" if isinstance(raw_checks, list) else "lint"))
    checks: dict[str, str] = {}
    for n, c in enumerate(raw_checks if isinstance(raw_checks, list) else []):
        if not isinstance(c, Mapping) or not isinstance(c.get("check"), str) or not isinstance(c.get("outcome"), str):
            raise _bad(name, f"checks[{n}]", "a check is an object with check and outcome")
        checks[c["check"]] = c["outcome"]
    support: dict[str, dict[str, int]] = {}
    raw_support = doc.get("version_support")
    if isinstance(raw_support, Mapping):
        for version, statuses in raw_support.items():
            if isinstance(statuses, Mapping):
                support[str(version)] = {str(s): n for s, n in statuses.items() if isinstance(n, int)}
    return Side(name, kind, tuple(findings), checks, support, meta)


@dataclasses.dataclass(frozen=True, slots=True)
class Delta:
    """One deviation (a fingerprint) and how it changed."""

    fingerprint: Fingerprint
    status: str
    severity: str
    old: int
    """Findings of it in OLD."""
    new: int
    message: str
    waived: bool = False
    """NEW's baseline knows it (``known``): shown, not failing."""
    why: str | None = None
    """Why it is unchecked (or, for a new one, why the old run could not have seen it)."""

    @property
    def fails(self) -> bool:
        return self.status == NEW and self.severity == "error" and not self.waived


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    old: Side
    new: Side
    deltas: tuple[Delta, ...]

    def with_status(self, status: str) -> list[Delta]:
        return [d for d in self.deltas if d.status == status]

    @property
    def new_errors(self) -> list[Delta]:
        return [d for d in self.deltas if d.fails]

    @property
    def exit_code(self) -> int:
        return 1 if self.new_errors else 0

    def by_rule(self) -> list[tuple[str, str, dict[str, int]]]:
        """(rule, party, {status: deviations}) for every rule with a change or a finding, by rule."""
        rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for d in self.deltas:
            rows[(d.fingerprint.rule, d.fingerprint.party)][d.status] += 1
        return [(rule, party, {s: c.get(s, 0) for s in (NEW, FIXED, UNCHANGED, UNCHECKED)})
                for (rule, party), c in sorted(rows.items())]

    def changed_checks(self) -> list[tuple[str, str | None, str | None]]:
        """(check, OLD outcome, NEW outcome) for each check whose outcome differs (absent: ``None``)."""
        names = sorted(set(self.old.checks) | set(self.new.checks))
        return [(c, self.old.checks.get(c), self.new.checks.get(c)) for c in names
                if self.old.checks.get(c) != self.new.checks.get(c)]

    def to_json(self) -> dict[str, Any]:
        def delta(d: Delta) -> dict[str, Any]:
            out = {**d.fingerprint.to_json(self.new.kind), "status": d.status, "severity": d.severity,
                   "old": d.old, "new": d.new, "message": d.message}
            if d.waived:
                out["waived"] = True
            if d.why:
                out["why"] = d.why
            return out

        return {"old": self.old.name, "new": self.new.name, "kind": self.new.kind,
                "new_errors": len(self.new_errors),
                "deviations": {s: len(self.with_status(s)) for s in (NEW, FIXED, UNCHANGED, UNCHECKED)},
                "changes": [delta(d) for d in self.deltas],
                "checks": {"old": self.old.counts(), "new": self.new.counts(),
                           "changed": [{"check": c, "old": a, "new": b} for c, a, b in self.changed_checks()]},
                "version_support": {"old": self.old.version_support, "new": self.new.version_support}}


def _compared(finding: Mapping[str, Any]) -> bool:
    return finding.get("severity") in _RANK and not finding.get("not_exercised")


def _gather(side: Side) -> dict[Fingerprint, list[Mapping[str, Any]]]:
    out: dict[Fingerprint, list[Mapping[str, Any]]] = defaultdict(list)
    for f in side.findings:
        if _compared(f):
            out[of_finding(f, side.kind)].append(f)
    return out


def _scope(side: Side) -> Scope | None:
    """What a run judged in full; ``None`` for a lint (every file given was read, or said unreadable)."""
    if side.kind != "run":
        return None
    raw = side.meta.get("select")
    select: list[Any] = raw if isinstance(raw, list) else []
    party = side.meta.get("party") if side.meta.get("party") in ("client", "server", "all") else "all"
    return Scope(frozenset(c for c, o in side.checks.items() if o == PASSED),
                 frozenset(c for c, o in side.checks.items() if o == FAILED),
                 tuple(str(s) for s in select), (), parties(str(party)))


def _worst(found: Sequence[Mapping[str, Any]]) -> str:
    return max((str(f.get("severity")) for f in found), key=lambda s: _RANK.get(s, 0))


def compare(old: Side, new: Side) -> Comparison:
    """Every deviation of either side, matched by fingerprint."""
    if old.kind != new.kind:
        raise InputError(f"cannot compare a {old.kind} with a {new.kind}", file=new.name,
                         fix="compare two runs, or two lints")
    a, b = _gather(old), _gather(new)
    old_scope, new_scope = _scope(old), _scope(new)
    deltas = []
    for fp in sorted(set(a) | set(b), key=Fingerprint.key):
        before, after = a.get(fp, []), b.get(fp, [])
        found = after or before
        message = str(found[0].get("message") or "")[:300]
        if after:
            waived = all(f.get("baseline") == "known" for f in after if f.get("severity") == "error") \
                and any(f.get("baseline") == "known" for f in after)
            # New all the same when OLD did not look there (a check added since): said, and still failing.
            unseen = old_scope.why_unchecked(fp) if old_scope is not None and not before else None
            deltas.append(Delta(fp, UNCHANGED if before else NEW, _worst(after), len(before), len(after), message,
                                waived, f"the old run did not judge it: {unseen}" if unseen else None))
            continue
        why = new_scope.why_unchecked(fp) if new_scope is not None else None
        deltas.append(Delta(fp, UNCHECKED if why else FIXED, _worst(before), len(before), 0, message, why=why))
    return Comparison(old, new, tuple(deltas))
