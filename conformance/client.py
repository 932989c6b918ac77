"""Send requests to a target and record each one as an :class:`Exchange`.

Safety for live targets lives here, in one place every check goes through:

* a hard :class:`Budget` on requests and tokens (``--max-requests``, ``--max-tokens``);
* pacing from the rate-limit headers (wait for ``reset`` when ``remaining`` hits 0) and from
  ``retry-after`` on 429 (one bounded retry), so a run never hammers a live API;
* the key is read by the caller from the environment and only ever put on the wire: the
  :class:`Exchange` keeps redacted headers, so nothing written later can leak it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from conformance.cassettes.redact import SECRET_REQUEST_HEADERS, SECRET_RESPONSE_HEADERS, redact_headers
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.intent import Intent, RecordingMeta

DEFAULT_VERSION: Any = object()
"""Sentinel: send the client's own ``anthropic-version``."""


class BudgetExhausted(RuntimeError):
    """The run reached ``--max-requests`` or ``--max-tokens``; no more requests are sent."""


@dataclasses.dataclass
class Budget:
    max_requests: int | None = None
    max_tokens: int | None = None
    requests: int = 0
    tokens: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def charge_request(self) -> None:
        with self._lock:
            if self.max_requests is not None and self.requests >= self.max_requests:
                raise BudgetExhausted(f"request cap reached ({self.max_requests} requests sent)")
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                raise BudgetExhausted(f"token cap reached ({self.tokens} of {self.max_tokens} tokens spent)")
            self.requests += 1

    def charge_tokens(self, n: int) -> None:
        with self._lock:
            self.tokens += max(0, n)


def _redacted(headers: Headers, names: frozenset[str]) -> Headers:
    return Headers(redact_headers(list(headers), names=names))


def _usage_tokens(exchange: Exchange) -> int:
    """Tokens a response spent, from its JSON body or accumulated stream (0 when unknown)."""
    message: Any = exchange.accumulated if exchange.is_stream else (
        exchange.response.json if exchange.response is not None else None)
    usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict):
        return 0
    return sum(v for k, v in usage.items() if k in ("input_tokens", "output_tokens") and isinstance(v, int))


class Pacer:
    """Waits as the target's rate-limit headers ask, bounded by ``max_wait`` seconds."""

    def __init__(self, max_wait: float = 60.0, enabled: bool = True) -> None:
        self.max_wait = max_wait
        self.enabled = enabled
        self._not_before = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, self.max_wait))

    def observe(self, response: HttpResponse) -> None:
        if not self.enabled:
            return
        headers = response.headers
        delay = 0.0
        for name, value in headers:
            lname = name.lower()
            if lname.endswith("-remaining") or "-remaining-" in lname:
                if value.strip() == "0":
                    delay = max(delay, self._reset_delay(headers, lname))
        with self._lock:
            if delay > 0:
                self._not_before = max(self._not_before, time.monotonic() + min(delay, self.max_wait))

    @staticmethod
    def _reset_delay(headers: Headers, remaining_name: str) -> float:
        reset_name = remaining_name.replace("remaining", "reset")
        value = headers.get(reset_name)
        if not value:
            return 1.0
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return 1.0
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def retry_after_seconds(response: HttpResponse) -> float | None:
    """``retry-after-ms`` wins over ``retry-after`` (as the SDKs do); ``None`` when absent or malformed."""
    ms = response.headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    seconds = response.headers.get("retry-after")
    if seconds is not None:
        try:
            return max(0.0, float(seconds))
        except ValueError:
            return None
    return None


class TargetClient:
    """A thin recording client for one target (base URL + key + default version)."""

    def __init__(self, base_url: str, api_key: str | None, version: str, *, budget: Budget | None = None,
                 pacer: Pacer | None = None, timeout: float = 60.0, transport: httpx.BaseTransport | None = None,
                 retry_429: bool = True, meta: RecordingMeta | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.version = version
        self.budget = budget or Budget()
        self.pacer = pacer or Pacer(enabled=False)
        self.retry_429 = retry_429
        self.on_budget_exhausted: Callable[[str], None] | None = None
        """Called instead of raising :class:`BudgetExhausted` (the pytest plugin skips the check)."""
        self.on_input_error: Callable[[str], None] | None = None
        """Called with the message when replay has no recording for a request (the plugin fails the check)."""
        self.meta = meta or RecordingMeta(None)
        """What every exchange of this client is stamped with (the check, version, suite); the intent varies."""
        self.sent: list[Exchange] = []
        """Every exchange sent, in order (the check's verdict judges them)."""
        self._in_flight: RecordingMeta | None = None
        self._sends = 0
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def headers(self, *, auth: str | None = "x-api-key", version: Any = DEFAULT_VERSION,
                key: str | None = None) -> dict[str, str]:
        out = {"content-type": "application/json", "accept": "application/json"}
        secret = key if key is not None else self.api_key
        if auth == "x-api-key" and secret is not None:
            out["x-api-key"] = secret
        elif auth == "bearer" and secret is not None:
            out["authorization"] = f"Bearer {secret}"
        if version is DEFAULT_VERSION:
            out["anthropic-version"] = self.version
        elif version is not None:
            out["anthropic-version"] = str(version)
        return out

    def recording_meta(self) -> str | None:
        """The ``x-conformance-meta`` value of the request in flight (the cassette recorder stores it)."""
        return self._in_flight.header_value() if self._in_flight is not None else None

    def send(self, method: str, path: str, *, json: Any = None, body: bytes | None = None,
             headers: Mapping[str, str] | None = None, retry_429: bool | None = None,
             intent: Intent | None = None) -> Exchange:
        """Send one request and return the recorded (redacted) exchange, stamped with ``intent``."""
        content = body if body is not None else (orjson.dumps(json) if json is not None else None)
        sent_headers = dict(headers) if headers is not None else self.headers()
        stream = isinstance(json, dict) and json.get("stream") is True
        self._sends += 1
        # Every attempt of one send (a retry after 429) shares its number: the last attempt is the answer.
        meta = dataclasses.replace(self.meta, intent=intent, send=self._sends)
        exchange = self._send_once(method, path, content, sent_headers, stream, meta)
        retry = self.retry_429 if retry_429 is None else retry_429
        if retry and exchange.response is not None and exchange.response.status == 429:
            wait = retry_after_seconds(exchange.response)
            if wait is not None and wait <= self.pacer.max_wait:
                time.sleep(wait)
                exchange = self._send_once(method, path, content, sent_headers, stream, meta)
        return exchange

    def _send_once(self, method: str, path: str, content: bytes | None, headers: dict[str, str],
                   stream: bool, meta: RecordingMeta) -> Exchange:
        try:
            self.budget.charge_request()
        except BudgetExhausted as exc:
            if self.on_budget_exhausted is None:
                raise
            self.on_budget_exhausted(f"not run: {exc}")
            raise
        self.pacer.wait()
        request = self._http.build_request(method, path, content=content, headers=headers)
        self._in_flight = meta
        try:
            response = self._send_http(request, stream)
            try:
                raw = response.read()
            finally:
                response.close()
        finally:
            self._in_flight = None
        recorded_request = HttpRequest(
            headers=_redacted(Headers(list(request.headers.items())), SECRET_REQUEST_HEADERS),
            body=content, method=method, url=str(request.url))
        recorded_response = HttpResponse(
            headers=_redacted(Headers(list(response.headers.items())), SECRET_RESPONSE_HEADERS),
            body=raw, status=response.status_code)
        exchange = Exchange(recorded_request, recorded_response, meta=meta)
        self.sent.append(exchange)
        self.pacer.observe(recorded_response)
        self.budget.charge_tokens(_usage_tokens(exchange))
        return exchange

    def _send_http(self, request: httpx.Request, stream: bool) -> httpx.Response:
        from vcr.errors import CannotOverwriteExistingCassetteException

        from conformance.cassettes.recorder import unmatched_request_error

        try:
            return self._http.send(request, stream=stream)
        except CannotOverwriteExistingCassetteException as exc:
            problem = unmatched_request_error(exc)
            if self.on_input_error is not None:
                self.on_input_error(str(problem))
            raise problem from None
