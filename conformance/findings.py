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
