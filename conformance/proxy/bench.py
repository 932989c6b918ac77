"""``nox -s bench``: what ``conformance proxy`` costs, against the reference server on loopback, in one run.

Four ways to the same reference server, each in its own process: direct; a bare httpx pass-through (the
baseline any proxy pays); ``conformance proxy --no-validation``; ``conformance proxy`` (validating). Measured:

* added latency of a non-streamed request: p50 and p99 of each way minus those of direct (sequential requests
  over one keep-alive connection);
* the delay of each SSE event from the upstream sending it to the client receiving it: the reference server runs
  behind a middleware that notes when each event was handed to the socket (``time.perf_counter``, the system's
  monotonic clock, the same in every process), the client when it completed the event; p50 and p99;
* throughput: non-streamed and streamed requests per second with 32 at once, and the validating proxy's as a
  share of the bare pass-through's.

Latency and delays are measured with the ways taken in turn, request by request, so that other work on the
machine weighs on every way alike; throughput is measured twice per way, keeping the better figure.

Targets (printed beside the figures, never asserted): added p50 latency <= 1 ms, per-event added delay
p99 <= 1 ms, throughput >= 50% of the bare pass-through.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx

KEY = "sk-ant-test-scale"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
BODY = {"model": "claude-sonnet-4-20250514", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}


# --- the processes ----------------------------------------------------------------------------------------


class _SendTimes:
    """ASGI middleware: when each SSE event of a response tagged ``x-bench-id`` was handed to the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: dict[str, list[float]] = {}

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/times":
            tag = scope["query_string"].decode()
            body = json.dumps(self.times.pop(tag, [])).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        tag = next((v.decode() for k, v in scope.get("headers", []) if k == b"x-bench-id"), None)
        if tag is None:
            await self.app(scope, receive, send)
            return
        stamps = self.times.setdefault(tag, [])

        async def timed(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body":
                stamps.extend([time.perf_counter()] * message.get("body", b"").count(b"\n\n"))
        await self.app(scope, receive, timed)


class _BarePassThrough:
    """The baseline: an ASGI app that forwards with httpx and does nothing else."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self.client is None:
            self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=None), timeout=60)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"host", b"connection")]
        answer = await self.client.send(self.client.build_request(scope["method"], self.upstream + path,
                                                                  headers=headers, content=body), stream=True)
        out = [(k, v) for k, v in answer.headers.raw if k.lower() not in (b"transfer-encoding", b"connection")]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        async for chunk in answer.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        await answer.aclose()


def _serve(app: Any) -> None:
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    print(f"serving http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off", access_log=False, loop="asyncio",
                                  server_header=False, date_header=False)).run(sockets=[sock])


@contextlib.contextmanager
def _process(*args: str) -> Iterator[str]:
    """A child process that prints its URL on its first line; stopped when the block ends."""
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        url = next(word for word in line.split() if word.startswith("http://"))
        # Whatever it prints next (a proxy's finding lines) is read and dropped, so a full pipe never blocks it.
        threading.Thread(target=child.stdout.read, daemon=True).start()
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


# --- the measurements -------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(ways: dict[str, str], n: int) -> dict[str, list[float]]:
    """Sequential requests, one way after the other in turn: whatever else the machine does hits every way alike."""
    out: dict[str, list[float]] = {name: [] for name in ways}
    clients = {name: httpx.Client(base_url=url, headers=HEADERS, timeout=60) for name, url in ways.items()}
    try:
        for i in range(n + 50):
            for name, client in clients.items():
                start = time.perf_counter()
                client.post("/v1/messages", json=BODY).raise_for_status()
                if i >= 50:  # warm-up: connections, caches, the server's first compilations
                    out[name].append(time.perf_counter() - start)
    finally:
        for client in clients.values():
            client.close()
    return out


def event_delays(ways: dict[str, str], upstream: str, streams: int) -> dict[str, list[float]]:
    """Streams taken in turn through every way; each event's delay from the upstream's send to the client."""
    out: dict[str, list[float]] = {name: [] for name in ways}
    clients = {name: httpx.Client(base_url=url, headers=HEADERS, timeout=60) for name, url in ways.items()}
    try:
        with httpx.Client(base_url=upstream, timeout=60) as times:
            for n in range(streams + 5):
                for k, (name, client) in enumerate(clients.items()):
                    tag = f"{k}-{n}"
                    received: list[float] = []
                    last = b""
                    with client.stream("POST", "/v1/messages", json={**BODY, "stream": True},
                                       headers={"x-bench-id": tag}) as answer:
                        for chunk in answer.iter_raw():
                            # An event ends at a blank line, which a chunk boundary may split.
                            received.extend([time.perf_counter()] * (last + chunk).count(b"\n\n"))
                            last = chunk[-1:]
                    sent = times.get(f"/_bench/times?{tag}").json()
                    if n >= 5 and len(sent) == len(received):
                        out[name].extend(r - s for r, s in zip(received, sent, strict=True))
    finally:
        for client in clients.values():
            client.close()
    return out


def throughput(url: str, total: int, *, stream: bool, concurrency: int = 32) -> float:
    async def run() -> float:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=120, limits=limits) as client:
            queue = iter(range(total))

            async def worker() -> None:
                for _ in queue:
                    if stream:
                        async with client.stream("POST", "/v1/messages", json={**BODY, "stream": True}) as answer:
                            async for _chunk in answer.aiter_raw():
                                pass
                    else:
                        (await client.post("/v1/messages", json=BODY)).raise_for_status()

            await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm-up round
            queue = iter(range(total))
            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return total / (time.perf_counter() - start)
    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="sequential requests per way (latency)")
    parser.add_argument("--streams", type=int, default=60, help="streams per way (per-event delay)")
    parser.add_argument("--load", type=int, default=1500, help="requests per way (throughput)")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_upstream:
        from conformance.server import ServerConfig, create_app

        # The rate limiter's clock runs 1000 times faster (a minute's window lasts 60 ms): the benchmark's
        # thousands of requests a minute never meet a 429. One event per chunk, as the API writes them.
        start = time.time()
        _serve(_SendTimes(create_app(ServerConfig(chunking=False, clock=lambda: start + (time.time() - start) * 1000))))
        return 0
    if args.serve_bare:
        _serve(_BarePassThrough(args.serve_bare))
        return 0
    proxy = ["-m", "conformance", "proxy", "--port", "0", "--fail-on", "never", "--upstream"]
    with _process("-m", "conformance.proxy.bench", "--serve-upstream") as upstream, \
            _process("-m", "conformance.proxy.bench", "--serve-bare", upstream) as bare, \
            _process(*proxy, upstream, "--no-validation") as plain, \
            _process(*proxy, upstream) as validating:
        ways = {"direct": upstream, "bare httpx pass-through": bare, "proxy, no validation": plain,
                "proxy, validating": validating}
        print(f"conformance proxy benchmark: {args.requests} requests, {args.streams} streams, {args.load} requests "
              "of load per way; reference server on loopback, each way in its own process")
        lat = latencies(ways, args.requests)
        delay = event_delays(ways, upstream, args.streams)
        # Throughput twice, in turn, keeping each way's better figure: a burst of other work on the machine
        # during one way's turn does not decide the comparison.
        plain_rps = {name: 0.0 for name in ways}
        stream_rps = {name: 0.0 for name in ways}
        for _ in range(2):
            for name, url in ways.items():
                plain_rps[name] = max(plain_rps[name], throughput(url, args.load, stream=False))
                stream_rps[name] = max(stream_rps[name], throughput(url, args.load // 3, stream=True))
    base50, base99 = _percentile(lat["direct"], 0.5), _percentile(lat["direct"], 0.99)
    d99 = _percentile(delay["direct"], 0.99)
    print(f"\n{'way':<26}{'latency p50':>12}{'p99':>9}{'added p50':>11}{'p99':>9}   {'event delay p50':>15}"
          f"{'p99':>9}{'added p99':>11}   {'plain req/s':>11}{'stream req/s':>13}")
    for name in ways:
        l50, l99 = _percentile(lat[name], 0.5), _percentile(lat[name], 0.99)
        e50, e99 = _percentile(delay[name], 0.5), _percentile(delay[name], 0.99)
        print(f"{name:<26}{l50 * 1e3:>10.2f}ms{l99 * 1e3:>7.2f}ms{(l50 - base50) * 1e3:>9.2f}ms"
              f"{(l99 - base99) * 1e3:>7.2f}ms   {e50 * 1e3:>13.3f}ms{e99 * 1e3:>7.3f}ms{(e99 - d99) * 1e3:>9.3f}ms"
              f"   {plain_rps[name]:>11.0f}{stream_rps[name]:>13.0f}")
    added50 = (_percentile(lat["proxy, validating"], 0.5) - base50) * 1e3
    added_event99 = (_percentile(delay["proxy, validating"], 0.99) - d99) * 1e3
    share = plain_rps["proxy, validating"] / plain_rps["bare httpx pass-through"]
    share_stream = stream_rps["proxy, validating"] / stream_rps["bare httpx pass-through"]
    print(f"\nvalidating proxy: added p50 latency {added50:.2f} ms (target <= 1 ms); per-event added delay p99 "
          f"{added_event99:.3f} ms (target <= 1 ms); throughput {share:.0%} of the bare pass-through plain, "
          f"{share_stream:.0%} streamed (target >= 50%)")
    print(f"events measured per way: {min(len(v) for v in delay.values())}; "
          f"per-event delay median over all events direct {statistics.median(delay['direct']) * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
