"""Running the reference server with uvicorn: in a thread for tests, or blocking for ``conformance serve``."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from conformance.control import CONTROL_TOKEN_HEADER
from conformance.server.app import create_app
from conformance.server.config import ServerConfig, load_keys_file, new_control_token
from conformance.server.state import quiet_dropped_connections


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every response written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _server(config: ServerConfig | None, log_level: str) -> uvicorn.Server:
    quiet_dropped_connections()
    uv = uvicorn.Config(create_app(config), log_level=log_level, lifespan="off", access_log=False,
                        timeout_graceful_shutdown=2)
    return uvicorn.Server(uv)


@contextlib.contextmanager
def running_server(config: ServerConfig | None = None, *, host: str = "127.0.0.1",
                   startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve on a free loopback port in a background thread; yields the base URL; stops cleanly on exit."""
    sock = _bind(host, 0)
    server = _server(config, "warning")
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
          mutant: str | None = None, control_token: str | None = None) -> None:
    """Serve until interrupted (Ctrl-C stops cleanly); prints the base URL and the control token first.

    ``mutant`` serves a contract-breaking variant (see mutants.py), e.g. to try a client against it;
    ``control_token`` is the token the control API requires (a fresh one when ``None``). Bad input
    raises InputError.
    """
    keys = load_keys_file(keys_file) if keys_file is not None else None
    config = ServerConfig(seed=seed, keys=keys, mutant=mutant,
                          control_token=new_control_token() if control_token is None else control_token)
    sock = _bind(host, port)
    server = _server(config, "info")
    shown = f" as mutant {mutant!r}" if mutant else ""
    print(f"Reference server listening on {_url(sock)}{shown}  (Ctrl-C to stop)", flush=True)
    if control_token is None:
        print(f"Control API token: {config.control_token}  (send it as {CONTROL_TOKEN_HEADER} on /_conformance/*)",
              flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("Reference server stopped.", file=sys.stderr, flush=True)
