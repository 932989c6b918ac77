"""http-snapshot JSON: the pytest plugin's recordings, kept as inline-snapshot external files.

``[{"request": {method, url, headers{name: value}, body}, "response": {status_code, headers, body}}, ...]``
in ``__inline_snapshot__/.../<uuid>.json`` (the Anthropic Python SDK's ``tests/lib``). A body is stored
parsed when it was JSON, as text otherwise (an SSE stream is its text). ``request`` is left out when the
test recorded without it. The recorder drops headers (auth, cookies, ``content-encoding``,
``transfer-encoding`` and any the test names; the SDK's tests keep only a few response headers), so no
exchange's response headers count as complete.
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

_FIX = ("an http-snapshot recording is a list of {request: {method, url, headers, body}, "
        "response: {status_code, headers, body}}; re-record it")
_FILTERED = "http-snapshot: headers filtered by the recorder (auth, content-encoding, and any the test excluded)"


def is_http_snapshot(data: Any) -> bool:
    """A non-empty list whose first item is exactly a response with a ``status_code`` and, when recorded, a
    request with a method and a URL: no other format is a list of these (nock's items hold ``scope``)."""
    if not isinstance(data, list) or not data:
        return False
    first = data[0]
    if not isinstance(first, Mapping) or "response" not in first or not set(first) <= {"request", "response"}:
        return False
    rq, rs = first.get("request"), first["response"]
    return (isinstance(rs, Mapping) and "status_code" in rs
            and (rq is None or (isinstance(rq, Mapping) and isinstance(rq.get("method"), str)
                                and isinstance(rq.get("url"), str))))


def read_http_snapshot(src: Source, data: list[Any]) -> Recording:
    src.note(_FILTERED)
    return src.recording("http-snapshot", [_exchange(src, item, i) for i, item in enumerate(data)])


def _exchange(src: Source, item: Any, index: int) -> Exchange:
    where = f"[{index}]"
    item = expect_mapping(src, item, where)
    rs = expect_mapping(src, item.get("response"), f"{where}.response")
    notes: list[str] = []
    resp_headers = headers_from_mapping(rs.get("headers"))
    resp_body = _body(src, rs, resp_headers, f"{where}.response", notes)
    status = status_code(src, rs.get("status_code"), f"{where}.response.status_code")
    if status is None:
        raise src.error("response has no status_code", f"{where}.response.status_code", _FIX)
    rq = item.get("request")
    if rq is None:
        notes.append("response only: the request was not recorded")
        return Exchange(request=None, response=HttpResponse(resp_headers, resp_body, status=status), file=src.file,
                        interaction=index, notes=notes, request_headers_complete=False,
                        response_headers_complete=False)
    rq = expect_mapping(src, rq, f"{where}.request")
    method, url = rq.get("method"), rq.get("url")
    if not isinstance(method, str) or not method:
        raise src.error("request has no `method`", f"{where}.request.method", _FIX)
    if not isinstance(url, str) or not url:
        raise src.error("request has no `url`", f"{where}.request.url", _FIX)
    req_headers = headers_from_mapping(rq.get("headers"))
    req_body = _body(src, rq, req_headers, f"{where}.request", notes)
    return http_exchange(src, index, method=method, url=url, url_where=f"{where}.request.url",
                         req_headers=req_headers, req_body=req_body, resp_headers=resp_headers, resp_body=resp_body,
                         status=status, notes=notes, response_headers_complete=False)


def _body(src: Source, part: Mapping[str, Any], headers: Headers, where: str, notes: list[str]) -> bytes | None:
    """``part``'s body as the bytes sent: text as stored, a parsed body re-serialised."""
    body = part.get("body")
    if body is not None and not isinstance(body, str):
        # The exact bytes sent are lost: key order survives, indentation and number spelling do not.
        notes.append(f"{where.rsplit('.', 1)[-1]} body stored parsed; re-serialised as compact JSON (not byte-exact)")
        try:
            body = body_bytes(body)
        except TypeError:  # orjson serialises at most 254 levels deep
            raise src.error("the body is nested too deep to re-serialise (over 254 levels)", f"{where}.body",
                            "no Messages API body nests that deep; the recording is damaged or hostile") from None
    return undo_compression(src, body_bytes(body), headers, notes, f"{where}.body")
