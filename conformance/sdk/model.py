"""The typed data of an SDK run: scenarios, what the server and the driver saw, and verdicts.

    Scenario      one driver call with the server's script for it, and the checks that judge it
    Attempt       one request as the server received it (arrival time, headers, body, status, request id)
    Observation   everything one scenario produced: the attempts, the driver's result (or its problem),
                  and what the server sends for that request when a check compares with it
    Verdict       pass / fail / differs / not-exercised, with a one-line reason

A check is a pure function ``(Observation) -> Verdict`` (see checks.py); nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any

from conformance.exchange import Headers
from conformance.sdk.protocol import PROTOCOL, DriverResult


class Outcome(enum.Enum):
    """How a check ended for one SDK version. Ordered by how much a reader must look at it."""

    FAIL = "fail"
    DIFFERS = "differs"
    """Conformant, but unlike the newest SDKs in a way the matrix must show (a documented difference)."""
    PASS = "pass"
    NOT_EXERCISED = "not-exercised"
    """The scenario could not reach its condition (the SDK cannot make the call, a precondition failed): never
    counted as passed."""

    @property
    def json_name(self) -> str:
        """The name in findings.json, in the vocabulary of ``conformance run`` (passed, failed, ...)."""
        return {"fail": "failed", "pass": "passed"}.get(self.value, self.value)


@dataclasses.dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""


def passed(reason: str = "") -> Verdict:
    return Verdict(Outcome.PASS, reason)


def failed(reason: str) -> Verdict:
    return Verdict(Outcome.FAIL, reason)


def differs(reason: str) -> Verdict:
    return Verdict(Outcome.DIFFERS, reason)


def not_exercised(reason: str) -> Verdict:
    return Verdict(Outcome.NOT_EXERCISED, reason)


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One request of a scenario as the server logged it (headers and body already redacted by the server)."""

    index: int
    time: float
    """Arrival, seconds since the epoch."""
    method: str
    path: str
    query: str
    headers: Headers
    body: Any
    status: int | None
    """What the server answered; ``None`` while it had not answered yet (the client gave up first)."""
    request_id: str | None = None
    answer_headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    step: Mapping[str, Any] | None = None
    """The scripted step this attempt consumed, if any (the server's script, in order)."""

    @classmethod
    def from_log(cls, index: int, entry: Mapping[str, Any], step: Mapping[str, Any] | None) -> Attempt:
        body = entry.get("body")
        return cls(index, float(entry["time"]), str(entry["method"]), str(entry["path"]), str(entry.get("query", "")),
                   Headers([(str(n), str(v)) for n, v in entry.get("headers", [])]), body, entry.get("status"),
                   entry.get("request_id"), dict(entry.get("answer_headers") or {}), step)


@dataclasses.dataclass(frozen=True)
class Sent:
    """What the server sends for the scenario's request (the same request replayed: the server is deterministic)."""

    message: Mapping[str, Any] | None
    """The Message (non-streaming), or the one the stream accumulates to (the suite's accumulator)."""
    text: str | None = None
    """The stream's text deltas joined in order."""
    events: tuple[str, ...] = ()
    """The stream's event types, in order."""


@dataclasses.dataclass(frozen=True)
class Observation:
    scenario: Scenario
    attempts: tuple[Attempt, ...]
    result: DriverResult | None
    problem: str | None = None
    """Why the driver gave no usable result (hung, crashed, broke the protocol): one line."""
    stopped: bool = False
    """The runner stopped the driver as the scenario planned (``Scenario.observe``)."""
    sent: Sent | None = None
    consumed: int = 0
    """How many scripted steps the server used up: 0 with steps means no attempt got past the server's own
    checks (auth, version), so the scripted fault was never reached."""
    baseline: DriverResult | None = None
    """The driver's result for :attr:`Scenario.baseline`, when that scenario ran first."""

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive attempts' arrivals."""
        return [b.time - a.time for a, b in zip(self.attempts, self.attempts[1:], strict=False)]


Judge = Callable[[Observation], Verdict]


@dataclasses.dataclass(frozen=True)
class CheckInfo:
    id: str
    """``area.name``: ``retries.429``, ``errors.529``, ``streaming.final-message`` ..."""
    title: str

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One driver call, the server's script for it, and the checks its observation feeds."""

    id: str
    call: str
    params: Mapping[str, Any]
    checks: tuple[tuple[CheckInfo, Judge], ...]
    steps: tuple[Mapping[str, Any], ...] = ()
    max_retries: int = 0
    timeout: float = 10.0
    strict: bool = False
    betas: tuple[str, ...] = ()
    deadline: float = 15.0
    """Seconds the driver may take before it counts as hung (a guard, never a measurement)."""
    observe: float | None = None
    """Stop the driver after this many seconds on purpose: the server's log up to then is the observation."""
    replay: bool = False
    """Also fetch what the server sends for this request (for checks that compare with it)."""
    baseline: str | None = None
    """A scenario making the same call without this one's fault, whose result this one's must equal."""

    def line(self, api_version: str | None) -> dict[str, Any]:
        """The scenario as the driver protocol carries it."""
        client: dict[str, Any] = {"max_retries": self.max_retries, "timeout": self.timeout}
        if self.strict:
            client["strict"] = True
        if api_version is not None:
            client["api_version"] = api_version
        out: dict[str, Any] = {"protocol": PROTOCOL, "scenario": self.id, "call": self.call,
                               "params": dict(self.params), "client": client}
        if self.betas:
            out["betas"] = list(self.betas)
        return out
