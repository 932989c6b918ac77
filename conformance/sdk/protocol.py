"""The driver protocol, version 1: one scenario line in, one result line out.

A driver is any program that reads a scenario (one JSON line on stdin, valid against
``schemas/sdk/driver-scenario.schema.json``), makes the call with its SDK against ``ANTHROPIC_BASE_URL``
with ``ANTHROPIC_API_KEY``, and prints one JSON line valid against ``schemas/sdk/driver-result.schema.json``.
It may keep reading scenario lines (one result each) or exit after one; the runner restarts it.

A result is hostile input until proven otherwise: :func:`parse_result` rejects a line that is too long,
not JSON, nested too deep or not valid against the schema, with one line saying which and where.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jsonschema
import orjson

from conformance.profiles import schemas_root, standalone_validator

__all__ = ["MAX_DEPTH", "MAX_RESULT_BYTES", "PROTOCOL", "DriverError", "DriverResult", "ProtocolError",
           "parse_result", "result_schema_path", "scenario_line"]

PROTOCOL = 1
MAX_RESULT_BYTES = 4 * 1024 * 1024
"""A result line longer than this is rejected (a Message of the reference server is a few KiB)."""
MAX_DEPTH = 64
"""A result nested deeper than this is rejected before it is validated (the answers are shallow)."""
RESULT_SCHEMA = "driver-result.schema.json"
SCENARIO_SCHEMA = "driver-scenario.schema.json"


class ProtocolError(ValueError):
    """A driver's line breaks the protocol; ``str()`` is one line saying how (no traceback, no payload dump)."""


@dataclasses.dataclass(frozen=True)
class DriverError:
    """What the SDK raised, as the driver described it."""

    cls: str
    classes: tuple[str, ...]
    kind: str
    """``api``, ``connection``, ``timeout``, ``validation`` or ``other``."""
    status: int | None
    type: str | None
    message: str
    request_id: str | None

    def shown(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        etype = f" {self.type}" if self.type else ""
        return f"{self.cls} ({self.kind}{status}{etype})"


@dataclasses.dataclass(frozen=True)
class DriverResult:
    """One validated result line."""

    sdk_name: str
    sdk_version: str
    outcome: str
    """``ok``, ``error`` or ``unsupported``."""
    response: Any = None
    events: tuple[str, ...] | None = None
    text: str | None = None
    error: DriverError | None = None
    reason: str | None = None
    elapsed_ms: float | None = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    """The line as parsed, for the report's driver view."""

    def shown(self) -> str:
        if self.outcome == "error" and self.error is not None:
            return f"error {self.error.shown()}"
        if self.outcome == "unsupported":
            return f"unsupported ({self.reason})"
        return "ok"


def result_schema_path() -> str:
    return str(schemas_root() / "sdk" / RESULT_SCHEMA)


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, counted without recursion (a hostile value cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


def _shown(raw: bytes, limit: int = 60) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_result(line: bytes) -> DriverResult:
    """The result in ``line``; :class:`ProtocolError` naming what is wrong with it otherwise."""
    if len(line) > MAX_RESULT_BYTES:
        raise ProtocolError(f"a result line of {len(line)} bytes, over the {MAX_RESULT_BYTES} the protocol allows")
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"printed {_shown(line)}, not a JSON result ({exc}); stdout is for result lines only, "
                            "logs go to stderr") from None
    if _depth(data) > MAX_DEPTH:
        raise ProtocolError(f"a result nested deeper than {MAX_DEPTH} levels")
    error = jsonschema.exceptions.best_match(standalone_validator("sdk", RESULT_SCHEMA).iter_errors(data))
    if error is not None:
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        raise ProtocolError(f"result {where}: {message} (see {result_schema_path()})")
    return _result(data)


def _result(data: Mapping[str, Any]) -> DriverResult:
    stream = data.get("stream") or {}
    err = data.get("error")
    error = None
    if err is not None:
        error = DriverError(err["class"], tuple(err.get("classes") or (err["class"],)), err["kind"], err.get("status"),
                            err.get("type"), err["message"], err.get("request_id"))
    events = stream.get("events")
    elapsed = data.get("elapsed_ms")
    return DriverResult(data["sdk"]["name"], data["sdk"]["version"], data["outcome"], data.get("response"),
                        tuple(events) if events is not None else None, stream.get("text"), error,
                        data.get("reason"), float(elapsed) if elapsed is not None else None, data)


def scenario_line(scenario: Mapping[str, Any]) -> bytes:
    """One scenario as the line a driver reads; it must be valid against the scenario schema (a suite bug if not)."""
    error = jsonschema.exceptions.best_match(standalone_validator("sdk", SCENARIO_SCHEMA).iter_errors(scenario))
    if error is not None:
        raise AssertionError(f"the suite built an invalid scenario: {error.message}")
    return orjson.dumps(scenario) + b"\n"
