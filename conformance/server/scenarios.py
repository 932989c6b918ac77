"""Faults on demand, per API key.

``POST /_conformance/scenarios`` with
``{"key": "sk-ant-test-build", "responses": [<step>, ...], "append": false}`` scripts the
next responses for that key; each API request by the key consumes one step. A step is:

    {"status": 429, "retry_after": 2, "retry_after_ms": 150, "should_retry": true,
     "error_type": "rate_limit_error", "message": "..."}       an HTTP error answer
    {"status": 503, "without_should_retry": true}               ... with no x-should-retry header (the client
                                                                decides by the status alone)
    {"stream_error_after": 3, "error_type": "overloaded_error"}  an ``error`` event after 3 events
    {"drop_after": 4}                                           connection dropped after 4 events
    {"delay_ms": 200}                                           a slow stream (that long before each event)
    {"unknown_events": true}                                    unknown event types mixed in
    {"ok": true}                                                a normal answer (to script "fail, then succeed")

Every field is optional except that a step needs at least one; ``repeat: N`` repeats a step. The
bounds of each field (control.py's ``STEP_SCHEMA``) keep a script from hanging a key or filling memory.
Stream faults on a non-streaming request: ``stream_error_after`` answers with the error's
HTTP status, ``drop_after: 0`` closes the connection before any response (under uvicorn; in-process
clients get a body cut short instead), ``drop_after: N > 0`` sends the headers and a cut body, and
``delay_ms`` delays the answer.

Time is scripted separately: ``POST /_conformance/clock`` with ``{"advance": seconds}`` moves the clock the
rate limiter reads (windows, ``reset`` headers, ``retry-after``), so "wait for retry-after" costs nothing
(see control.py for the exact request and answer).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

MAX_PENDING_STEPS = 10_000
"""Steps one key may have waiting (``repeat`` counts each)."""
MAX_SCRIPTED_KEYS = 1000
"""Keys that may have steps waiting at once."""


class ScenarioError(ValueError):
    """A scenario cannot be taken; the message names the field and the bound."""


@dataclasses.dataclass(frozen=True)
class Step:
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    should_retry: bool | None = None
    without_should_retry: bool = False
    error_type: str | None = None
    message: str | None = None
    stream_error_after: int | None = None
    drop_after: int | None = None
    delay_ms: float = 0.0
    unknown_events: bool = False


def parse_step(raw: Mapping[str, Any]) -> tuple[Step, int]:
    """(the step, how many times) from a step object already valid against control.py's ``STEP_SCHEMA``."""
    fields = {k: v for k, v in raw.items() if k not in ("ok", "repeat")}
    return Step(**fields), int(raw.get("repeat", 1))


class Scenarios:
    """Scripted steps per key, each kept once with its repeat count; safe to share across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[str, deque[list[Any]]] = {}
        """key -> [[step, times left], ...]"""

    def script(self, key: str, steps: list[tuple[Step, int]], append: bool = False) -> int:
        """Queue ``steps`` for ``key`` (after those waiting, with ``append``); returns the steps now waiting."""
        with self._lock:
            queue = self._steps.get(key)
            waiting = sum(n for _, n in queue) if queue and append else 0
            added = sum(n for _, n in steps)
            if waiting + added > MAX_PENDING_STEPS:
                raise ScenarioError(f"responses: {waiting + added} steps would be waiting for this key, more than "
                                    f"{MAX_PENDING_STEPS} (reset it, or script fewer)")
            if queue is None and len(self._steps) >= MAX_SCRIPTED_KEYS:
                raise ScenarioError(f"key: {MAX_SCRIPTED_KEYS} keys already have steps waiting "
                                    "(POST /_conformance/reset forgets them)")
            queue = self._steps.setdefault(key, deque())
            if not append:
                queue.clear()
            queue.extend([step, n] for step, n in steps)
            if not queue:
                del self._steps[key]
            return waiting + added

    def next_step(self, key: str) -> Step | None:
        with self._lock:
            queue = self._steps.get(key)
            if not queue:
                return None
            head = queue[0]
            head[1] -= 1
            if head[1] <= 0:
                queue.popleft()
                if not queue:
                    del self._steps[key]
            step: Step = head[0]
            return step

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._steps.clear()
            else:
                self._steps.pop(key, None)
