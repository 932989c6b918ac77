"""The proxy's ASGI application: forward each request, hand the answer back as it arrives, judge it after.

Upstream requests go through httpcore's connection pool (the transport under httpx): nothing is added to
them, and each costs a fifth of a millisecond less than through an httpx client.

Order of work per chunk: the chunk goes to the client first (``await send``), then to the judge, so
validation never delays what the client sees. A request body is read whole before it is forwarded (the API's
bodies are JSON of bounded size), so it is forwarded byte for byte with its own ``content-length``.

What is not forwarded as it came (RFC 9110 7.6.1): the hop-by-hop headers (``connection``, ``keep-alive``,
``transfer-encoding``, ``te``, ``trailer``, ``upgrade``, ``proxy-*`` and any named in ``connection``), and
``host``, which names the upstream. Everything else passes unchanged, in order, repeated names included.

The upstream URL's path is a mount point (a gateway's route, ``http://gateway:4000/anthropic``): each request goes
to it followed by the path and query the client sent, unchanged (a client's own prefix included). What is judged
is what the client asked for: the endpoint its path names (:mod:`conformance.endpoints` knows an endpoint under a
mount point, so ``/anthropic/v1/messages`` is ``messages``, in the proxy as in ``lint`` of its recording).

When the upstream gives nothing (refused, not HTTP, timed out before its head) the client gets a 502 in the
API's error envelope (``api_error``, the message naming the proxy and the failure); when it breaks off
mid-body, the client's connection is cut the same way. A client that goes away mid-stream closes the
upstream request at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpcore
import orjson

from conformance.live import LiveExchange
from conformance.proxy.session import ProxySession

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ANNOTATION_HEADER = "x-conformance-findings"
UPSTREAM_FAILURES = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException,
                     httpcore.UnsupportedProtocol, OSError)
"""What an upstream connection may fail with (httpcore's exceptions have no common base)."""
TIMEOUTS = {"connect": 10.0, "read": 300.0, "write": 60.0, "pool": None}
"""Upstream timeouts: ten seconds to connect, five minutes of silence within an answer."""
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
                        b"proxy-connection", b"proxy-authenticate", b"proxy-authorization"})
BODY_TIMEOUT = 30.0
"""Seconds a client may take to send its request body (a slow-loris client is cut off after it)."""


def _hop_by_hop(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    named = {token.strip().lower() for name, value in headers if name.lower() == b"connection"
             for token in value.split(b",")}
    return HOP_BY_HOP | named


def forwarded(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers a proxy passes on: all but the hop-by-hop ones and ``host`` (see the module docstring)."""
    drop = _hop_by_hop(headers) | {b"host"}
    return [(name, value) for name, value in headers if name.lower() not in drop]


def error_envelope(status: int, error_type: str, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """An answer of the proxy's own, in the API's error shape (what a client of the API can read)."""
    body = orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return status, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"x-conformance-proxy", b"error")], body


class ClientGone(Exception):
    """The client disconnected before the answer ended."""


class ProxyApp:
    """ASGI app forwarding to ``upstream`` through ``client``; ``session`` judges (``None``: a bare pass-through)."""

    def __init__(self, upstream: str, client: httpcore.AsyncConnectionPool, session: ProxySession | None, *,
                 max_body_bytes: int, annotate: bool = False, body_timeout: float = BODY_TIMEOUT) -> None:
        self.upstream = upstream.rstrip("/")
        self.host = upstream.split("://", 1)[-1].split("/", 1)[0].encode()
        self.client = client
        self.session = session
        self.max_body_bytes = max_body_bytes
        self.annotate = annotate
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await self._request_body(receive)
        if body is None:
            return  # the client went away, or took too long: nothing to answer
        if isinstance(body, tuple):
            await self._answer(send, *body)
            return
        method: str = scope["method"]
        target = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        # The upstream's path is a mount point: the client's path and query go after it, as the client sent them.
        url = self.upstream + target.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = forwarded(scope["headers"])
        session = self.session
        live = session.start(method, url, headers, body) if session is not None else None
        # The body is forwarded whole, so its length is known (a client's chunked framing is hop-by-hop).
        upstream_headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
        upstream_headers.insert(0, (b"host", self.host))
        if body or any(n.lower() == b"content-length" for n, _ in headers):
            upstream_headers.append((b"content-length", str(len(body)).encode()))
        try:
            request = httpcore.Request(method, url, headers=upstream_headers, content=body,
                                       extensions={"timeout": TIMEOUTS})
            response = await self.client.handle_async_request(request)
        except UPSTREAM_FAILURES as exc:
            failure = _failure(exc)
            if live is not None and session is not None:
                session.ended(live, live.finish(failure), failure)
            await self._answer(send, *error_envelope(502, "api_error", f"conformance proxy: the upstream "
                                                                           f"{self.upstream} gave no answer "
                                                                           f"({failure})"))
            return
        try:
            await self._relay(response, live, receive, send)
        finally:
            await response.aclose()

    async def _request_body(self, receive: Receive) -> bytes | tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        return error_envelope(413, "request_too_large", f"conformance proxy: the request body is "
                                                                        f"larger than {self.max_body_bytes} bytes "
                                                                        "(--max-body-bytes)")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            return error_envelope(408, "timeout_error", f"conformance proxy: the request body took longer than "
                                                        f"{self.body_timeout:g} s to arrive")

    async def _answer(self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _relay(self, response: httpcore.Response, live: LiveExchange | None, receive: Receive,
                     send: Send) -> None:
        session = self.session
        headers = forwarded(list(response.headers))
        chunks: Any = response.aiter_stream()
        judge_chunks = live is not None
        if live is not None:
            live.response(response.status, [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers])
            if self.annotate:
                try:
                    value, read = await self._annotation(response, live)
                except UPSTREAM_FAILURES as exc:
                    await self._broken_before_head(live, _failure(exc), send)
                    return
                headers.append((ANNOTATION_HEADER.encode(), value))
                if read is not None:
                    chunks, judge_chunks = _replay(read), False
        # An answer the rules do not read is still recorded (--record): its chunks are kept as they pass.
        passed = session.passing(live) if live is not None and session is not None else None
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        task = asyncio.current_task()
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone, task))
        failure: str | None = None
        try:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if judge_chunks:
                    # After the chunk went out: validation never holds the client's bytes back.
                    found = live.feed(chunk)  # type: ignore[union-attr]
                    if found and session is not None:
                        session.found(live, found)  # type: ignore[arg-type]
                if passed is not None:
                    passed.feed(chunk)
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            if live is not None and session is not None:
                session.ended(live, live.abandon())
            return
        except UPSTREAM_FAILURES as exc:
            failure = _failure(exc)
        finally:
            watcher.cancel()
        if failure is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # Broken off upstream: returning without completing the response cuts the client's connection too.
        if live is not None and session is not None:
            # The client has the whole answer. The rules that need all of it run a moment later, so that a
            # request already on its way (the client's next one) is forwarded first and the judging fills
            # the time the proxy waits for the upstream.
            session.later(live, failure)

    async def _broken_before_head(self, live: LiveExchange, failure: str, send: Send) -> None:
        if self.session is not None:
            self.session.ended(live, live.finish(failure), failure)
        await self._answer(send, *error_envelope(502, "api_error", f"conformance proxy: the upstream "
                                                                   f"{self.upstream} broke off ({failure})"))

    async def _annotation(self, response: httpcore.Response, live: LiveExchange) -> tuple[bytes, list[bytes] | None]:
        """``x-conformance-findings: N; first=RULE``, and the body chunks read to know it (``None``: none read).

        For a plain answer, every finding: the body is read and judged before the head is sent (so
        ``--annotate`` delays plain answers by their body). For a stream, the head goes first: it can only count
        what is known before any event, the request's own findings (the client's)."""
        read: list[bytes] | None = None
        if live.is_stream:
            found = live.request_findings()
        else:
            read = []
            async for chunk in response.aiter_stream():
                read.append(chunk)
                live.feed(chunk)
            found = live.finish()
        first = next((f.rule for f in sorted(found, key=lambda f: -f.severity)), None)
        return (f"{len(found)}" + (f"; first={first}" if first else "")).encode(), read


async def _replay(chunks: list[bytes]) -> Any:
    """The body chunks of a plain answer that --annotate read (and judged) before sending the head."""
    for chunk in chunks:
        yield chunk


async def _watch_disconnect(receive: Receive, gone: asyncio.Event, task: asyncio.Task[Any] | None) -> None:
    # After the request body, the next message is a disconnect: before the answer ended, the client left.
    with contextlib.suppress(asyncio.CancelledError):
        message = await receive()
        if message["type"] == "http.disconnect" and task is not None:
            gone.set()
            task.cancel()


def _failure(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
