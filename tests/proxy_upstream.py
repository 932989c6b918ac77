"""A raw-TCP upstream for the proxy's robustness tests: it answers each request as its ``x-test-mode`` says,
including ways no HTTP framework would answer (a reset mid-stream, bytes that are not HTTP).

    ok              a conformant Messages answer (plain, or a stream when the body asks for one)
    stream          a conformant stream; with ``x-test-id: N`` odd, it lacks its message_stop
    reset           the head and the first event of a stream, then a TCP reset
    not-http        a line of SSH banner, then close
    big-error       a 502 with a 10 MB HTML page
    hold            the head and the first event of a stream, then nothing until the client goes away
                    (``closed`` is set when it does)
    echo            a plain answer echoing the request's key, raw and in several encodings
    gzip            a plain Messages answer, gzip-encoded

It answers any path the same way. :func:`mounted_reference` is the reference server under a path prefix, as a
gateway's route serves the API (``/anthropic/v1/messages``): any path outside the prefix is a 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

from tests.gateway import echoed_forms

MESSAGE = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
           "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 3, "output_tokens": 1}}
START = {"type": "message_start", "message": {**MESSAGE, "content": [], "stop_reason": None}}


def events(n: int, *, stop: bool = True) -> list[bytes]:
    """A stream of ``n`` text deltas, one SSE event per item (what a server writes per chunk)."""
    payloads = [START, {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"w{i} "}}
                  for i in range(n)),
                {"type": "content_block_stop", "index": 0},
                {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                 "usage": {"output_tokens": n}}]
    if stop:
        payloads.append({"type": "message_stop"})
    return [f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads]


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_1\r\n"
               b"transfer-encoding: chunked\r\n\r\n")


class HostileUpstream:
    def __init__(self) -> None:
        self.closed = threading.Event()
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                fields = (line.partition(":") for line in lines[1:] if line)
                headers = {k.strip().lower(): v.strip() for k, _, v in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self.answer(headers, body, reader, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def answer(self, headers: dict[str, str], body: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        mode = headers.get("x-test-mode", "ok")
        if mode == "not-http":
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
            await writer.drain()
            return False
        if mode == "big-error":
            page = b"<html>" + b"x" * (10 * 1024 * 1024 - 13) + b"</html>"
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: %d\r\n\r\n"
                         % len(page) + page)
            await writer.drain()
            return True
        if mode == "echo":
            key = headers.get("x-api-key", "")
            doc = json.dumps({**MESSAGE, "echo": [key, *echoed_forms(key)]}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: r\r\nx-echo: %s\r\n"
                         b"content-length: %d\r\n\r\n%s" % (key.encode(), len(doc), doc))
            await writer.drain()
            return True
        if mode == "gzip":
            doc = gzip.compress(json.dumps(MESSAGE).encode())
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
                         b"request-id: r\r\ncontent-length: %d\r\n\r\n%s" % (len(doc), doc))
            await writer.drain()
            return True
        if mode in ("reset", "hold"):
            writer.write(STREAM_HEAD + chunked(events(1)[0]))
            await writer.drain()
            if mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return False
            await reader.read()  # returns when the proxy closes its side
            self.closed.set()
            return False
        if mode == "stream" or json.loads(body or b"{}").get("stream"):
            test_id = int(headers.get("x-test-id", "0"))
            writer.write(STREAM_HEAD)
            for event in events(20, stop=test_id % 2 == 0):
                writer.write(chunked(event))
                await writer.drain()
                await asyncio.sleep(0)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        doc = json.dumps(MESSAGE).encode()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: r\r\ncontent-length: %d\r\n\r\n"
                     % len(doc) + doc)
        await writer.drain()
        return True


@contextlib.contextmanager
def hostile_upstream() -> Iterator[HostileUpstream]:
    upstream = HostileUpstream()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    server: list[asyncio.base_events.Server] = []

    async def start() -> None:
        server.append(await asyncio.start_server(upstream.handle, "127.0.0.1", 0, limit=1 << 20))
        upstream.url = f"http://127.0.0.1:{server[0].sockets[0].getsockname()[1]}"
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield upstream
    finally:
        asyncio.run_coroutine_threadsafe(_stop(server[0]), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


async def _stop(server: asyncio.base_events.Server) -> None:
    server.close()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.contextmanager
def mounted_reference(prefix: str, mutant: str | None = None) -> Iterator[str]:
    """The reference server (or a mutant) mounted under ``prefix`` (``/anthropic``); yields its base URL with the
    prefix (``http://127.0.0.1:PORT/anthropic``)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from conformance.server import ServerConfig, create_app

    app = Starlette(routes=[Mount(prefix.rstrip("/"), app=create_app(ServerConfig(mutant=mutant)))])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the mounted reference server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{prefix.rstrip('/')}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
