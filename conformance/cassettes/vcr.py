"""vcrpy cassettes (YAML or JSON serializer, incl. pydantic-ai's ``parsed_body`` variant) and go-vcr YAML.

vcrpy: ``interactions[].request{body, headers{name: [values]}, method, uri}`` and
``response{body{string}, headers, status{code, message}}``; bodies are text or YAML ``!!binary``
(often base64 of gzip bytes). pydantic-ai's serializer stores JSON bodies as ``parsed_body`` (a
parsed object) and filters headers to an allow-list. go-vcr: ``request{body, form, headers, url,
method}``, ``response{body, headers, status: "200 OK", code: 200, duration}`` with header names in
Go's canonical Title-Case.
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
from conformance.exchange import Exchange

_FIX = ("a cassette needs `interactions:` with a `request` and a `response` mapping each; "
        "the file may be truncated: re-record it")


def is_vcr(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("interactions"), list)


def _is_go_vcr(interactions: list[Any]) -> bool:
    for it in interactions:
        if not isinstance(it, Mapping):
            continue
        rq, rs = it.get("request"), it.get("response")
        if isinstance(rq, Mapping) and "url" in rq and "uri" not in rq:
            return True
        if isinstance(rs, Mapping) and ("code" in rs or "duration" in rs or isinstance(rs.get("status"), str)):
            return True
    return False


def _uses_parsed_body(interactions: list[Any]) -> bool:
    return any(
        isinstance(it, Mapping)
        and any(isinstance(it.get(side), Mapping) and "parsed_body" in it[side] for side in ("request", "response"))
        for it in interactions
    )


def read_vcr(src: Source, data: Mapping[str, Any], serializer: str) -> Recording:
    """``serializer`` is ``"yaml"`` or ``"json"`` (how the file was written)."""
    interactions = data.get("interactions")
    if not isinstance(interactions, list):
        raise src.error("no `interactions` list", "interactions", _FIX)
    go = _is_go_vcr(interactions)
    filtered = _uses_parsed_body(interactions)
    if go:
        src.note("go-vcr: header names stored in Go's canonical Title-Case (the case sent on the wire is unknown)")
    if filtered:
        src.note("pydantic-ai serializer: JSON bodies stored as parsed_body, headers filtered to an allow-list")
    if not interactions:
        src.note("cassette has no interactions")
    exchanges = [_exchange(src, it, i, go=go, filtered=filtered) for i, it in enumerate(interactions)]
    return src.recording("go-vcr" if go else f"vcrpy-{serializer}", exchanges)


def _exchange(src: Source, item: Any, index: int, *, go: bool, filtered: bool) -> Exchange:
    where = f"interactions[{index}]"
    item = expect_mapping(src, item, where)
    rq = expect_mapping(src, item.get("request"), f"{where}.request")
    rs = expect_mapping(src, item.get("response"), f"{where}.response")
    notes: list[str] = []

    req_headers = headers_from_mapping(rq.get("headers"))
    req_body = undo_compression(src, _stored_body(rq, "request", notes), req_headers, notes, f"{where}.request.body")
    url = rq.get("uri", rq.get("url"))
    if not isinstance(url, str) or not url:
        raise src.error("request has no `uri` (vcrpy) or `url` (go-vcr)", f"{where}.request", _FIX)
    method = rq.get("method")
    if not isinstance(method, str) or not method:
        raise src.error("request has no `method`", f"{where}.request.method", _FIX)

    resp_headers = headers_from_mapping(rs.get("headers"))
    resp_body = undo_compression(src, _stored_body(rs, "response", notes), resp_headers, notes,
                                 f"{where}.response.body")
    raw_status = rs.get("code") if go and rs.get("code") is not None else rs.get("status")
    status = status_code(src, raw_status, f"{where}.response.{'code' if go and 'code' in rs else 'status'}")
    if status is None:
        raise src.error("response has no status code", f"{where}.response.status", _FIX)

    if not len(req_headers):
        notes.append("request headers not recorded")
    if not len(resp_headers):
        notes.append("response headers not recorded (stripped by the recorder)")
    return http_exchange(src, index, method=method, url=url, url_where=f"{where}.request.uri",
                         req_headers=req_headers, req_body=req_body, resp_headers=resp_headers,
                         resp_body=resp_body, status=status, notes=notes,
                         response_headers_complete=None if not filtered else False)


def _stored_body(part: Mapping[str, Any], side: str, notes: list[str]) -> bytes | None:
    body = part.get("body")
    if isinstance(body, Mapping):
        if "string" in body:
            body = body["string"]
        else:
            notes.append(f"{side} body stored as a parsed object; re-serialised as compact JSON")
            return body_bytes(body)
    if body is not None:
        if isinstance(body, bytes):
            notes.append(f"{side} body stored as binary (YAML !!binary, base64)")
        return body_bytes(body)
    if "parsed_body" in part:
        # The exact bytes sent are lost: key order survives, whitespace and number spelling do not.
        notes.append(f"{side} body stored as parsed_body; re-serialised as compact JSON (not byte-exact)")
        return body_bytes(part["parsed_body"])
    return None
