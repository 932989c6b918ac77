"""Single-exchange JSON files: dd-trace test-agent cassettes, openinference JS cassettes, bare bodies.

- ``ddtrace-json``: ``{"request": {method, url, headers{flat}, body}, "response": {status{code,
  message}, headers{flat}, body}}`` (the dd-trace test agent's VCR proxy). Known quirk: it keeps
  ``Content-Encoding: gzip`` while storing the body decoded.
- ``openinference-json``: ``{"status", "headers", "body"}``, the response only.
- ``json-message``: a bare response body (a Message, an error envelope, a count_tokens result, a
  model or a models list), e.g. the Vercel AI SDK fixtures: no request, no status, no headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.cassettes._common import (
    Recording,
    Source,
    body_bytes,
    expect_mapping,
    headers_from_mapping,
    http_exchange,
    status_code,
    undo_compression,
)
from conformance.exchange import Exchange, Headers, HttpResponse

BODY_TYPES = frozenset({"message", "error", "model"})
"""``type`` values of whole response bodies (``error`` is also a stream event type)."""


def is_ddtrace(data: Any) -> bool:
    """Exactly a request with a method and a URL, and a response with a status: any other JSON holding a
    ``request`` and a ``response`` (one vcrpy interaction cut out of a cassette, an API log line) is not one."""
    if not isinstance(data, Mapping) or set(data) != {"request", "response"}:
        return False
    rq, rs = data["request"], data["response"]
    return (isinstance(rq, Mapping) and isinstance(rq.get("method"), str) and isinstance(rq.get("url"), str)
            and isinstance(rs, Mapping) and "status" in rs)


def is_openinference(data: Any) -> bool:
    return (isinstance(data, Mapping) and "status" in data and "body" in data
            and set(data) <= {"status", "headers", "body", "statusText", "url"})


def is_bare_body(data: Any) -> bool:
    """A response body of one of the API's own shapes; other JSON (package.json, ...) is not a recording."""
    if not isinstance(data, Mapping):
        return False
    kind = data.get("type")
    if kind in BODY_TYPES or (isinstance(kind, str) and "role" in data and "content" in data):
        return True
    if set(data) == {"input_tokens"} or (set(data) >= {"data", "has_more"} and isinstance(data["data"], list)):
        return True
    return False


def read_ddtrace(src: Source, data: Mapping[str, Any]) -> Recording:
    rq = expect_mapping(src, data["request"], "request")
    rs = expect_mapping(src, data["response"], "response")
    notes: list[str] = []
    method, url = rq.get("method"), rq.get("url")
    if not isinstance(method, str) or not isinstance(url, str) or not url:
        raise src.error("request needs a `method` and a `url`", "request",
                        "a dd-trace cassette is {request: {method, url, headers, body}, response: {...}}")
    req_headers = headers_from_mapping(rq.get("headers"))
    req_body = undo_compression(src, body_bytes(rq.get("body")), req_headers, notes, "request.body")
    resp_headers = headers_from_mapping(rs.get("headers"))
    resp_body = undo_compression(src, body_bytes(rs.get("body")), resp_headers, notes, "response.body")
    status = status_code(src, rs.get("status"), "response.status")
    ex = http_exchange(src, 0, method=method, url=url, url_where="request.url", req_headers=req_headers,
                       req_body=req_body, resp_headers=resp_headers, resp_body=resp_body, status=status,
                       notes=notes)
    return src.recording("ddtrace-json", [ex])


def read_openinference(src: Source, data: Mapping[str, Any]) -> Recording:
    headers = headers_from_mapping(data.get("headers"))
    notes = ["response only: the request was not recorded"]
    body = undo_compression(src, body_bytes(data.get("body")), headers, notes, "body")
    ex = Exchange(
        request=None,
        response=HttpResponse(headers, body, status=status_code(src, data.get("status"), "status")),
        file=src.file,
        interaction=0,
        notes=notes,
        request_headers_complete=False,
        # The recorder keeps only content-type.
        response_headers_complete=False,
    )
    return src.recording("openinference-json", [ex])


def read_bare_body(src: Source, raw: bytes) -> Recording:
    ex = Exchange(
        request=None,
        # The content type is implied by the file; nothing else about the HTTP exchange was kept.
        response=HttpResponse(Headers([("content-type", "application/json")]), raw, status=None),
        file=src.file,
        interaction=0,
        notes=["bare response body: no request, status or headers recorded"],
        request_headers_complete=False,
        response_headers_complete=False,
    )
    return src.recording("json-message", [ex])
