"""Reference-server benchmark (``nox -s bench``): throughput and latency beside a bare Starlette ceiling.

Each server runs alone in a subprocess (one uvicorn worker, one core); the load comes from
this process through a minimal keep-alive HTTP/1.1 client on raw asyncio streams, cheap
enough that the server, not the client, is what saturates. Printed, for the reference
server and for a bare Starlette app on the same machine in the same run:

* non-streaming requests per second, with p50/p99 latency;
* streamed events per second (SSE events delivered), with p50/p99 latency per stream.

Target: the reference server reaches at least half the bare ceiling for non-streaming requests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

REQUEST = {"model": "claude-sonnet-4-20250514", "max_tokens": 64,
           "messages": [{"role": "user", "content": "Benchmark me, please."}]}
STREAM_REQUEST = {**REQUEST, "max_tokens": 200, "stream": True}


# -- the servers under test (run in a child process) ------------------------------------------------------

def _bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    body = orjson.dumps({"id": "msg_bare", "type": "message", "role": "assistant", "model": REQUEST["model"],
                         "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "end_turn",
                         "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 2}})
    event = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,' \
            b'"delta":{"type":"text_delta","text":" word"}}\n\n'
    events_per_stream = 60

    async def messages(request: Request) -> Response:
        data = orjson.loads(await request.body())
        if data.get("stream"):
            async def gen() -> AsyncIterator[bytes]:
                for _ in range(events_per_stream):
                    yield event
            return StreamingResponse(gen(), media_type="text/event-stream")
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])


class _MinuteClock:
    """Each reading is a minute later: the rate-limit code runs in full but never limits the benchmark."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 61.0
        return self.now


def _serve(kind: str) -> None:
    import uvicorn

    from conformance.server import ServerConfig, create_app
    from conformance.server.run import _bind
    from conformance.server.state import quiet_dropped_connections

    quiet_dropped_connections()
    app = _bare_app() if kind == "bare" else create_app(ServerConfig(clock=_MinuteClock()))
    sock = _bind("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])


# -- a minimal keep-alive client ---------------------------------------------------------------------------

async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            headers[k.strip().lower()] = v.strip()
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _request_bytes(port: int, body: dict[str, Any]) -> bytes:
    payload = orjson.dumps(body)
    head = (f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
            f"x-api-key: sk-ant-test-scale\r\nanthropic-version: 2023-06-01\r\n"
            f"content-length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


async def _worker(port: int, raw: bytes, until: float, latencies: list[float], events: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(raw)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"benchmark request failed with {status}: {body[:200]!r}")
            events.append(body.count(b"\n\n"))
    finally:
        writer.close()


async def _load(port: int, body: dict[str, Any], seconds: float, concurrency: int) -> dict[str, float]:
    raw = _request_bytes(port, body)
    await _worker(port, raw, time.perf_counter() + 0.3, [], [])  # warm-up
    latencies: list[float] = []
    events: list[int] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(_worker(port, raw, until, latencies, events) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"requests_per_s": len(latencies) / elapsed, "events_per_s": sum(events) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000}


def _start(kind: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "conformance.server.bench", "--serve", kind],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    # Best of interleaved rounds: on a shared machine the slowest round measures the neighbours.
    return max(runs, key=lambda r: r["requests_per_s"])


def measure(seconds: float, concurrency: int, rounds: int) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """{kind: (non-streaming figures, streaming figures)} for ``bare`` and ``reference``."""
    servers = {kind: _start(kind) for kind in ("bare", "reference")}
    runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
    try:
        for _ in range(rounds):
            for streamed in (False, True):
                for kind, (_, port) in servers.items():
                    body = STREAM_REQUEST if streamed else REQUEST
                    runs.setdefault((kind, streamed), []).append(
                        asyncio.run(_load(port, body, seconds, concurrency)))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    return {kind: (_best(runs[(kind, False)]), _best(runs[(kind, True)])) for kind in servers}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m conformance.server.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is shown")
    parser.add_argument("--serve", choices=["reference", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return
    results = measure(args.seconds, args.concurrency, args.rounds)
    print(f"\nreference server vs bare Starlette (one uvicorn worker each, {args.concurrency} connections, "
          f"best of {args.rounds} interleaved {args.seconds:g} s rounds)")
    print(f"{'':22}{'bare':>14}{'reference':>14}{'ratio':>8}")
    (bp, bs), (rp, rs) = results["bare"], results["reference"]
    rows = [("non-stream req/s", bp["requests_per_s"], rp["requests_per_s"]),
            ("  p50 latency ms", bp["p50_ms"], rp["p50_ms"]), ("  p99 latency ms", bp["p99_ms"], rp["p99_ms"]),
            ("stream events/s", bs["events_per_s"], rs["events_per_s"]),
            ("  streams/s", bs["requests_per_s"], rs["requests_per_s"]),
            ("  p50 stream ms", bs["p50_ms"], rs["p50_ms"]), ("  p99 stream ms", bs["p99_ms"], rs["p99_ms"])]
    for name, bare, ref in rows:
        print(f"{name:22}{bare:>14.1f}{ref:>14.1f}{ref / bare:>8.2f}")
    verdict = "meets" if rp["requests_per_s"] >= bp["requests_per_s"] / 2 else "MISSES"
    print(f"non-streaming target (>= half the ceiling): {verdict}")


if __name__ == "__main__":
    main()
