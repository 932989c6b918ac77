"""Response building: the error envelope, JSON bodies, and the headers every response carries."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from conformance.profiles import Profile

#: Error types for statuses a profile's table does not list (scripted faults, edge answers).
_FALLBACK_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                   403: "permission_error", 404: "not_found_error", 405: "invalid_request_error",
                   408: "timeout_error", 409: "conflict_error", 413: "request_too_large",
                   429: "rate_limit_error", 500: "api_error", 503: "overloaded_error", 504: "timeout_error",
                   529: "overloaded_error"}

_DEFAULT_MESSAGES = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API. "
                     "Please go to Plans & Billing to upgrade or purchase credits.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "conflict_error": "Conflict: the request conflicts with another in progress",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of requests has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}


_ENCODED_NAMES: dict[str, bytes] = {}
"""Header name -> lowercased latin-1 bytes (names come from the profiles and the code: a small, fixed set)."""


def _encoded_name(name: str) -> bytes:
    raw = _ENCODED_NAMES.get(name)
    if raw is None:
        raw = name.lower().encode("latin-1")
        if len(_ENCODED_NAMES) < 4096:
            _ENCODED_NAMES[name] = raw
    return raw


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Starlette's ``init_headers`` (same headers, same order) with the name encoding cached."""
        raw_headers = [] if headers is None else [(_encoded_name(k), v.encode("latin-1")) for k, v in headers.items()]
        populate_length = populate_type = True
        for name, _ in raw_headers:
            if name == b"content-length":
                populate_length = False
            elif name == b"content-type":
                populate_type = False
        if populate_length and not (self.status_code < 200 or self.status_code in (204, 304)):
            raw_headers.append((b"content-length", str(len(self.body)).encode("latin-1")))
        content_type = self.media_type
        if content_type is not None and populate_type:
            if content_type.startswith("text/") and "charset=" not in content_type.lower():
                content_type += "; charset=" + self.charset
            raw_headers.append((b"content-type", content_type.encode("latin-1")))
        self.raw_headers = raw_headers


def error_type_for_status(profile: Profile, status: int) -> str:
    """The profile's error type for ``status`` (its first entry), else the real API's."""
    for e in profile.errors:
        if e.status == status:
            return e.type
    return _FALLBACK_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def status_for_error_type(profile: Profile, error_type: str) -> tuple[int, str]:
    """(status, type) to answer ``error_type`` with; a type the profile lacks degrades to what it has.

    ``billing_error`` under a profile without it becomes 400 ``invalid_request_error``, which is
    what the API answered before 402 existed; others map through the fallback table.
    """
    known = profile.error_for_type(error_type)
    if known is not None:
        return known.status, known.type
    if error_type == "billing_error":
        return 400, error_type_for_status(profile, 400)
    for status, etype in _FALLBACK_TYPES.items():
        if etype == error_type:
            return status, error_type_for_status(profile, status)
    return 500, error_type_for_status(profile, 500)


def is_retryable(profile: Profile, status: int) -> bool:
    for e in profile.errors:
        if e.status == status:
            return e.retryable
    return status in (408, 409, 429) or status >= 500


def default_message(error_type: str) -> str:
    return _DEFAULT_MESSAGES.get(error_type, error_type.replace("_", " "))


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """An error the server is about to answer, before it is rendered (a mutant may reshape it)."""

    profile: Profile
    status: int
    error_type: str | None
    """``None``: the profile's type for ``status``."""
    message: str | None
    request_id: str
    headers: Mapping[str, str] | None = None
    should_retry: bool | None = None
    """``None``: whether the profile calls ``status`` retryable."""
    body_request_id: str | None = None
    """The body's ``request_id`` when it is not the header's (only a mutant makes them differ)."""


def render_error(a: ErrorAnswer) -> Response:
    """The faithful rendering: :func:`error_response`."""
    return error_response(a.profile, a.status, a.error_type, a.message, a.request_id, a.headers, a.should_retry,
                          a.body_request_id)


def error_response(profile: Profile, status: int, error_type: str | None, message: str | None, request_id: str,
                   headers: Mapping[str, str] | None = None, should_retry: bool | None = None,
                   body_request_id: str | None = None) -> Response:
    """An error in the Anthropic envelope, with ``request_id`` in body and header and ``x-should-retry``."""
    etype = error_type or error_type_for_status(profile, status)
    body = {"type": "error", "error": {"type": etype, "message": message or default_message(etype)},
            "request_id": request_id if body_request_id is None else body_request_id}
    out = dict(headers or {})
    out["request-id"] = request_id
    retry = is_retryable(profile, status) if should_retry is None else should_retry
    out["x-should-retry"] = "true" if retry else "false"
    return JSONBody(body, status_code=status, headers=out)
