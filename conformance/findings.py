"""Findings: what a rule reports when the target breaks (or bends) the contract.

A finding is typed data. Rules create them with only what they know (rule id,
severity, message, JSON path, expected/actual, event index); the engine that
runs the rules adds where the data came from (file, interaction) with
:meth:`Finding.located`. Rendering lives in ``conformance.reports``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class Severity(enum.IntEnum):
    """How much a finding matters. Ordered so ``>=`` filters work."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of: {names}") from None

    def __str__(self) -> str:
        return self.name.lower()


CLIENT = "client"
"""The party that sent the request: an SDK, an application, the suite itself in ``run``."""
SERVER = "server"
"""The party that answered: the API, a gateway, a compatible server."""
PARTIES = (CLIENT, SERVER)

_UNSET: Any = object()

QUOTE_LIMIT = 500
"""About how many characters of JSON text a finding may quote of one value (``expected``, ``actual``):
enough to recognise it, never the whole of a megabyte body (the finding's path says where it is).
A value up to twice this long is kept whole rather than cut for a few characters."""
MESSAGE_LIMIT = 600
"""Characters of a finding's message (a schema error's message may repeat the instance)."""
PATH_LIMIT = 300
_MAX_DEPTH = 32


def bounded(value: Any, limit: int = QUOTE_LIMIT) -> Any:
    """``value`` cut to about ``limit`` characters of JSON text, keeping its shape.

    A long string keeps its start; a long list or mapping keeps its first items and ends with a
    ``"... (N more)"`` string; nesting deeper than a few dozen levels becomes ``"..."``. A value within
    twice the limit is returned as it is, so bounding a bounded value changes nothing. Both walks stop
    when the budget is spent: quoting a huge (or deeply shared) value costs the budget, not the value.
    """
    if _fits(value, [2 * limit], 0):
        return value
    return _bounded(value, [limit], 0)


def _fits(value: Any, room: list[int], depth: int) -> bool:
    """Whether ``value`` measures within ``room`` (the measure :func:`_bounded` cuts by)."""
    if value is None or isinstance(value, (bool, int, float)):
        room[0] -= 5
    elif isinstance(value, str):
        room[0] -= len(value) + 2
    elif isinstance(value, (dict, list, tuple)):
        if depth >= _MAX_DEPTH:
            return False
        room[0] -= 2
        if isinstance(value, dict):
            for k, v in value.items():
                room[0] -= len(str(k)) + 4
                if room[0] < 0 or not _fits(v, room, depth + 1):
                    return False
        else:
            for v in value:
                room[0] -= 2
                if room[0] < 0 or not _fits(v, room, depth + 1):
                    return False
    else:
        room[0] -= len(str(value)) + 2
    return room[0] >= 0


def _bounded(value: Any, room: list[int], depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        room[0] -= 5
        return value
    if isinstance(value, str):
        keep = max(room[0], 20)
        room[0] -= len(value) + 2
        return value if len(value) <= keep else value[:keep] + f"... ({len(value) - keep:,} more characters)"
    if isinstance(value, (dict, list, tuple)) and depth >= _MAX_DEPTH:
        room[0] -= 3
        return "..."
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        room[0] -= 2
        for i, (k, v) in enumerate(value.items()):
            if room[0] <= 0:
                out["..."] = f"... ({len(value) - i:,} more)"
                return out
            room[0] -= len(str(k)) + 4
            out[k] = _bounded(v, room, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        items: list[Any] = []
        room[0] -= 2
        for i, v in enumerate(value):
            if room[0] <= 0:
                items.append(f"... ({len(value) - i:,} more)")
                return items
            items.append(_bounded(v, room, depth + 1))
            room[0] -= 2
        return items
    return _bounded(str(value), room, depth)


def _bounded_text(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: its start and end around a note of how much is left out."""
    if len(text) <= limit:
        return text
    marker = f"...({len(text):,} characters)..."
    half = (limit - len(marker)) // 2
    return text[:half] + marker + text[len(text) - half:]


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One contract observation.

    ``path`` is a JSON path into the document named by ``part`` (``"$.content[0].type"``);
    ``part`` says which document: ``request.body``, ``response.body``,
    ``response.headers``, ``request.headers``, ``stream`` (``event`` then gives the
    0-based event index), ``message`` (the message accumulated from a stream),
    ``exchange`` (the exchange as a whole) or ``sequence`` (across exchanges).
    """

    rule: str
    severity: Severity
    message: str
    path: str = "$"
    part: str = "exchange"
    expected: Any = None
    actual: Any = None
    event: int | None = None
    file: str | None = None
    interaction: int | None = None
    party: str = SERVER
    """Whose fault it is: ``client`` or ``server`` (stamped from the rule's catalogue entry by the engine)."""
    exercised: bool = True
    """False for a note that the rule could not reach its condition here (``message`` says why): never a pass."""

    def __post_init__(self) -> None:
        # The one place every finding passes: whatever a rule quoted, every report prints a bounded amount.
        for name, limit in (("message", MESSAGE_LIMIT), ("path", PATH_LIMIT)):
            text = getattr(self, name)
            if len(text) > limit:
                object.__setattr__(self, name, _bounded_text(text, limit))
        for name in ("expected", "actual"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (bool, int, float)):
                object.__setattr__(self, name, bounded(value))

    def located(self, file: str | None, interaction: int | None) -> Finding:
        return dataclasses.replace(self, file=file, interaction=interaction)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": str(self.severity),
            "party": self.party,
            "message": self.message,
            "file": self.file,
            "interaction": self.interaction,
            "part": self.part,
            "path": self.path,
        }
        if self.event is not None:
            out["event"] = self.event
        if not self.exercised:
            out["not_exercised"] = True
        if self.expected is not None:
            out["expected"] = self.expected
        if self.actual is not None:
            out["actual"] = self.actual
        return out


PASSED, FAILED, NOT_EXERCISED = "passed", "failed", "not-exercised"


@dataclasses.dataclass(frozen=True, slots=True)
class CheckOutcome:
    """How one check of a run ended. A check that could not exercise its property is never passed."""

    check: str
    outcome: str
    """``passed``, ``failed`` or ``not-exercised`` (with the reason: no control API, caps spent, ...)."""
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "outcome": self.outcome, "reason": self.reason}


def error(rule: str, message: str, **kw: Any) -> Finding:
    return Finding(rule, Severity.ERROR, message, **kw)


def warning(rule: str, message: str, **kw: Any) -> Finding:
    return Finding(rule, Severity.WARNING, message, **kw)


def info(rule: str, message: str, **kw: Any) -> Finding:
    return Finding(rule, Severity.INFO, message, **kw)


def not_exercised(rule: str, why: str, **kw: Any) -> Finding:
    """``rule`` could not be judged here, and why (no 429 reached, no control API ...): reported, never passed."""
    return Finding(rule, Severity.INFO, why, exercised=False, **kw)
