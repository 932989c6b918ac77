"""The request log: what each key sent, as ``GET /_conformance/requests`` shows it.

Safe to leave running: it is a ring bounded by count and by bytes (the oldest requests go first, and
the answer says how many went), and it keeps at most ``log_max_body_bytes`` of each body. It never
shows a key: entries are filed under :func:`~conformance.control.key_fingerprint`, and every header,
query and body is redacted on the way out (cassettes/redact.py's rules, plus the literal key the
request used and every key the server knows), so a key pasted into a prompt or echoed in a custom
header does not leak either.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Collection
from typing import Any

import orjson

from conformance.cassettes.redact import redact_bytes, redact_headers, redact_text
from conformance.control import key_fingerprint

ANSWER_HEADERS = frozenset({"retry-after", "retry-after-ms", "x-should-retry", "content-type"})
"""The answer headers an entry keeps: the ones that steer a client's retries and parsing (a few bytes each)."""

_ENTRY_OVERHEAD = 256
"""Bytes an entry costs beyond its headers and body (the object and its fields), for the byte bound."""


@dataclasses.dataclass
class LoggedRequest:
    """One request as received; shown only through :meth:`to_json`, which redacts it."""

    method: str
    path: str
    raw_query: bytes
    raw_headers: list[tuple[bytes, bytes]]
    """As the ASGI server gave them; decoded and redacted only when the log is read."""
    stored_body: bytes | None
    """The first ``log_max_body_bytes`` of the body; ``None`` when it was too large to read at all."""
    body_bytes: int
    """The body's whole length (as declared, when it was too large to read)."""
    time: float
    """Arrival, seconds since the epoch."""
    secret: str | None = dataclasses.field(default=None, repr=False)
    """The key the request used: redacted wherever it appears when the entry is shown."""
    status: int | None = None
    request_id: str | None = None
    """The ``request-id`` the answer carried (set with ``status`` when the answer is made)."""
    answer_headers: dict[str, str] = dataclasses.field(default_factory=dict)
    """The answer's headers a client acts on (:data:`ANSWER_HEADERS`): what ``conformance sdk`` shows as the
    server's side of each attempt."""

    @property
    def truncated(self) -> bool:
        return self.stored_body is None or len(self.stored_body) < self.body_bytes

    @property
    def cost(self) -> int:
        headers = sum(len(n) + len(v) for n, v in self.raw_headers)
        return _ENTRY_OVERHEAD + headers + len(self.path) + len(self.raw_query) + len(self.stored_body or b"")

    def to_json(self, known_keys: Collection[str] = ()) -> dict[str, Any]:
        """The entry as the control API shows it: ``known_keys`` (the server's) and its own key redacted."""
        secrets = [*known_keys, self.secret] if self.secret else list(known_keys)
        headers = redact_headers([(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers], secrets)
        return {"method": self.method, "path": self.path,
                "query": redact_text(self.raw_query.decode("latin-1"), secrets),
                "headers": [list(h) for h in headers], "body": self._body(secrets),
                "body_bytes": self.body_bytes, "body_truncated": self.truncated,
                "time": self.time, "status": self.status, "request_id": self.request_id,
                "answer_headers": dict(self.answer_headers)}

    def _body(self, secrets: list[str]) -> Any:
        """Parsed JSON when the whole body was kept and is JSON, else its (redacted) text; ``None`` if absent."""
        if not self.stored_body:
            return None
        raw = redact_bytes(self.stored_body, secrets)
        if not self.truncated:
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
        return raw.decode("utf-8", "replace")


class RequestLog:
    """A ring of the newest requests of every key, bounded by count and bytes; safe to share across threads."""

    def __init__(self, max_requests: int, max_bytes: int, max_body_bytes: int) -> None:
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.max_body_bytes = max_body_bytes
        self._lock = threading.Lock()
        self._ring: deque[tuple[str, LoggedRequest]] = deque()
        self._bytes = 0
        self._dropped = 0

    def record(self, key: str | None, method: str, path: str, raw_query: bytes, raw_headers: list[tuple[bytes, bytes]],
               body: bytes | None, body_bytes: int, time: float) -> LoggedRequest:
        """Log one request (its body cut to ``max_body_bytes``); the entry is returned to set its status later."""
        stored = None if body is None else body[:self.max_body_bytes]
        entry = LoggedRequest(method, path, raw_query, raw_headers, stored, body_bytes, time, key)
        with self._lock:
            self._ring.append((key_fingerprint(key), entry))
            self._bytes += entry.cost
            while self._ring and (len(self._ring) > self.max_requests or self._bytes > self.max_bytes):
                _, old = self._ring.popleft()
                self._bytes -= old.cost
                self._dropped += 1
        return entry

    def requests(self, fingerprint: str | None = None) -> tuple[dict[str, list[LoggedRequest]], int]:
        """(entries by key fingerprint, oldest first; how many entries the bounds have dropped so far)."""
        out: dict[str, list[LoggedRequest]] = {}
        with self._lock:
            if fingerprint is not None:
                out[fingerprint] = []
            for fp, entry in self._ring:
                if fingerprint is None or fp == fingerprint:
                    out.setdefault(fp, []).append(entry)
            return out, self._dropped

    def reset(self, fingerprint: str | None = None) -> None:
        with self._lock:
            if fingerprint is None:
                self._ring.clear()
                self._bytes = 0
                self._dropped = 0
                return
            kept = deque((fp, e) for fp, e in self._ring if fp != fingerprint)
            self._bytes = sum(e.cost for _, e in kept)
            self._ring = kept
