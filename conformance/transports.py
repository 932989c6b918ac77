"""httpx transports that judge every exchange passing through them, streams as they arrive.

    client = httpx.Client(transport=ValidatingTransport())            # or wrap any transport:
    ValidatingTransport(httpx.MockTransport(handler)), ValidatingTransport(respx_mock), ...

Wraps any transport (the default one, ``MockTransport``, respx's, a vcrpy-patched one). The request is
judged as sent; the response's byte stream is handed to the caller chunk by chunk, each chunk judged after
the caller got it (a generator resumes only when the next chunk is asked for), so nothing is held back.
The exchange ends when the body was read to its end, broke off, or was closed early by the caller.

Works with ``httpx`` and ``httpx2`` alike (the official Python SDK 2.x uses ``httpx2``): responses are
rebuilt with the class of the response the inner transport gave, and the default inner transport is that of
the library the request came from.

``on_finding``: ``raise`` (default) raises :class:`ConformanceFailure` at the end of an exchange with
error findings (an SDK that retries transport failures, as ``anthropic`` does unless ``max_retries=0``,
reports it as its connection error, ours as the cause); ``collect`` only keeps them in :attr:`findings`;
``warn`` issues a :class:`ConformanceWarning` per error or warning finding.
"""

from __future__ import annotations

import functools
import importlib
import threading
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx

from conformance.findings import Finding, Severity
from conformance.library import judge_for, render_findings, request_parts, secrets_in
from conformance.lint import describe
from conformance.live import LiveExchange, LiveJudge

__all__ = ["AsyncValidatingTransport", "ConformanceFailure", "ConformanceWarning", "ValidatingTransport"]

ON_FINDING = ("raise", "collect", "warn")


class ConformanceFailure(AssertionError):
    """An exchange broke the contract (``on_finding="raise"``); :attr:`findings` are its error findings."""

    def __init__(self, message: str, findings: Sequence[Finding]) -> None:
        super().__init__(message)
        self.findings = list(findings)


class ConformanceWarning(UserWarning):
    """One finding about an exchange (``on_finding="warn"``)."""


class _Validation:
    """What both transports share: the judge, the numbering, the findings seen, and what to do with them."""

    def __init__(self, api_version: str | None, on_finding: str, party: str, name: str) -> None:
        if on_finding not in ON_FINDING:
            raise ValueError(f"on_finding must be one of {', '.join(map(repr, ON_FINDING))}, not {on_finding!r}")
        self.judge: LiveJudge = judge_for(api_version, party)
        self.on_finding = on_finding
        self.name = name
        self.findings: list[Finding] = []
        """Every finding of every exchange so far (every severity), then those across exchanges at close."""
        self.labels: dict[tuple[str | None, int | None], str] = {}
        self._heads: list[Any] = []
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._count = 0

    def start(self, request: Any) -> LiveExchange:
        method, url, headers, body = request_parts(request)
        with self._lock:
            n = self._count
            self._count += 1
            self._secrets.update(secrets_in(headers))
        return self.judge.start(method, url, headers, body, file=self.name, interaction=n)

    def ended(self, live: LiveExchange, found: list[Finding]) -> None:
        ex = live.exchange
        resp = ex.response
        with self._lock:
            self.labels[(ex.file, ex.interaction)] = describe(ex.request.method if ex.request else None, ex.path,
                                                              resp.status if resp else None, live.is_stream)
            self.findings.extend(found)
            if live.judged:
                self._heads.append(live.head_only())
        self._report(found)

    def _report(self, found: list[Finding]) -> None:
        if self.on_finding == "collect":
            return
        if self.on_finding == "warn":
            for f in found:
                if f.severity >= Severity.WARNING:
                    warnings.warn(ConformanceWarning(self.render([f]).strip()), stacklevel=4)
            return
        errors = [f for f in found if f.severity >= Severity.ERROR]
        if errors:
            raise ConformanceFailure("contract violated:\n" + self.render(errors), errors)

    def render(self, findings: Sequence[Finding] | None = None) -> str:
        """Findings (default: every one so far) as ``conformance lint`` prints them, keys redacted."""
        return render_findings(self.findings if findings is None else findings, self.labels,
                               interactions=self._count, seen_secrets=self._secrets)

    def close(self) -> None:
        """Judge what spans the exchanges seen (rate-limit windows), once, when the transport closes."""
        with self._lock:
            heads, self._heads = self._heads, []
        if heads:
            found = self.judge.sequence(heads)
            with self._lock:
                self.findings.extend(found)
            self._report(found)


def _default_transport(request: Any, kind: str) -> Any:
    """The default transport of the library the request came from (httpx or httpx2)."""
    module = importlib.import_module(type(request).__module__.split(".")[0])
    return getattr(module, kind)()


def _rebuilt(response: Any, stream: type, live: LiveExchange, validation: _Validation) -> Any:
    """``response`` with its body judged as it is read, of the inner transport's own response class.

    The judged stream is made a subclass of that library's own byte-stream class: clients check it."""
    module = importlib.import_module(type(response).__module__.split(".")[0])
    judged = _stream_class(stream, getattr(module, stream.__bases__[-1].__name__))
    return type(response)(response.status_code, headers=response.headers,
                          stream=judged(response.stream, live, validation), extensions=response.extensions)


@functools.cache
def _stream_class(stream: type, base: type) -> type:
    return stream if issubclass(stream, base) else type(stream.__name__, (stream, base), {})


class _Validating:
    """What both transports hold: the inner transport and the validation of what passes through it."""

    def __init__(self, inner: Any, api_version: str | None, on_finding: str, party: str, name: str) -> None:
        self.inner = inner
        self.validation = _Validation(api_version, on_finding, party, name)

    @property
    def findings(self) -> list[Finding]:
        """Every finding so far (every severity, whatever ``on_finding`` did with them)."""
        return self.validation.findings


class ValidatingTransport(_Validating, httpx.BaseTransport):
    """An httpx transport that judges every exchange through ``inner`` (default: the library's own)."""

    def __init__(self, inner: Any = None, *, api_version: str | None = None, on_finding: str = "raise",
                 party: str = "all", name: str = "ValidatingTransport") -> None:
        super().__init__(inner, api_version, on_finding, party, name)

    def handle_request(self, request: Any) -> Any:
        live = self.validation.start(request)
        if self.inner is None:
            self.inner = _default_transport(request, "HTTPTransport")
        try:
            response = self.inner.handle_request(request)
        except Exception as exc:
            self.validation.ended(live, live.finish(f"{type(exc).__name__}: {exc}"))
            raise
        live.response(response.status_code, list(response.headers.multi_items()))
        return _rebuilt(response, _JudgedStream, live, self.validation)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
        self.validation.close()


class _JudgedBody:
    """A response body handed on chunk by chunk, its exchange ended (and reported) exactly once."""

    def __init__(self, inner: Any, live: LiveExchange, validation: _Validation) -> None:
        self.inner = inner
        self.live = live
        self.validation = validation
        self.done = False

    def _end(self, found: list[Finding]) -> None:
        if not self.done:
            self.done = True
            self.validation.ended(self.live, found)

    def _abandoned(self) -> None:
        # Closed before its end: the caller stopped reading, which is nobody's fault.
        if not self.done:
            self._end(self.live.abandon())


class _JudgedStream(_JudgedBody, httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        live = self.live
        try:
            for chunk in self.inner:
                yield chunk
                # Resumed only when the caller asks for the next chunk: it already has this one.
                live.feed(chunk)
        except GeneratorExit:
            raise
        except Exception as exc:
            self._end(live.finish(f"{type(exc).__name__}: {exc}"))
            raise
        self._end(live.finish())

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self._abandoned()


class AsyncValidatingTransport(_Validating, httpx.AsyncBaseTransport):
    """:class:`ValidatingTransport` for ``httpx.AsyncClient`` (and ``httpx2.AsyncClient``)."""

    def __init__(self, inner: Any = None, *, api_version: str | None = None, on_finding: str = "raise",
                 party: str = "all", name: str = "AsyncValidatingTransport") -> None:
        super().__init__(inner, api_version, on_finding, party, name)

    async def handle_async_request(self, request: Any) -> Any:
        await request.aread()
        live = self.validation.start(request)
        if self.inner is None:
            self.inner = _default_transport(request, "AsyncHTTPTransport")
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            self.validation.ended(live, live.finish(f"{type(exc).__name__}: {exc}"))
            raise
        live.response(response.status_code, list(response.headers.multi_items()))
        return _rebuilt(response, _AsyncJudgedStream, live, self.validation)

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()
        self.validation.close()


class _AsyncJudgedStream(_JudgedBody, httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        live = self.live
        try:
            async for chunk in self.inner:
                yield chunk
                live.feed(chunk)
        except GeneratorExit:
            raise
        except Exception as exc:
            self._end(live.finish(f"{type(exc).__name__}: {exc}"))
            raise
        self._end(live.finish())

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self._abandoned()
