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
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from conformance.cassettes.redact import SECRET_REQUEST_HEADERS, SECRET_RESPONSE_HEADERS, redact_headers
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.inflate import InflateOverflow, inflater
from conformance.intent import Intent, RecordingMeta
from conformance.limits import ReadLimits

DEFAULT_VERSION: Any = object()
"""Sentinel: send the client's own ``anthropic-version``."""


class BudgetExhausted(RuntimeError):
    """The run reached ``--max-requests`` or ``--max-tokens``; no more requests are sent."""


class TargetUnreachable(RuntimeError):
    """The target stopped answering (several transport failures in a row): nothing more is sent to it."""


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """How long to wait for a target: for an answer to start, and between the parts of a stream."""

    first_byte: float = 60.0
    """Connecting, sending and receiving the response head; for a plain answer, the whole body."""
    between_events: float = 30.0
    """Silence tolerated between two chunks of a streamed answer (after which it counts as stalled)."""
    whole_answer: float = 900.0
    """The longest one answer may take to arrive whole, however steadily it trickles in."""


MAX_ANSWER_BYTES = ReadLimits.max_body_bytes
"""The most of one answer that is read (decoded): a target that sends more (an endless stream, a compression
bomb) is cut off there, and the exchange is judged on what arrived, with the reason."""


@dataclasses.dataclass
class TargetHealth:
    """Consecutive transport failures against one target; after ``limit`` of them the target is given up."""

    limit: int = 3
    failures: int = 0
    down: str | None = None
    """Why the target was given up (target, request, failure), once it was."""
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def observe(self, failure: str | None, what: str) -> None:
        with self._lock:
            if failure is None:
                self.failures = 0
                return
            self.failures += 1
            if self.failures >= self.limit and self.down is None:
                self.down = f"{what}: {failure} ({self.failures} transport failures in a row)"

    def check(self) -> None:
        if self.down is not None:
            raise TargetUnreachable(f"the target stopped answering: {self.down}")


@dataclasses.dataclass
class RetryThrottle:
    """A run-wide retry budget, as gRPC throttles retries: a target that fails everything is not retried forever.

    Each transient failure of a valid request takes a token, each complete answer gives back ``ratio`` of
    one; retries are allowed while more than half of ``max_tokens`` are left. A target overloaded now and
    then is retried as an SDK would; one that ends every stream in an error costs one request per request,
    not three, and its checks fail on the first answer (``positive.completed`` names it).
    """

    max_tokens: float = 10.0
    ratio: float = 0.1
    tokens: float = 10.0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def observe(self, transient: bool) -> None:
        with self._lock:
            self.tokens = max(0.0, self.tokens - 1.0) if transient else min(self.max_tokens, self.tokens + self.ratio)

    def allows(self) -> bool:
        with self._lock:
            return self.tokens > self.max_tokens / 2


@dataclasses.dataclass(frozen=True)
class TransientRetry:
    """Bounded retries of a valid request whose answer never arrived (the SDKs' policy, in the profile).

    A documented transient status (408, 409, 429, 5xx, 529), a stream that ended in an ``overloaded_error``
    or ``api_error`` event, or a connection that dropped: retried up to ``max_retries`` times with
    doubling backoff, or after ``retry-after`` when the server says how long (up to ``max_wait``).
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 60.0
    statuses: frozenset[int] = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
    stream_errors: frozenset[str] = frozenset({"overloaded_error", "api_error"})
    throttle: RetryThrottle | None = None
    """Shared by every check of a run (``None``: every transient failure may be retried)."""

    def delay(self, attempt: int, response: HttpResponse | None) -> float | None:
        """Seconds to wait before retry ``attempt`` (1, 2, ...), or ``None`` when it should not be retried."""
        if attempt > self.max_retries or (self.throttle is not None and not self.throttle.allows()):
            return None
        hint = retry_after_seconds(response) if response is not None else None
        if hint is not None:
            return hint if hint <= self.max_wait else None
        return min(self.initial_delay * float(2 ** (attempt - 1)), self.max_delay)

    def transient(self, exchange: Exchange) -> bool:
        if exchange.transport_error is not None:
            return True
        resp = exchange.response
        if resp is not None and resp.status in self.statuses:
            return True
        events = exchange.events if exchange.is_stream else None
        last = events[-1].payload if events else None
        error = last.get("error") if isinstance(last, dict) and last.get("type") == "error" else None
        return isinstance(error, dict) and error.get("type") in self.stream_errors


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
        self.waited = 0.0
        """Seconds spent waiting for the target's rate limits so far."""

    def wait(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            self.sleep(min(delay, self.max_wait))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` as the target asked (retry-after, reset), counted in :attr:`waited`."""
        time.sleep(seconds)
        self.waited += seconds

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


def _drop_example(why: str) -> None:
    """Inside a Hypothesis example: drop it (not a failure, not a pass), so shrinking ends with what it has."""
    from hypothesis import currently_in_test_context, reject

    if currently_in_test_context():
        reject()


def _describe(exc: BaseException, what: str) -> str:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{what}: {type(exc).__name__}" + (f" ({detail})" if detail else "")


class TargetClient:
    """A thin recording client for one target (base URL + key + default version)."""

    def __init__(self, base_url: str, api_key: str | None, version: str, *, budget: Budget | None = None,
                 pacer: Pacer | None = None, timeouts: Timeouts | None = None,
                 transport: httpx.BaseTransport | None = None, retry_429: bool = True,
                 meta: RecordingMeta | None = None, transient_retry: TransientRetry | None = None,
                 health: TargetHealth | None = None, max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.version = version
        self.budget = budget or Budget()
        self.pacer = pacer or Pacer(enabled=False)
        self.retry_429 = retry_429
        self.on_budget_exhausted: Callable[[str], None] | None = None
        """Called instead of raising :class:`BudgetExhausted` (the pytest plugin skips the check)."""
        self.on_target_down: Callable[[str], None] | None = None
        """Called instead of raising :class:`TargetUnreachable` (the pytest plugin skips the check)."""
        self.on_input_error: Callable[[str], None] | None = None
        """Called with the message when replay has no recording for a request (the plugin fails the check)."""
        self.meta = meta or RecordingMeta(None)
        """What every exchange of this client is stamped with (the check, version, suite); the intent varies."""
        self.sent: list[Exchange] = []
        """Every exchange sent, in order (the check's verdict judges them)."""
        self._in_flight: RecordingMeta | None = None
        self._sends = 0
        self.shrink_allowance: int | None = None
        """Requests a check may send once it has failed, to find a smaller failing example (None: no limit).

        Against a live target every request costs; past the allowance, a new request is not sent and the
        example is dropped (Hypothesis keeps the smallest failure found so far), and a request sent before
        is answered as it was, so the failure replays without sending it again."""
        self._failed = False
        self._after_failure = 0
        self.seconds_sending = 0.0
        """Wall time spent on requests (sending to the last byte), for the shrink time a failure may take."""
        self._answers: dict[tuple[Any, ...], Exchange] = {}
        self.timeouts = timeouts or Timeouts()
        self.transient_retry = transient_retry
        """Retry a valid request whose answer never arrived (live targets); ``None``: never."""
        self.health = health or TargetHealth()
        self.max_answer_bytes = max_answer_bytes
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeouts.first_byte, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def headers(self, *, auth: str | None = "x-api-key", version: Any = DEFAULT_VERSION,
                key: str | None = None) -> dict[str, str]:
        # Only encodings the client inflates itself, within its bound (httpx would add br and zstd when installed).
        out = {"content-type": "application/json", "accept": "application/json", "accept-encoding": "gzip, deflate"}
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
             intent: Intent | None = None, pace: bool = True) -> Exchange:
        """Send one request and return the recorded (redacted) exchange, stamped with ``intent``."""
        content = body if body is not None else (orjson.dumps(json) if json is not None else None)
        sent_headers = dict(headers) if headers is not None else self.headers()
        stream = isinstance(json, dict) and json.get("stream") is True
        key = (method, path, content, tuple(sorted(sent_headers.items())))
        if self.shrink_allowance is not None:
            known = self._answers.get(key)
            if known is not None and self._failed:
                self.sent.append(known)  # judged again: a replayed failure fails again, without a request
                return known
            if self._failed:
                if self._after_failure >= self.shrink_allowance:
                    _drop_example(f"the check's allowance of {self.shrink_allowance} requests after its first "
                                  "failure is spent")
                self._after_failure += 1
        self._sends += 1
        # Every attempt of one send (a retry after 429) shares its number: the last attempt is the answer.
        meta = dataclasses.replace(self.meta, intent=intent, send=self._sends)
        exchange = self._send_once(method, path, content, sent_headers, stream, meta, pace)
        retry = self.retry_429 if retry_429 is None else retry_429
        if retry and exchange.response is not None and exchange.response.status == 429:
            wait = retry_after_seconds(exchange.response)
            if wait is not None and wait <= self.pacer.max_wait:
                self.pacer.sleep(wait)
                exchange = self._send_once(method, path, content, sent_headers, stream, meta, pace)
        policy = self.transient_retry
        if policy is not None and intent is not None and intent.kind == "valid":
            # A valid request must end in a complete answer; a transient failure is retried as an SDK would.
            attempt = 0
            while True:
                transient = policy.transient(exchange)
                if policy.throttle is not None:
                    policy.throttle.observe(transient)
                attempt += 1
                wait = policy.delay(attempt, exchange.response) if transient else None
                if wait is None:
                    break
                self.pacer.sleep(wait)
                exchange = self._send_once(method, path, content, sent_headers, stream, meta, pace)
        if self.shrink_allowance is not None:
            self._answers[key] = exchange
        return exchange

    def failed(self, *, minimal: bool = False) -> None:
        """The check failed on what this client sent: from now on, new requests count against the allowance.

        ``minimal``: the failure does not depend on what was asked (a missing response header), so no
        smaller example is worth a request.
        """
        self._failed = True
        if minimal and self.shrink_allowance is not None:
            self.shrink_allowance = 0

    def shrink_seconds(self) -> float:
        """How long shrinking may take: what the request allowance would take at this target's pace."""
        allowance = self.shrink_allowance or 0
        if allowance == 0:
            return 0.0  # nothing smaller may be sent: the failing example stands as it is
        pace = self.seconds_sending / max(1, self._sends)
        return max(0.5, min(60.0, 2 * allowance * pace))

    def _send_once(self, method: str, path: str, content: bytes | None, headers: dict[str, str],
                   stream: bool, meta: RecordingMeta, pace: bool = True) -> Exchange:
        try:
            self.budget.charge_request()
        except BudgetExhausted as exc:
            if self._failed:
                _drop_example(str(exc))  # the check already failed: keep its verdict, stop looking for smaller
            if self.on_budget_exhausted is None:
                raise
            self.on_budget_exhausted(str(exc))
            raise
        try:
            self.health.check()
        except TargetUnreachable as exc:
            if self.on_target_down is None:
                raise
            self.on_target_down(str(exc))
            raise
        if pace:
            self.pacer.wait()
        first, between = self.timeouts.first_byte, self.timeouts.between_events
        # A stream's head arrives at once and its events trickle: its reads wait `between_events`; a plain
        # answer arrives whole, after the model is done, so its read waits `first_byte`.
        timeout = httpx.Timeout(first, read=between if stream else first)
        request = self._http.build_request(method, path, content=content, headers=headers, timeout=timeout)
        recorded_request = HttpRequest(
            headers=_redacted(Headers(list(request.headers.items())), SECRET_REQUEST_HEADERS),
            body=content, method=method, url=str(request.url))
        self._in_flight = meta
        started = time.monotonic()
        try:
            exchange = self._exchange(request, recorded_request, stream, meta)
        finally:
            self._in_flight = None
            self.seconds_sending += time.monotonic() - started
        self.sent.append(exchange)
        what = f"{method} {self.base_url}{request.url.raw_path.decode('ascii', 'replace')}"
        self.health.observe(exchange.transport_error if exchange.response is None else None, what)
        if exchange.response is not None:
            self.pacer.observe(exchange.response)
        self.budget.charge_tokens(_usage_tokens(exchange))
        return exchange

    def _exchange(self, request: httpx.Request, recorded_request: HttpRequest, stream: bool,
                  meta: RecordingMeta) -> Exchange:
        """Send ``request`` and keep whatever came back, even when the answer broke off."""
        try:
            response = self._send_http(request)
        except httpx.TransportError as exc:
            return Exchange(recorded_request, None, meta=meta, transport_error=_describe(exc, "no answer"))
        chunks: list[bytes] = []
        failure: str | None = None
        stalled = False
        size, deadline = 0, time.monotonic() + self.timeouts.whole_answer
        encoding = response.headers.get("content-encoding")
        # Raw bytes, inflated here within what is left of the bound (httpx would inflate a chunk whole); an
        # answer a transport handed over already read (httpx.MockTransport with bytes) comes decoded.
        buffered = response.is_stream_consumed
        decoder = None if buffered else inflater(encoding)
        too_large = f"the answer passed {self.max_answer_bytes:,} bytes; the rest was not read"
        try:
            for raw in [response.content] if buffered else response.iter_raw():
                try:
                    chunk = decoder.feed(raw, self.max_answer_bytes - size) if decoder is not None else raw
                except InflateOverflow:
                    failure = too_large
                    break
                except zlib.error as exc:
                    failure = f"the answer does not inflate as its content-encoding {encoding} says ({exc})"
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_answer_bytes:
                    failure = too_large
                    break
                if time.monotonic() > deadline:
                    failure = (f"the answer was still arriving after {self.timeouts.whole_answer:g} s "
                               f"({size:,} bytes); the rest was not read")
                    break
            else:
                if decoder is not None:
                    chunks.append(decoder.flush())
        except httpx.ReadTimeout:
            stalled = True
            failure = (f"stalled: nothing for {self.timeouts.between_events:g} s after {sum(map(len, chunks))} "
                       "bytes" if stream else f"no complete answer within {self.timeouts.first_byte:g} s")
        except (httpx.TransportError, httpx.StreamError) as exc:
            failure = _describe(exc, "the connection broke off")
        finally:
            response.close()
        recorded_response = HttpResponse(
            headers=_redacted(Headers(list(response.headers.items())), SECRET_RESPONSE_HEADERS),
            body=b"".join(chunks), status=response.status_code)
        return Exchange(recorded_request, recorded_response, meta=meta, transport_error=failure,
                        stalled=stalled and stream)

    def _send_http(self, request: httpx.Request) -> httpx.Response:
        from vcr.errors import CannotOverwriteExistingCassetteException

        from conformance.cassettes.recorder import unmatched_request_error

        try:
            return self._http.send(request, stream=True)  # every body is read here, within its bounds
        except CannotOverwriteExistingCassetteException as exc:
            problem = unmatched_request_error(exc)
            if self.on_input_error is not None:
                self.on_input_error(str(problem))
            raise problem from None
