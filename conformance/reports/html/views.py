"""What ``report.html`` shows, as plain data: the view types :mod:`.model` builds and the templates draw.

Each matrix cell is one of :data:`CELL_STATES`; a rule that no exchange reached is *not exercised*
(with the reason a check gave, or what was missing), never *pass*.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from conformance.reports.html.timeline import Timeline
from conformance.rules.base import RuleInfo

PASS, FAIL, WARN, NOT_EXERCISED_CELL, SKIPPED = "pass", "fail", "warn", "not-exercised", "skipped"
CELL_STATES = (FAIL, WARN, PASS, NOT_EXERCISED_CELL, SKIPPED)
SEVERITIES = ("info", "warning", "error")
QUIET_INLINE_MAX = 300
"""Up to this many exchanges, every one is listed in the page; above it, those without findings wait
until the reader asks for them (a 1,500-exchange run must open in under a second)."""
_RANK = {s: n for n, s in enumerate(SEVERITIES)}


@dataclasses.dataclass(frozen=True, slots=True)
class Cell:
    state: str
    count: int = 0
    reason: str = ""
    column: str = ""
    href: str | None = None


@dataclasses.dataclass(slots=True)
class RuleRow:
    rule: RuleInfo
    cells: list[Cell]
    failed: int
    """Error findings of this rule, over every column."""


@dataclasses.dataclass(slots=True)
class AreaRow:
    area: str
    parties: list[str]
    cells: list[Cell]
    rules: list[RuleRow]

    @property
    def failing(self) -> bool:
        return any(c.state in (FAIL, WARN) for c in self.cells)


@dataclasses.dataclass(slots=True)
class Matrix:
    column_title: str
    columns: list[str]
    labels: list[str]
    areas: list[AreaRow]
    filter_by_version: bool
    """Columns are API versions (a run), so the version filter hides columns."""


@dataclasses.dataclass(slots=True)
class PartyVerdict:
    party: str
    state: str
    """``fail``, ``warn``, ``pass``, ``not-exercised`` or ``skipped`` (party not selected)."""
    errors: int
    warnings: int
    areas: list[str]
    """Areas with errors."""
    reason: str = ""
    """Why it was skipped or not exercised."""


@dataclasses.dataclass(slots=True)
class FindingView:
    anchor: str
    rule: str
    severity: str
    party: str
    area: str
    message: str
    source: str | None
    interaction: int | None
    version: str | None
    where: str
    """Which document and event: ``stream event 14``."""
    path: str
    expected: str | None
    actual: str | None
    exchange: str | None
    """The anchor of its exchange, when the log has it."""
    baseline: str | None = None
    """Its status against the run's baseline: ``known`` (shown, not failing), ``expired``, ``new``."""

    @property
    def failing(self) -> bool:
        return self.severity == "error" and self.baseline != "known"


@dataclasses.dataclass(slots=True)
class ExchangeView:
    anchor: str
    number: int
    source: str | None
    interaction: int | None
    label: str
    version: str | None
    status: int | None
    stream: bool
    method: str | None
    url: str | None
    request_headers: list[tuple[str, str]]
    request_body: str | None
    response_headers: list[tuple[str, str]]
    response_body: str | None
    events: str | None
    timeline: Timeline | None
    curl: str
    truncated: list[str]
    intent: str | None
    findings: list[FindingView]

    @property
    def severity(self) -> str:
        return max((f.severity for f in self.findings), key=_RANK.__getitem__, default="")


@dataclasses.dataclass(slots=True)
class RuleCard:
    """A failing (or warned) rule: what it checks, every finding, and the example to look at."""

    rule: RuleInfo
    severity: str
    findings: list[FindingView]
    example: ExchangeView | None
    example_finding: FindingView | None
    minimised: bool
    versions: list[str]


@dataclasses.dataclass(slots=True)
class VersionRow:
    version: str
    known: bool
    statuses: list[tuple[int, int]]


@dataclasses.dataclass(slots=True)
class AcrossRow:
    """One kind of request of ``--compare-versions`` and what its pairs came to."""

    request: str
    pairs: int
    statuses: list[list[tuple[str, int]]]
    """Per version, in :attr:`AcrossVersions.versions` order: (status, count)."""
    verdict: str
    state: str
    """``fail`` for a deviation (an unpredicted change, a predicted change missing), ``not-exercised`` when the
    pair could not be compared, else ``pass``."""


@dataclasses.dataclass(slots=True)
class AcrossVersions:
    versions: list[str]
    counts: list[tuple[str, int]]
    rows: list[AcrossRow]


@dataclasses.dataclass(slots=True)
class Report:
    kind: str
    """``run`` or ``lint``."""
    title: str
    facts: list[tuple[str, str]]
    verdict: str
    verdict_text: str
    parties: list[PartyVerdict]
    matrix: Matrix
    cards: list[RuleCard]
    findings: list[FindingView]
    exchanges: list[ExchangeView]
    not_exercised: list[tuple[str, str]]
    versions: list[VersionRow]
    notes: list[str]
    filters: dict[str, list[str]]
    lazy_quiet: bool
    """List only the exchanges with findings until asked (see :data:`QUIET_INLINE_MAX`)."""
    across: AcrossVersions | None = None
    """``--compare-versions``: the same requests under two versions, side by side."""


# -- formatting -------------------------------------------------------------------------------------------------

def pretty(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def inline(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    if not isinstance(headers, Mapping):
        return []
    return [(str(name), str(v)) for name, values in headers.items()
            for v in (values if isinstance(values, list) else [values])]


def event_lines(events: Sequence[Mapping[str, Any]]) -> str:
    """One line per event, ``[n] data``; the SSE ``event:`` name only where it differs from the data's type."""
    lines = []
    for e in events:
        payload = e.get("payload")
        data = json.dumps(payload, ensure_ascii=False) if "payload" in e else str(e.get("data", ""))
        kind = payload.get("type") if isinstance(payload, Mapping) else None
        name = "" if e.get("name") in (None, kind) else f"event: {e.get('name')}  "
        lines.append(f"[{e.get('index')}] {name}{data}")
    return "\n".join(lines)


def where(f: Mapping[str, Any]) -> str:
    where = str(f.get("part") or "")
    if f.get("event") is not None:
        where += f" event {f['event']}"
    return where


def location(file: Any, interaction: Any) -> tuple[str | None, int | None]:
    """Where an exchange is (its file or check, its index there): how findings are joined to the exchange log."""
    return (str(file) if file is not None else None, interaction if isinstance(interaction, int) else None)


def short_name(path: str, others: Iterable[str]) -> str:
    """A file's name, or enough of its path to tell it from the others."""
    parts = PurePath(path).parts
    for n in range(1, len(parts) + 1):
        tail = "/".join(parts[-n:])
        if sum(1 for o in others if o == tail or o.endswith("/" + tail)) <= 1:
            return tail
    return path


def severity_of(f: Mapping[str, Any]) -> str:
    severity = str(f.get("severity") or "error")
    return severity if severity in _RANK else "error"
