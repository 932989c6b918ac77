"""Running the reference server with uvicorn: in a thread for tests, or blocking for ``conformance serve``.

Safe to leave running: a connection must send its request headers within ``header_timeout`` seconds
(uvicorn has no such timeout: a client that connects and says nothing would hold a file descriptor
forever), idle keep-alive connections close after :data:`KEEP_ALIVE`, concurrency is capped below the
process's file-descriptor limit, and conditions that repeat per connection (file descriptors
exhausted, over the concurrency limit, malformed HTTP) are logged once per minute with a count, never
one traceback per accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import logging
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from conformance.control import CONTROL_TOKEN_HEADER
from conformance.errors import InputError
from conformance.server.app import create_app
from conformance.server.config import ServerConfig, load_keys_file, new_control_token
from conformance.server.state import quiet_dropped_connections

HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request's headers (the first, or the next on keep-alive)."""
KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection stays open."""
MAX_HEADER_BYTES = 64 * 1024
"""Largest request head h11 buffers (the real API's limit is of this order)."""


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for the request headers (see the module docstring)."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # h11 leaves IDLE once a request's headers are complete: the deadline is met.
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request on this connection gets the same deadline (unless it is already here, pipelined).
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)


class RepeatedConditionFilter(logging.Filter):
    """Log a condition that repeats per connection once per ``window`` seconds, as one line with a count.

    The conditions are the event loop's and uvicorn's own messages (their wording is theirs); the
    first occurrence is rewritten as one actionable line without its traceback.
    """

    CONDITIONS: ClassVar[Mapping[str, str]] = {
        "socket.accept() out of system resource":
            "too many open files: new connections wait until some close "
            "(raise `ulimit -n`, or lower --limit-concurrency)",
        "Exceeded concurrency limit.": "over the concurrency limit: new requests are answered 503 "
                                       "(raise --limit-concurrency if the machine allows)",
        "Invalid HTTP request received.": "malformed HTTP requests are answered 400",
    }

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format is not ours to judge
            return True
        condition = next((c for c in self.CONDITIONS if message.startswith(c)), None)
        if condition is None:
            return True
        now = self.clock()
        last = self._last.get(condition)
        if last is not None and now - last < self.window:
            self._suppressed[condition] = self._suppressed.get(condition, 0) + 1
            return False
        self._last[condition] = now
        more = self._suppressed.pop(condition, 0)
        text = self.CONDITIONS[condition]
        if more:
            text += f" ({more} more since the last report)"
        record.msg, record.args, record.exc_info, record.exc_text = text, (), None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _quiet_repeated_conditions() -> None:
    for name in ("asyncio", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatedConditionFilter) for f in logger.filters):
            logger.addFilter(RepeatedConditionFilter())


def default_limit_concurrency() -> int:
    """Below the process's file-descriptor limit (with room for the log, the profiles and the listener)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 2048
    return max(8, min(2048, soft - 32))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket; an :class:`InputError` naming the option for a port or host that cannot be used."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: a port is a number from 0 to 65535 (0 picks a free one)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every response written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except socket.gaierror as exc:
        sock.close()
        raise InputError(f"--host {host!r}: not an address this machine can listen on ({exc.strerror})") from None
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"--port {port}: already in use on {host}", fix="pick another, or 0 for a free one") \
                from None
        raise InputError(f"--host {host!r} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _server(config: ServerConfig | None, log_level: str, header_timeout: float,
            limit_concurrency: int | None) -> uvicorn.Server:
    quiet_dropped_connections()
    _quiet_repeated_conditions()
    protocol: Any = type("GuardedH11", (GuardedH11Protocol,), {"header_timeout": header_timeout})
    uv = uvicorn.Config(create_app(config), log_level=log_level, lifespan="off", access_log=False,
                        timeout_graceful_shutdown=2, loop="asyncio", http=protocol,
                        timeout_keep_alive=KEEP_ALIVE, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                        limit_concurrency=limit_concurrency or default_limit_concurrency())
    return uvicorn.Server(uv)


@contextlib.contextmanager
def running_server(config: ServerConfig | None = None, *, host: str = "127.0.0.1", startup_timeout: float = 10.0,
                   header_timeout: float = HEADER_TIMEOUT) -> Iterator[str]:
    """Serve on a free loopback port in a background thread; yields the base URL; stops cleanly on exit.

    The control API needs ``config.control_token``: pass the config whose token you will send.
    """
    sock = _bind(host, 0)
    server = _server(config, "warning", header_timeout, None)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="conformance-server",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the reference server did not start")
        time.sleep(0.01)
    try:
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(host: str = "127.0.0.1", port: int = 0, seed: int = 0, keys_file: str | Path | None = None,
          mutant: str | None = None, control_token: str | None = None, *, header_timeout: float = HEADER_TIMEOUT,
          limit_concurrency: int | None = None, log_max_requests: int | None = None,
          log_max_bytes: int | None = None) -> None:
    """Serve until interrupted (Ctrl-C stops cleanly); prints the base URL and the control token first.

    ``mutant`` serves a contract-breaking variant (see mutants.py), e.g. to try a client against it;
    ``control_token`` is the token the control API requires (a fresh one, printed, when ``None``);
    ``log_max_requests``/``log_max_bytes`` bound the request log (``None``: ServerConfig's defaults).
    Bad input (keys file, port, host, token, limits) raises :class:`InputError` before anything is served.
    """
    keys = load_keys_file(keys_file) if keys_file is not None else None
    config = ServerConfig(seed=seed, keys=keys, mutant=mutant,
                          control_token=new_control_token() if control_token is None else control_token)
    if log_max_requests is not None:
        config = dataclasses.replace(config, log_max_requests=log_max_requests)
    if log_max_bytes is not None:
        config = dataclasses.replace(config, log_max_bytes=log_max_bytes)
    sock = _bind(host, port)
    try:
        if not is_loopback(host) and control_token is None:
            print(f"conformance: warning: --host {host} makes the server, and its control API, reachable from "
                  "other machines; the control API takes the token printed below (choose one with --control-token)",
                  file=sys.stderr, flush=True)
        server = _server(config, "info", header_timeout, limit_concurrency)
        shown = f" as mutant {mutant!r}" if mutant else ""
        print(f"Reference server listening on {_url(sock)}{shown}  (Ctrl-C to stop)", flush=True)
        if control_token is None:
            print(f"Control API token: {config.control_token}  (send it as {CONTROL_TOKEN_HEADER} on "
                  "/_conformance/*)", flush=True)
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # Ctrl-C at any point after the socket is bound: a clean stop
    finally:
        sock.close()
    print("Reference server stopped.", file=sys.stderr, flush=True)
