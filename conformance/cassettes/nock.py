"""nock recorder JSON (``nock.recorder`` / nock back): a list of request definitions.

Each definition: ``scope`` (``https://api.anthropic.com:443``) + ``path`` (with the query),
``method``, ``body`` (the request, as a string or parsed JSON), ``status``, ``response`` (a parsed
JSON object, a string, or — for binary/gzip bodies — a hex string or a list of hex chunks with
``responseIsBinary``), ``rawHeaders`` (a flat ``[name, value, ...]`` list, or a dict in newer
versions) or ``headers``, and optionally ``reqheaders`` (request headers; not recorded by default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conformance.cassettes._common import (
    Recording,
    Source,
    body_bytes,
    expect_mapping,
    headers_from_flat_list,
    headers_from_mapping,
    http_exchange,
    status_code,
    undo_compression,
)
from conformance.exchange import Exchange, Headers

_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})+\Z")
_FIX = "a nock definition needs `scope`, `path`, `method`, `status` and `response`; re-record it"


def is_nock(data: Any) -> bool:
    return (isinstance(data, list) and bool(data)
            and all(isinstance(d, Mapping) and "scope" in d and "path" in d for d in data))


def read_nock(src: Source, data: list[Any]) -> Recording:
    return src.recording("nock", [_exchange(src, d, i) for i, d in enumerate(data)])


def _exchange(src: Source, item: Any, index: int) -> Exchange:
    where = f"[{index}]"
    d = expect_mapping(src, item, where)
    notes: list[str] = []
    scope, path = d.get("scope"), d.get("path")
    if not isinstance(scope, str) or not isinstance(path, str):
        raise src.error("`scope` and `path` must be strings", where, _FIX)
    method = d.get("method")
    if not isinstance(method, str) or not method:
        raise src.error("definition has no `method`", f"{where}.method", _FIX)

    req_headers = headers_from_mapping(d.get("reqheaders"))
    if not len(req_headers):
        notes.append("request headers not recorded (nock records them only with enable_reqheaders_recording)")
    req_body = body_bytes(d.get("body"))
    if req_body == b"" and method.upper() in ("GET", "HEAD", "DELETE"):
        req_body = None

    resp_headers = _response_headers(d)
    resp_body = _response_body(d, notes)
    resp_body = undo_compression(src, resp_body, resp_headers, notes, f"{where}.response")
    status = status_code(src, d.get("status"), f"{where}.status")
    if status is None:
        # nock's own default when a definition omits the status.
        status = 200
        notes.append("no status recorded; nock replays such a definition as 200")
    return http_exchange(src, index, method=method, url=scope.rstrip("/") + path, url_where=f"{where}.path",
                         req_headers=req_headers, req_body=req_body, resp_headers=resp_headers,
                         resp_body=resp_body, status=status, notes=notes)


def _response_headers(d: Mapping[str, Any]) -> Headers:
    raw = d.get("rawHeaders")
    if isinstance(raw, list):
        return headers_from_flat_list(raw)
    if isinstance(raw, Mapping):
        return headers_from_mapping(raw)
    return headers_from_mapping(d.get("headers"))


def _response_body(d: Mapping[str, Any], notes: list[str]) -> bytes | None:
    resp = d.get("response")
    if resp is None:
        return None
    binary = bool(d.get("responseIsBinary"))
    if isinstance(resp, list) and resp and all(isinstance(c, str) and _HEX.match(c) for c in resp):
        # Older nock stored compressed responses as a list of hex-encoded chunks.
        notes.append("response stored as hex-encoded chunks by nock; decoded")
        return b"".join(bytes.fromhex(c) for c in resp)
    if isinstance(resp, list) and resp and all(isinstance(c, str) for c in resp):
        # Text chunks (e.g. an SSE stream recorded chunk by chunk): the body is their concatenation.
        notes.append("response stored as a list of text chunks by nock; joined")
        return "".join(resp).encode("utf-8", "surrogatepass")
    if isinstance(resp, str):
        if binary and _HEX.match(resp):
            notes.append("response stored hex-encoded (responseIsBinary); decoded")
            return bytes.fromhex(resp)
        return body_bytes(resp)
    notes.append("response stored as parsed JSON by nock; re-serialised as compact JSON (not byte-exact)")
    return body_bytes(resp)
