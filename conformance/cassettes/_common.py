"""Shared pieces of the format readers: the Recording type and body/header/status normalisation.

Every reader turns its format's storage back into what went over the wire: bodies as bytes
(undoing base64 ``!!binary``, gzip, parsed-JSON storage), headers with their original names,
status as an int. Anything a recorder changed on the way is written into notes, never hidden.
Broken input raises :class:`~conformance.errors.InputError` naming the file, the key and the fix.
"""

from __future__ import annotations

import codecs
import dataclasses
import zlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from conformance.errors import InputError
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.limits import ReadLimits, size_text

FORMATS: tuple[str, ...] = (
    "vcrpy-yaml",
    "vcrpy-json",
    "go-vcr",
    "nock",
    "har",
    "http-snapshot",
    "ddtrace-json",
    "openinference-json",
    "sse",
    "jsonl-events",
    "json-message",
)
"""Every format :func:`conformance.cassettes.read_recording` can return, in the order it documents them."""

FORMATS_FIX = (
    "supported: vcrpy cassettes (YAML or JSON), go-vcr YAML, nock JSON, HAR 1.2, http-snapshot JSON, "
    "dd-trace test-agent JSON, openinference JS JSON, raw SSE text, one JSON stream event per line, "
    "a bare JSON Message/error body"
)

_GZIP_MAGIC = b"\x1f\x8b"
_AUTH_HEADERS = ("x-api-key", "authorization")


@dataclasses.dataclass
class Recording:
    """One recording file read into exchanges, with the format it was detected as."""

    file: str
    format: str
    exchanges: list[Exchange]
    notes: list[str] = dataclasses.field(default_factory=list)


class Source:
    """The file being read: its name for errors, the limits reading it obeys, the file-level notes so far."""

    def __init__(self, file: str, limits: ReadLimits | None = None) -> None:
        self.file = file
        self.limits = limits or ReadLimits()
        self.decompressed = 0
        """Bytes the file's compressed bodies have expanded to so far (bounded by ``max_body_bytes``)."""
        self.notes: list[str] = []

    def error(self, message: str, where: str | None = None, fix: str | None = None) -> InputError:
        return InputError(message, file=self.file, where=where, fix=fix)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def recording(self, fmt: str, exchanges: list[Exchange]) -> Recording:
        # File-level notes first, then each distinct per-exchange quirk once, so a reader of the
        # Recording sees every quirk without walking the exchanges.
        notes = list(self.notes)
        for ex in exchanges:
            for n in ex.notes:
                if n not in notes:
                    notes.append(n)
        return Recording(self.file, fmt, exchanges, notes)


def expect_mapping(src: Source, value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        kind = "missing" if value is None else f"a {type(value).__name__}"
        raise src.error(f"expected a mapping here, found {kind}", where,
                        "the recording is damaged or not in the format it looks like; re-record it")
    return value


def scalar_text(value: Any) -> str:
    """A header value as text; YAML may have turned ``true`` or ``105`` into non-strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def headers_from_mapping(value: Any) -> Headers:
    """``{name: value}`` or ``{name: [values]}`` (vcrpy, go-vcr, dd-trace, nock ``rawHeaders`` as a dict)."""
    if not isinstance(value, Mapping):
        return Headers()
    pairs: list[tuple[str, str]] = []
    for name, v in value.items():
        if isinstance(v, (list, tuple)):
            pairs.extend((str(name), scalar_text(x)) for x in v)
        elif v is not None:
            pairs.append((str(name), scalar_text(v)))
    return Headers(pairs)


def headers_from_flat_list(value: list[Any]) -> Headers:
    """Node's ``rawHeaders``: ``[name, value, name, value, ...]``."""
    return Headers((str(value[i]), scalar_text(value[i + 1])) for i in range(0, len(value) - 1, 2))


def headers_from_pairs(items: Iterable[Any]) -> Headers:
    """HAR: ``[{"name": ..., "value": ...}, ...]``."""
    return Headers((str(h.get("name", "")), scalar_text(h.get("value", "")))
                   for h in items if isinstance(h, Mapping))


def status_code(src: Source, value: Any, where: str) -> int | None:
    """``200``, ``"200"``, ``"200 OK"`` (go-vcr) or ``{"code": 200, "message": "OK"}`` (vcrpy)."""
    if isinstance(value, Mapping):
        value = value.get("code")
    if value is None:
        return None
    if isinstance(value, bool):
        raise src.error(f"status is {value!r}, not an HTTP status code", where, "set the status to e.g. 200")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        head = value.strip().split(" ", 1)[0]
        if head.isdigit():
            return int(head)
    raise src.error(f"status {value!r} is not an HTTP status code", where, "set the status to e.g. 200 or '200 OK'")


def body_bytes(value: Any) -> bytes | None:
    """A stored body as bytes: text as UTF-8, ``!!binary`` as is, parsed JSON re-serialised."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        # surrogatepass: a JSON/YAML string may carry a lone surrogate escape; keep it rather than fail.
        return value.encode("utf-8", "surrogatepass")
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def undo_compression(src: Source, body: bytes | None, headers: Headers, notes: list[str], where: str) -> bytes | None:
    """Gunzip a body stored compressed; note when the Content-Encoding header and the body disagree.

    Detection is by the gzip magic bytes, not by the header: recorders keep ``Content-Encoding: gzip``
    on bodies they stored decoded (dd-trace) and store gzip bytes under any header. Decompression is
    incremental and stops at :attr:`ReadLimits.max_body_bytes` (for all the file's bodies together): a
    few megabytes of gzip can hold gigabytes, and beyond the limit the body is an input error naming
    ``where``.
    """
    encoding = (headers.get("content-encoding") or "").strip().lower()
    if body is None or not body:
        return body
    if body.startswith(_GZIP_MAGIC):
        try:
            out = _decompress(src, body, 16 + zlib.MAX_WBITS, "gzip", where)
        except (EOFError, zlib.error) as exc:
            notes.append(f"body starts with the gzip magic bytes but does not decompress ({exc}); kept as stored")
            return body
        notes.append("body stored gzip-compressed by the recorder; decompressed")
        return out
    if encoding == "gzip":
        notes.append("Content-Encoding: gzip kept but body stored decoded")
    elif encoding == "deflate":
        try:
            out = _decompress(src, body, zlib.MAX_WBITS, "deflate", where)
        except (EOFError, zlib.error):
            notes.append("Content-Encoding: deflate kept but body stored decoded")
            return body
        notes.append("body stored deflate-compressed by the recorder; decompressed")
        return out
    elif encoding in ("br", "zstd"):
        if _looks_textual(body):
            notes.append(f"Content-Encoding: {encoding} kept but body stored decoded")
        else:
            notes.append(f"body is {encoding}-compressed; this reader cannot decompress it, kept as stored")
    return body


def _decompress(src: Source, data: bytes, wbits: int, kind: str, where: str) -> bytes:
    """``data`` decompressed (every member of a multi-member gzip), within what is left of the file's
    ``max_body_bytes``.

    Raises ``zlib.error``/``EOFError`` for damaged or truncated data, as ``gzip.decompress`` would.
    """
    # One budget for the whole file: a hundred small bombs are as heavy as one big one.
    limit = src.limits.max_body_bytes - src.decompressed
    parts: list[bytes] = []
    total = 0
    stream = zlib.decompressobj(wbits)
    pending = data
    while True:
        piece = stream.decompress(pending, limit + 1 - total)
        parts.append(piece)
        total += len(piece)
        if total > limit:
            whole = size_text(src.limits.max_body_bytes)
            what = (f"the {kind} body decompresses to more than {whole}" if not src.decompressed else
                    f"the {kind} body takes the file's decompressed bodies past {whole}")
            raise src.error(what, where, "raise --max-body-bytes if the recording is genuine; a few MB of "
                                         "compressed data that expands past the limit is a decompression bomb")
        if stream.eof:
            rest = stream.unused_data
            if not rest:
                break
            if kind != "gzip" or not rest.startswith(_GZIP_MAGIC):
                raise zlib.error(f"{len(rest)} bytes of trailing data after the compressed stream")
            stream, pending = zlib.decompressobj(wbits), rest  # the next gzip member
            continue
        tail = stream.unconsumed_tail
        if not piece and len(tail) == len(pending):
            raise EOFError("compressed data ended before the end-of-stream marker")
        pending = tail
    src.decompressed += total
    return b"".join(parts)


def _looks_textual(body: bytes) -> bool:
    try:
        # Incremental, so a multi-byte character cut at the 512th byte is not mistaken for binary.
        codecs.getincrementaldecoder("utf-8")().decode(body[:512], final=False)
    except UnicodeDecodeError:
        return False
    return True


def checked_url(src: Source, url: str, where: str) -> str:
    """The URL as recorded (query kept); rules split it later, so refuse one that cannot be split."""
    try:
        urlsplit(url)
    except ValueError as exc:
        raise src.error(f"request URL {url!r} is malformed: {exc}", where, "fix the URL in the recording") from None
    return url


def has_auth_header(headers: Headers) -> bool:
    return any(name in headers for name in _AUTH_HEADERS)


_REPRESENTATION = frozenset({"content-type", "content-length", "content-encoding", "transfer-encoding", "connection",
                             "keep-alive", "date"})
"""Headers about the body (and the date, which any HTTP stack adds): a recording that keeps only these was
stripped or written by hand; a real answer of the API, or of a gateway, carries more of its own."""


def response_headers_complete(headers: Headers) -> bool:
    """Whether recorded response headers can be judged as what the server sent: any header a server adds
    beyond the body's own and the date (``server``, ``request-id``, rate limits ...). A recorder that kept only
    ``Content-Type`` dropped the rest, and a missing ``request-id`` there says nothing about the server."""
    return any(name.lower() not in _REPRESENTATION for name, _ in headers)


def http_exchange(src: Source, index: int, *, method: str, url: str, url_where: str, req_headers: Headers,
                  req_body: bytes | None, resp_headers: Headers, resp_body: bytes | None, status: int | None,
                  notes: list[str], response_headers_complete: bool | None = None) -> Exchange:
    """One recorded request and response, as every full-HTTP reader builds it.

    Recorders filter the auth header by default: without it the request headers are not the whole story.
    The response headers count as complete when a server's own were recorded (:func:`response_headers_complete`),
    unless the reader knows better.
    """
    return Exchange(
        request=HttpRequest(req_headers, req_body, method=method.upper(), url=checked_url(src, url, url_where)),
        response=HttpResponse(resp_headers, resp_body, status=status),
        file=src.file,
        interaction=index,
        notes=notes,
        request_headers_complete=has_auth_header(req_headers),
        response_headers_complete=(_headers_complete(resp_headers, notes) if response_headers_complete is None
                                   else response_headers_complete),
    )


def _headers_complete(headers: Headers, notes: list[str]) -> bool:
    complete = response_headers_complete(headers)
    if len(headers) and not complete:
        notes.append("response headers reduced to the body's own (stripped by the recorder or written by hand): "
                     "header rules not applied")
    return complete
