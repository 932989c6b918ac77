"""Running the proxy: uvicorn in front, httpcore's connection pool behind, the session's reports at the end.

``serve_proxy`` is ``conformance proxy`` (blocking, until Ctrl-C, SIGTERM or ``--max-requests``);
``running_proxy`` runs one in a thread for tests and benchmarks. Both listen with the reference server's
guarded protocol (a client must send its request head within a deadline; idle keep-alive connections close).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpcore
import httpx
import uvicorn

from conformance.errors import UsageError
from conformance.findings import Severity
from conformance.live import LiveJudge
from conformance.proxy.app import BODY_TIMEOUT, ProxyApp, Receive, Scope, Send
from conformance.proxy.session import FAIL_ON, ProxySession
from conformance.server.run import (
    HEADER_TIMEOUT,
    KEEP_ALIVE,
    MAX_HEADER_BYTES,
    GuardedH11Protocol,
    _bind,
    _quiet_repeated_conditions,
    _url,
    default_limit_concurrency,
)

MAX_BODY_BYTES = 16 * 1024 * 1024
"""A body kept for the rules and the recording (a larger one is passed on whole; a request body is refused)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProxyOptions:
    upstream: str
    """``reference`` (the embedded reference server, started here) or a base URL. Its path is a mount point: a
    request for ``/v1/messages?beta=true`` goes to ``http://gateway:4000/anthropic/v1/messages?beta=true`` for
    ``http://gateway:4000/anthropic`` (a trailing slash or not)."""
    host: str = "127.0.0.1"
    port: int = 0
    api_version: str | None = None
    party: str = "all"
    record: Path | None = None
    report_dir: Path | None = None
    fail_on: str = "error"
    annotate: bool = False
    max_requests: int | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    mutant: str | None = None
    seed: int = 0
    api_key_env: str = "ANTHROPIC_API_KEY"
    validate: bool = True
    """False: a plain pass-through (what the benchmark compares with)."""
    header_timeout: float = HEADER_TIMEOUT
    """Seconds a client may take to send a request head (then its connection is closed)."""
    body_timeout: float = BODY_TIMEOUT
    """Seconds a client may take to send a request body (then it is answered 408)."""

    def __post_init__(self) -> None:
        if self.fail_on not in FAIL_ON:
            raise UsageError(f"--fail-on {self.fail_on}: use error, warning or never")
        if self.max_requests is not None and self.max_requests < 1:
            raise UsageError(f"--max-requests {self.max_requests}: give at least 1")
        if self.mutant is not None and self.upstream != "reference":
            raise UsageError("--mutant only applies to --upstream reference")
        if self.upstream != "reference":
            try:
                url = httpx.URL(self.upstream)
            except (httpx.InvalidURL, ValueError) as exc:
                raise UsageError(f"--upstream {self.upstream!r}: not a URL ({exc})") from None
            if url.scheme not in ("http", "https") or not url.host:
                raise UsageError(f"--upstream {self.upstream!r}: give reference or a base URL "
                                 "(http://host:port or https://host)")
            if "?" in self.upstream or "#" in self.upstream:
                raise UsageError(f"--upstream {self.upstream!r}: a base URL has no query or fragment (its path is "
                                 "where the API is mounted: each client's path and query go after it)")


@contextlib.contextmanager
def upstream_of(options: ProxyOptions) -> Iterator[str]:
    """The upstream's base URL (the reference server started for the proxy's lifetime, for ``reference``)."""
    if options.upstream != "reference":
        yield options.upstream.rstrip("/")
        return
    from conformance.server import ServerConfig, running_server

    with running_server(ServerConfig(seed=options.seed, mutant=options.mutant)) as url:
        yield url


class _IncompleteAnswerFilter(logging.Filter):
    """An upstream that broke off mid-body is cut off for the client too, on purpose: the finding line says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("ASGI callable returned without completing response")


def _front_protocol(header_timeout: float) -> Any:
    """uvicorn's HTTP protocol for the proxy's clients, with the reference server's deadline for request heads.

    httptools (C) when it is installed: it parses a request head in a tenth of the time h11 (pure Python) takes,
    which is most of what a pass-through costs per request; h11 otherwise."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return type("GuardedH11", (GuardedH11Protocol,), {"header_timeout": header_timeout})
    return type("GuardedHttpTools", (_GuardedHttpTools, HttpToolsProtocol), {"header_timeout": header_timeout})


class _GuardedHttpTools:
    """The header deadline of :class:`~conformance.server.run.GuardedH11Protocol`, for uvicorn's httptools
    protocol: armed when a connection opens and after each answer, met when a request head is complete.
    The deadline's own methods are the reference server's (they need only ``loop`` and ``transport``)."""

    header_timeout = HEADER_TIMEOUT
    transport: asyncio.Transport
    pipeline: Any
    _arm_header_deadline: Any = GuardedH11Protocol._arm_header_deadline
    _disarm_header_deadline: Any = GuardedH11Protocol._disarm_header_deadline
    _headers_too_slow: Any = GuardedH11Protocol._headers_too_slow

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def _arm(self) -> None:
        self._head_bytes = 0
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        waiting = getattr(self, "_header_deadline", None) is not None
        super().data_received(data)  # type: ignore[misc]
        # h11 bounds a request head itself (h11_max_incomplete_event_size); httptools does not: a head still
        # incomplete after MAX_HEADER_BYTES closes the connection, as h11's limit would.
        if waiting and getattr(self, "_header_deadline", None) is not None:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        # The next request's head gets the same deadline, unless it is already here (pipelined).
        if not self.transport.is_closing() and not self.pipeline:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)  # type: ignore[misc]


class Proxy:
    """One proxy: its session, its ASGI app, its uvicorn server; :meth:`close` ends the session."""

    def __init__(self, options: ProxyOptions, upstream: str, out: TextIO) -> None:
        self.options = options
        self.upstream = upstream
        self.out = out
        env = [os.environ[n] for n in dict.fromkeys([options.api_key_env, "ANTHROPIC_API_KEY",
                                                     "ANTHROPIC_AUTH_TOKEN"]) if os.environ.get(n)]
        self.session: ProxySession | None = None
        if options.validate:
            judge = LiveJudge(api_version=options.api_version, party=options.party,
                              max_body_bytes=options.max_body_bytes)
            self.session = ProxySession(judge, upstream=upstream, out=out, fail_on=options.fail_on,
                                        record=options.record is not None, max_requests=options.max_requests,
                                        env_secrets=env, on_limit=self._limit_reached)
        self.app = _Lifespan(upstream, self.session, options)
        _quiet_repeated_conditions()
        logging.getLogger("uvicorn.error").addFilter(_IncompleteAnswerFilter())
        protocol = _front_protocol(options.header_timeout)
        config = uvicorn.Config(self.app, lifespan="on", access_log=False, log_level="warning", loop="asyncio",
                                http=protocol, server_header=False, date_header=False,
                                timeout_keep_alive=KEEP_ALIVE, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                                timeout_graceful_shutdown=2, limit_concurrency=default_limit_concurrency())
        self.server = uvicorn.Server(config)

    def _limit_reached(self) -> None:
        self.server.should_exit = True

    def close(self) -> int:
        """Judge what is left, print the verdict, write the reports and the recording; the exit code."""
        session, options = self.session, self.options
        if session is None:
            return 0
        session.stop()
        session.sequence_findings()
        errors = sum(1 for f in session.findings if f.severity >= Severity.ERROR)
        warnings = sum(1 for f in session.findings if f.severity == Severity.WARNING)
        unjudged = session.not_judged_text()
        if unjudged is not None:
            session.say(f"conformance proxy: {unjudged}")
        session.say(f"conformance proxy: {session.done} exchanges, {errors} errors, {warnings} warnings")
        if options.report_dir is not None:
            session.write_reports(options.report_dir)
            session.say(f"report: {options.report_dir}")
        if options.record is not None:
            written = session.write_recording(options.record)
            skipped = f" ({session.not_recorded} not recorded: broken off, or bodies past the limit)" \
                if session.not_recorded else ""
            session.say(f"recording: {written or 'nothing to record'}{skipped}")
        return 1 if session.failed else 0


class _Lifespan:
    """The proxy app with its upstream connection pool opened and closed by the server's lifespan."""

    def __init__(self, upstream: str, session: ProxySession | None, options: ProxyOptions) -> None:
        self.upstream, self.session, self.options = upstream, session, options
        self.app: ProxyApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.app is not None
        await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        client: httpcore.AsyncConnectionPool | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                client = pass_through_client()
                self.app = ProxyApp(self.upstream, client, self.session, max_body_bytes=self.options.max_body_bytes,
                                    annotate=self.options.annotate, body_timeout=self.options.body_timeout)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if client is not None:
                    await client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def pass_through_client() -> httpcore.AsyncConnectionPool:
    """The upstream connection pool: no proxy from the environment, no redirects followed, nothing added to a
    request, and no limit on connections (every client connection gets its upstream one)."""
    return httpcore.AsyncConnectionPool(max_connections=None, max_keepalive_connections=256)


def serve_proxy(options: ProxyOptions, out: TextIO = sys.stdout) -> int:
    """``conformance proxy``: serve until Ctrl-C, SIGTERM or --max-requests; the exit code."""
    with upstream_of(options) as upstream:
        sock = _bind(options.host, options.port)
        try:
            proxy = Proxy(options, upstream, out)
            shown = "the reference server " + upstream + (f" (mutant {options.mutant})" if options.mutant else "") \
                if options.upstream == "reference" else upstream
            print(f"conformance proxy: {_url(sock)} -> {shown}  (Ctrl-C to stop)", file=out, flush=True)
            with _stop_signals_handled():
                proxy.server.run(sockets=[sock])
        finally:
            sock.close()
        return proxy.close()


@contextlib.contextmanager
def _stop_signals_handled() -> Iterator[None]:
    """uvicorn stops on SIGINT and SIGTERM, then raises the signal again for the handler it found: that
    handler is this no-op, so the proxy goes on to write its reports instead of dying half-way."""
    stops = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.signal(s, lambda _signum, _frame: None) for s in stops}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def running_proxy(options: ProxyOptions, out: TextIO | None = None, *,
                  startup_timeout: float = 10.0) -> Iterator[tuple[str, Proxy]]:
    """A proxy in a background thread (tests, benchmarks): yields its URL and itself; closes its session on exit."""
    import io

    with upstream_of(options) as upstream:
        sock = _bind(options.host, 0)
        proxy = Proxy(options, upstream, out if out is not None else io.StringIO())
        thread = threading.Thread(target=proxy.server.run, kwargs={"sockets": [sock]}, name="conformance-proxy",
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + startup_timeout
        while not proxy.server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the proxy did not start")
            time.sleep(0.01)
        try:
            yield _url(sock), proxy
        finally:
            proxy.server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            if proxy.session is not None:
                proxy.session.stop()  # every exchange judged: the session is complete once the block ends
