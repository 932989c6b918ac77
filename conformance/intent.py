"""What a request was sent to provoke: the expectation travels with the exchange.

A conformance run sends requests on purpose: valid ones that must be answered, one-constraint-broken
ones that must get 400, a request without a key, a burst past the rate limit, a scripted fault. The
run attaches an :class:`Intent` to each exchange; rules in :mod:`conformance.rules.intents` read it
and judge the answer, exactly as the exchange rules judge any exchange. Nothing is wired into the
checks by hand, so a recording that keeps its intents can be re-judged later by newer rules.

In a cassette the intent is stored as the request header :data:`META_HEADER` (JSON, one line),
added by the recorder to the stored copy of the request only: it never goes over the wire. vcrpy
and every reader keep unknown headers, so the recording stays a plain vcrpy cassette.

Kinds (``Intent.kind``) and what they expect:

    valid          a valid request: 200 and a complete answer (positive.accepted, positive.completed)
    invalid        one constraint broken (detail: constraint, path): 400 invalid_request_error (negative.*)
    expect         a probe with a known answer: ``status`` (and ``error_type``), judged as ``rule``
    bad-version    a missing/unknown/repeated anthropic-version: 400 naming the header (version.*)
    fault          a scripted HTTP fault: ``status`` as scripted (fault.error-mapping)
    stream-fault   a scripted mid-stream error: the stream ends with an error event (fault.error-mapping)
    tool-turn      a turn with tool_choice any: 200 with a tool_use block (stateful.tool-loop)
    models-list    the models list: holds ``detail["ids"]`` (model.list)
    burst          step ``detail["step"]`` of a burst on one key (ratelimit.*, judged as a sequence)
    after-wait     the request after waiting ``detail["waited"]`` seconds of retry-after (ratelimit.*)

``detail["group"]`` ties exchanges that are judged together (the same request streamed, not
streamed and counted: ``detail["role"]`` is ``plain``, ``stream`` or ``count``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["KINDS", "META_HEADER", "META_VERSION", "Intent", "RecordingMeta", "check_id"]

META_HEADER = "x-conformance-meta"
"""The request header (stored in recordings only, never sent) that carries an exchange's intent."""
META_VERSION = 1
"""The version of the metadata format; readers accept every version ever written."""

KINDS = frozenset({"valid", "invalid", "expect", "bad-version", "fault", "stream-fault", "tool-turn",
                   "models-list", "burst", "after-wait"})


@dataclasses.dataclass(frozen=True, slots=True)
class Intent:
    kind: str
    rule: str | None = None
    """The rule that judges an ``expect`` (``auth.rejected``, ``model.unknown`` ...)."""
    status: int | None = None
    error_type: str | None = None
    what: str = ""
    """What was sent, in words ("a request without a key")."""
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown intent kind {self.kind!r}; known: {', '.join(sorted(KINDS))}")

    @property
    def expects_rejection(self) -> bool:
        """The request is wrong on purpose: its client-side findings are the point, not a fault."""
        return self.kind in ("invalid", "bad-version") or (self.status is not None and self.status >= 400
                                                          and self.kind == "expect")

    @property
    def group(self) -> str | None:
        group = self.detail.get("group")
        return group if isinstance(group, str) else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for name in ("rule", "status", "error_type"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.what:
            out["what"] = self.what
        if self.detail:
            out["detail"] = dict(self.detail)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Intent | None:
        """The intent in ``data``; ``None`` when it is not one this suite understands (never raises)."""
        if not isinstance(data, Mapping) or data.get("kind") not in KINDS:
            return None
        status = data.get("status")
        detail = data.get("detail")
        return cls(str(data["kind"]), _text(data.get("rule")),
                   status if isinstance(status, int) and not isinstance(status, bool) else None,
                   _text(data.get("error_type")), str(data.get("what") or ""),
                   dict(detail) if isinstance(detail, Mapping) else {})


def check_id(nodeid: str) -> str:
    """A check's name that does not depend on where the run started: ``test_access::test_x[2023-06-01]``.

    pytest node ids hold the module's path relative to the run's root directory, which differs between
    a checkout, an installed wheel and another working directory; recordings and reports name a check
    by its module's file stem and the test's name instead.
    """
    path, sep, rest = nodeid.partition("::")
    if not sep:
        return nodeid
    stem = path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
    return f"{stem}::{rest}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclasses.dataclass(frozen=True, slots=True)
class RecordingMeta:
    """Everything a recording keeps about one exchange besides the HTTP: what it was for, and by whom."""

    intent: Intent | None
    check: str | None = None
    """The check (pytest node id) that sent it."""
    api_version: str | None = None
    suite_version: str | None = None
    deterministic: bool | None = None
    """Whether the target answers the same request the same way (the reference server)."""
    send: int | None = None
    """Which request of the check this is (1, 2, ...); the attempts of one request (retries) share it."""

    def header_value(self) -> str:
        data: dict[str, Any] = {"v": META_VERSION}
        if self.intent is not None:
            data["intent"] = self.intent.to_json()
        for name in ("check", "api_version", "suite_version", "deterministic", "send"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, value: str | None) -> RecordingMeta | None:
        """The metadata in a :data:`META_HEADER` value; ``None`` for anything unreadable (never raises)."""
        if not value or len(value) > 65536:
            return None
        try:
            data = json.loads(value)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("v"), int):
            return None
        # Version 1 is the only one written so far; a newer one is read for the fields it shares.
        deterministic, send = data.get("deterministic"), data.get("send")
        return cls(Intent.from_json(data.get("intent")), _text(data.get("check")), _text(data.get("api_version")),
                   _text(data.get("suite_version")), deterministic if isinstance(deterministic, bool) else None,
                   send if isinstance(send, int) and not isinstance(send, bool) else None)
