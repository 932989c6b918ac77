"""HAR 1.2 (browser dev tools, mitmproxy, Playwright): ``log.entries[].request/response``.

Request body in ``postData.text``; response body in ``content.text``, base64 when
``content.encoding == "base64"``. Status 0 means the browser got no response.
http://www.softwareishard.com/blog/har-12-spec/
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from conformance.cassettes._common import (
    Recording,
    Source,
    body_bytes,
    expect_mapping,
    headers_from_pairs,
    http_exchange,
    status_code,
    undo_compression,
)
from conformance.exchange import Exchange, Headers

_FIX = "a HAR 1.2 file needs log.entries[] each with a request{method, url} and a response{status}; re-export it"


def is_har(data: Any) -> bool:
    return (isinstance(data, Mapping) and isinstance(data.get("log"), Mapping)
            and isinstance(data["log"].get("entries"), list))


def read_har(src: Source, data: Mapping[str, Any]) -> Recording:
    entries = data["log"]["entries"]
    if not entries:
        src.note("HAR file has no entries")
    return src.recording("har", [_exchange(src, e, i) for i, e in enumerate(entries)])


def _exchange(src: Source, entry: Any, index: int) -> Exchange:
    where = f"log.entries[{index}]"
    entry = expect_mapping(src, entry, where)
    rq = expect_mapping(src, entry.get("request"), f"{where}.request")
    rs = expect_mapping(src, entry.get("response"), f"{where}.response")
    notes: list[str] = []
    method, url = rq.get("method"), rq.get("url")
    if not isinstance(method, str) or not isinstance(url, str) or not url:
        raise src.error("request needs a `method` and a `url`", f"{where}.request", _FIX)

    req_headers = _headers(rq.get("headers"))
    post = rq.get("postData")
    req_body = None
    if isinstance(post, Mapping):
        req_body = _text(src, post, f"{where}.request.postData", notes, "request")
    req_body = undo_compression(src, req_body, req_headers, notes, f"{where}.request.postData")

    resp_headers = _headers(rs.get("headers"))
    content = rs.get("content")
    resp_body = None
    if isinstance(content, Mapping):
        resp_body = _text(src, content, f"{where}.response.content", notes, "response")
    if resp_body is None:
        notes.append("response body not saved in the HAR")
    resp_body = undo_compression(src, resp_body, resp_headers, notes, f"{where}.response.content")

    status = status_code(src, rs.get("status"), f"{where}.response.status")
    if status == 0:
        notes.append("HAR status 0: no response was received")
        status = None
    return http_exchange(src, index, method=method, url=url, url_where=f"{where}.request.url",
                         req_headers=req_headers, req_body=req_body, resp_headers=resp_headers,
                         resp_body=resp_body, status=status, notes=notes)


def _headers(value: Any) -> Headers:
    return headers_from_pairs(value) if isinstance(value, list) else Headers()


def _text(src: Source, part: Mapping[str, Any], where: str, notes: list[str], side: str) -> bytes | None:
    text = part.get("text")
    if text is None:
        return None
    if part.get("encoding") == "base64":
        if not isinstance(text, str):
            raise src.error("base64 `text` must be a string", f"{where}.text", _FIX)
        try:
            # Some exporters wrap base64 at 76 columns; anything else outside the alphabet is damage.
            out = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise src.error(f"`text` is marked base64 but does not decode: {exc}", f"{where}.text",
                            "re-export the HAR with content saved") from None
        notes.append(f"{side} body stored base64 in the HAR; decoded")
        return out
    return body_bytes(text)
