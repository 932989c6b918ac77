"""A small gateway in front of the reference server, for tests and benchmarks: a pass-through that can break one thing.

    with running_reference() as upstream, running_gateway(upstream, fault="422-for-400") as url:
        conformance run --target url ...

Faults (``fault=``), each one behaviour a real gateway has been seen to get wrong:

    None / "conformant"   forward everything unchanged, streams chunk by chunk
    "422-for-400"         answer 422 where the upstream answered 400 (body kept)
    "200-for-400"         answer 200 with a canned message where the upstream answered 400
    "500-for-400"         answer 500 api_error where the upstream answered 400
    "wrong-error-type"    a 400 carries error.type api_error
    "drop-retry-after"    remove retry-after (and retry-after-ms) from every answer
    "drop-request-id"     remove request-id from plain (non-streamed) answers
    "error-every-stream"  end every stream after its first block with an in-stream error of an unknown type
    "stall-streams"       stop sending a stream after its first events, keeping the connection open
    "silent"              accept connections and never answer
    "echo-key"            echo the request's key back in many encodings (headers and bodies)
    "flatten-errors"      answer every upstream 5xx/529 as 500 api_error (as a gateway that makes its own errors)
    "reject-large"        answer a request body over 600 bytes with 400 invalid_request_error (a failure that
                          depends on the request: shrinking has something to find)

It is real HTTP on loopback (Starlette + uvicorn in a thread, httpx to the upstream), started and
stopped by the test; it holds no state beyond a request counter.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.server import ServerConfig, running_server

FAULTS = ("conformant", "422-for-400", "200-for-400", "500-for-400", "wrong-error-type", "drop-retry-after",
          "drop-request-id", "error-every-stream", "stall-streams", "silent", "echo-key", "reject-large",
          "flatten-errors")
_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding", "host"}


def echoed_forms(key: str) -> list[str]:
    """The key as a gateway might echo it: base64, JSON escapes, URL-encoded, split, its ends."""
    return [base64.b64encode(key.encode()).decode(), "".join(f"\\u{ord(c):04x}" for c in key),
            quote(key, safe=""), key[:20], key[-20:], key[: len(key) // 2] + "\n" + key[len(key) // 2:]]


class Gateway:
    def __init__(self, upstream: str, fault: str | None) -> None:
        if fault not in (None, *FAULTS):
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.upstream = upstream.rstrip("/")
        self.fault = fault or "conformant"
        self.requests = 0
        self.client = httpx.AsyncClient(base_url=self.upstream, timeout=60)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        self.requests += 1
        if self.fault == "silent":
            await asyncio.sleep(3600)
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        content = await request.body()
        if self.fault == "reject-large" and len(content) > 600:
            return Response(json.dumps({"type": "error", "error": {"type": "invalid_request_error",
                                                                    "message": "too large for this gateway"}}),
                            status_code=400, headers={"content-type": "application/json", "request-id": "req_gw"})
        upstream = self.client.build_request(request.method, request.url.path, params=request.query_params,
                                             headers=headers, content=content)
        answer = await self.client.send(upstream, stream=True)
        out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
        if self.fault == "drop-retry-after":
            out_headers = {k: v for k, v in out_headers.items() if k.lower() not in ("retry-after", "retry-after-ms")}
        if self.fault == "echo-key" and key:
            out_headers.update({f"x-echo-{i}": f.replace("\n", " ") for i, f in enumerate(echoed_forms(key))})
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            return StreamingResponse(self._stream(answer, key), status_code=answer.status_code, headers=out_headers)
        body = await answer.aread()
        await answer.aclose()
        return self._plain(answer.status_code, body, out_headers, key)

    def _plain(self, status: int, body: bytes, headers: dict[str, str], key: str) -> Response:
        fault = self.fault
        if status == 400 and fault == "422-for-400":
            status = 422
        elif status == 400 and fault == "500-for-400":
            status, body = 500, json.dumps({"type": "error", "error": {"type": "api_error", "message": "x"}}).encode()
        elif status == 400 and fault == "wrong-error-type":
            doc = json.loads(body)
            doc["error"]["type"] = "api_error"
            body = json.dumps(doc).encode()
        elif status == 400 and fault == "200-for-400":
            status, body = 200, json.dumps(_CANNED).encode()
        elif fault == "flatten-errors" and status >= 500:
            status, body = 500, json.dumps({"type": "error", "error": {"type": "api_error", "message": "x"}}).encode()
        elif fault == "drop-request-id":
            headers = {k: v for k, v in headers.items() if k.lower() != "request-id"}
        elif fault == "echo-key" and key and body.startswith(b"{"):
            doc = json.loads(body)
            doc["echo"] = echoed_forms(key)
            body = json.dumps(doc).encode()
        return Response(body, status_code=status, headers=headers)

    async def _stream(self, answer: httpx.Response, key: str) -> AsyncIterator[bytes]:
        sent = 0
        buffered = b""
        try:
            async for chunk in answer.aiter_bytes():
                if self.fault == "stall-streams" and b"content_block_delta" in buffered:
                    await asyncio.sleep(3600)  # a few events went by; then nothing, the connection kept open
                buffered += chunk
                if self.fault == "error-every-stream" and b"content_block_stop" in chunk:
                    yield chunk.split(b"event: content_block_stop")[0]
                    yield (b'event: error\ndata: {"type": "error", "error": {"type": "gateway_error", '
                           b'"message": "upstream went away"}}\n\n')
                    return
                if self.fault == "echo-key" and key and b"message_start" in chunk:
                    chunk = chunk.replace(b'"type":"message_start"', b'"type":"message_start","echo":'
                                          + json.dumps(echoed_forms(key)).encode(), 1)
                sent += len(chunk)
                yield chunk
        finally:
            await answer.aclose()


_CANNED = {"id": "msg_01gateway", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
           "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 3, "output_tokens": 1}}


def running_gateway(upstream: str, fault: str | None = None) -> contextlib.AbstractContextManager[str]:
    """Serve a :class:`Gateway` in front of ``upstream`` on a free loopback port; yields its base URL."""
    return serving(Gateway(upstream, fault))


@contextlib.contextmanager
def serving(gateway: Gateway) -> Iterator[str]:
    """Serve ``gateway`` on a free loopback port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(gateway.app(), log_level="error", lifespan="off", access_log=False,
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="gateway")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=5)
        sock.close()


@contextlib.contextmanager
def running_reference(**config: Any) -> Iterator[str]:
    """The reference server with the built-in test keys (a Scale and a Free key among them)."""
    with running_server(ServerConfig(**config)) as url:
        yield url
