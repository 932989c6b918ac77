"""The library's public functions behind :mod:`conformance`: judge one exchange, or a stream as it arrives.

Both are the live judge (:mod:`conformance.live`) that ``conformance proxy`` and
:class:`~conformance.transports.ValidatingTransport` use, fed from whatever objects the caller holds:
``httpx`` (or ``httpx2``) requests and responses, ``requests`` ones, or plain data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from conformance.cassettes.redact import SECRET_REQUEST_HEADERS, Redactor, redactor, secrets_from_env
from conformance.findings import Finding
from conformance.live import LiveExchange, LiveJudge, RawHeaders

__all__ = ["StreamValidator", "check", "judge_for", "render_findings", "request_parts", "secrets_in"]

RawRequest = tuple[str, str, RawHeaders, "bytes | str | None"]
"""``(method, url, headers, body)``."""
RawResponse = tuple[int, RawHeaders, "bytes | str | Iterable[bytes] | None"]
"""``(status, headers, body)``; a stream's body as bytes or an iterator of chunks."""

_ACCEPTED_REQUEST = ("an httpx.Request, a requests.PreparedRequest (or Request), or a tuple "
                     "(method, url, headers, body)")
_ACCEPTED_RESPONSE = ("an httpx.Response, a requests.Response, or a tuple (status, headers, body) whose body is "
                      "bytes or an iterator of byte chunks")


def judge_for(api_version: str | None, party: str) -> LiveJudge:
    """A :class:`LiveJudge`, with the argument named when it is wrong."""
    if party not in ("client", "server", "all"):
        raise ValueError(f"party must be 'client', 'server' or 'all', not {party!r}")
    from conformance.profiles import load_profiles

    profiles = load_profiles()
    if api_version is not None and api_version not in profiles:
        raise ValueError(f"api_version {api_version!r} is not in the version table; known: "
                         f"{', '.join(profiles.versions)}")
    return LiveJudge(api_version=api_version, party=party, profiles=profiles)


def _body_bytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"a request body must be bytes, str or None, not {type(body).__name__}")


def _multi(headers: Any) -> RawHeaders:
    """httpx headers keep repeated names apart only in ``multi_items()``; ``items()`` joins them."""
    items = getattr(headers, "multi_items", None)
    return list(items()) if callable(items) else headers


def _is_httpx(obj: Any, kind: str) -> bool:
    cls = type(obj)
    return cls.__name__ == kind and cls.__module__.split(".")[0] in ("httpx", "httpx2")


def _is_requests(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "requests"


def request_parts(request: Any) -> tuple[str, str, RawHeaders, bytes | None]:
    """``(method, url, headers, body)`` of any request :func:`check` accepts."""
    if _is_httpx(request, "Request"):
        return request.method, str(request.url), _multi(request.headers), request.read()
    if _is_requests(request) and hasattr(request, "method"):
        if not hasattr(request, "body"):  # a requests.Request not yet prepared
            request = request.prepare()
        return str(request.method), str(request.url), dict(request.headers), _body_bytes(request.body)
    if isinstance(request, tuple) and len(request) == 4:
        method, url, headers, body = request
        if isinstance(method, str) and isinstance(url, str):
            return method, url, headers, _body_bytes(body)
    raise TypeError(f"check(request=...): expected {_ACCEPTED_REQUEST}, not {type(request).__name__}")


def _response_parts(response: Any) -> tuple[int, RawHeaders, Iterable[bytes], bool]:
    """``(status, headers, chunks, decoded)``: ``decoded`` when the library already undid content-encoding."""
    if _is_httpx(response, "Response"):
        if getattr(response, "is_stream_consumed", False) and not hasattr(response, "_content"):
            raise ValueError("check(response=...): the httpx response was streamed and not kept; judge it as it "
                             "streams instead (ValidatingTransport)")
        return response.status_code, _multi(response.headers), [response.read()], True
    if _is_requests(response) and hasattr(response, "status_code"):
        return int(response.status_code), dict(response.headers), [response.content], True
    if isinstance(response, tuple) and len(response) == 3 and isinstance(response[0], int):
        status, headers, body = response
        if body is None:
            return status, headers, [], False
        if isinstance(body, (bytes, bytearray, str)):
            return status, headers, [_body_bytes(bytes(body) if isinstance(body, bytearray) else body) or b""], False
        if isinstance(body, Iterable):
            return status, headers, (_chunk(c) for c in body), False
    raise TypeError(f"check(response=...): expected {_ACCEPTED_RESPONSE}, not {type(response).__name__}")


def _chunk(chunk: Any) -> bytes:
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    raise TypeError(f"check(response=...): a body chunk must be bytes, not {type(chunk).__name__}")


def check(request: Any, response: Any, *, api_version: str | None = None, party: str = "all") -> list[Finding]:
    """Every finding about one exchange, by the rules ``lint`` and ``conformance proxy`` apply.

    ``request``: an ``httpx.Request``, a ``requests.PreparedRequest``, or ``(method, url, headers, body)``.
    ``response``: an ``httpx.Response``, a ``requests.Response``, or ``(status, headers, body)`` where a
    stream's body may be bytes or an iterator of chunks (judged as they come). ``api_version`` judges by that
    profile (default: the version the request sent); ``party`` keeps ``client`` or ``server`` findings only.
    """
    judge = judge_for(api_version, party)
    method, url, headers, body = request_parts(request)
    status, response_headers, chunks, decoded = _response_parts(response)
    live = judge.start(method, url, headers, body)
    live.response(status, response_headers, decoded=decoded)
    for chunk in chunks:
        live.feed(chunk)
    return live.finish()


class StreamValidator:
    """A Messages API stream judged as its bytes arrive: :meth:`feed` each chunk, :meth:`finish` at the end.

    The same judge as ``conformance proxy``: a finding comes out of the :meth:`feed` that completed the event
    it is about; :meth:`finish` returns every finding of the stream (the early ones included).
    """

    def __init__(self, *, api_version: str | None = None, party: str = "all") -> None:
        self._live: LiveExchange = judge_for(api_version, party).stream()

    def feed(self, chunk: bytes) -> list[Finding]:
        """The findings of the events this chunk completed (usually none)."""
        return self._live.feed(_chunk(chunk))

    def finish(self) -> list[Finding]:
        """The stream ended: all its findings (calling it again returns the same list)."""
        return self._live.finish()

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.finish())


def secrets_in(headers: RawHeaders) -> list[str]:
    """The credentials a request carries (the key of ``x-api-key``, the token of ``Authorization``)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for name, value in pairs:
        if str(name).lower() in SECRET_REQUEST_HEADERS:
            for one in value if isinstance(value, (list, tuple)) else [value]:
                token = str(one).split(None, 1)[-1].strip() if str(one).strip() else ""
                if token:
                    out.append(token)
    return out


def output_redactor(seen: Iterable[str] = ()) -> Redactor:
    """What anything the library prints passes through: the keys it saw and the keys in the environment."""
    env = secrets_from_env(os.environ, ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
    return redactor(tuple(sorted({*env, *seen})))


def render_findings(findings: Sequence[Finding], labels: Mapping[tuple[str | None, int | None], str], *,
                    interactions: int, seen_secrets: Iterable[str] = ()) -> str:
    """Findings as ``conformance lint`` prints them (grouped by exchange), redacted."""
    from conformance.lint import LintResult
    from conformance.reports.text import render

    files = len({f for f, _ in labels}) or 1
    result = LintResult(findings=list(findings), files=files, interactions=interactions, labels=dict(labels))
    return output_redactor(seen_secrets).text(render(result))
