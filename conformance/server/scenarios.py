"""Faults on demand and the request log, both per API key.

``POST /_conformance/scenarios`` with
``{"key": "sk-ant-test-build", "responses": [<step>, ...], "append": false}`` scripts the
next responses for that key; each API request by the key consumes one step. A step is:

    {"status": 429, "retry_after": 2, "retry_after_ms": 150, "should_retry": true,
     "error_type": "rate_limit_error", "message": "..."}       an HTTP error answer
    {"stream_error_after": 3, "error_type": "overloaded_error"}  an ``error`` event after 3 events
    {"drop_after": 4}                                           connection dropped after 4 events
    {"delay_ms": 200}                                           a slow stream (that long before each event)
    {"unknown_events": true}                                    unknown event types mixed in
    {"ok": true}                                                a normal answer (to script "fail, then succeed")

Every field is optional except that a step needs at least one; ``repeat: N`` repeats a step.
Stream faults on a non-streaming request: ``stream_error_after`` answers with the error's
HTTP status, ``drop_after: 0`` closes the connection before any response (under uvicorn; in-process
clients get a body cut short instead), ``drop_after: N > 0`` sends the headers and a cut body, and
``delay_ms`` delays the answer.

Time is scripted separately: ``POST /_conformance/clock`` with ``{"advance": seconds}`` moves the clock the
rate limiter reads (windows, ``reset`` headers, ``retry-after``), so "wait for retry-after" costs nothing
(see app.py for the exact request and answer).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson

from conformance.cassettes.redact import redact_headers

STEP_FIELDS: dict[str, type | tuple[type, ...]] = {
    "status": int, "retry_after": (int, float), "retry_after_ms": (int, float), "should_retry": bool,
    "error_type": str, "message": str, "stream_error_after": int, "drop_after": int, "delay_ms": (int, float),
    "unknown_events": bool, "ok": bool, "repeat": int,
}


class ScenarioError(ValueError):
    """A scenario request is malformed; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Step:
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    should_retry: bool | None = None
    error_type: str | None = None
    message: str | None = None
    stream_error_after: int | None = None
    drop_after: int | None = None
    delay_ms: float = 0.0
    unknown_events: bool = False

    @property
    def is_http_error(self) -> bool:
        return self.status is not None


def parse_step(raw: Any, where: str) -> tuple[Step, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise ScenarioError(f"{where}: a step must be a non-empty object")
    for name, value in raw.items():
        kind = STEP_FIELDS.get(name)
        if kind is None:
            raise ScenarioError(f"{where}.{name}: unknown field (known: {', '.join(sorted(STEP_FIELDS))})")
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise ScenarioError(f"{where}.{name}: wrong type {type(value).__name__}")
    status = raw.get("status")
    if status is not None and not 400 <= status <= 599:
        raise ScenarioError(f"{where}.status: must be an HTTP error status (400-599)")
    repeat = raw.get("repeat", 1)
    if repeat < 1:
        raise ScenarioError(f"{where}.repeat: must be at least 1")
    fields = {k: v for k, v in raw.items() if k not in ("ok", "repeat")}
    return Step(**fields), repeat


@dataclasses.dataclass
class LoggedRequest:
    """One request as received; credentials are redacted whenever it is shown."""

    method: str
    path: str
    raw_query: bytes
    raw_headers: list[tuple[bytes, bytes]]
    """As the ASGI server gave them; decoded (and redacted) only when the log is read."""
    raw_body: bytes | None
    """As received (``None`` when it was too large to keep); parsed only when the log is read."""
    time: float
    """Arrival, seconds since the epoch."""
    status: int | None = None

    @property
    def body(self) -> Any:
        """Parsed JSON when the body is JSON, else its text; ``None`` when absent."""
        if self.raw_body is None:
            return {"too_large": True}
        if not self.raw_body:
            return None
        try:
            return orjson.loads(self.raw_body)
        except orjson.JSONDecodeError:
            return self.raw_body.decode("utf-8", "replace")

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Header names and values, credentials redacted."""
        return redact_headers([(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers])

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.raw_query.decode("latin-1"),
                "headers": [list(h) for h in self.headers], "body": self.body, "time": self.time,
                "status": self.status}


class Scenarios:
    """Scripted steps and the request log, per key; safe to share across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[str, deque[Step]] = {}
        self._log: dict[str, list[LoggedRequest]] = {}

    def script(self, key: str, steps: list[Step], append: bool = False) -> int:
        with self._lock:
            queue = self._steps.setdefault(key, deque())
            if not append:
                queue.clear()
            queue.extend(steps)
            return len(queue)

    def next_step(self, key: str) -> Step | None:
        with self._lock:
            queue = self._steps.get(key)
            return queue.popleft() if queue else None

    def pending(self, key: str) -> int:
        with self._lock:
            return len(self._steps.get(key, ()))

    def record(self, key: str, entry: LoggedRequest) -> int:
        with self._lock:
            log = self._log.setdefault(key, [])
            log.append(entry)
            return len(log) - 1

    def set_status(self, key: str, index: int, status: int) -> None:
        with self._lock:
            log = self._log.get(key)
            if log is not None and 0 <= index < len(log):
                log[index].status = status

    def requests(self, key: str | None = None) -> dict[str, list[LoggedRequest]]:
        with self._lock:
            if key is None:
                return {k: list(v) for k, v in self._log.items()}
            return {key: list(self._log.get(key, []))}

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._steps.clear()
                self._log.clear()
            else:
                self._steps.pop(key, None)
                self._log.pop(key, None)


def now() -> float:
    return time.time()
