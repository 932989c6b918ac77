"""Error responses: status <-> ``error.type`` for the profile's table, and request ids.

The envelope's *shape* is the ``error`` schema's business (:mod:`conformance.rules.body`);
here we check what a schema cannot: that the type agrees with the status both
ways, and that the body's ``request_id`` and the ``request-id`` header agree.
In-stream ``error`` events use :func:`error_type_matches_status` from the stream rules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

from conformance.exchange import Exchange
from conformance.findings import Finding, Severity, error, info
from conformance.profiles import Profile
from conformance.rules.base import Check, Context, RuleInfo
from conformance.rules.ratelimit import header_path, is_redacted

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("error.status-type", Severity.ERROR,
             "error.type is one the profile maps to the response status (and back)"),
    RuleInfo("error.unknown-type", Severity.INFO, "error.type is not in the profile's error table"),
    RuleInfo("error.unknown-status", Severity.INFO, "an error status the profile's table does not list"),
    RuleInfo("error.request-id-match", Severity.ERROR,
             "the body's request_id equals the request-id header"),
    RuleInfo("error.request-id-missing", Severity.ERROR, "every response carries a request-id header"),
    RuleInfo("error.body-request-id-missing", Severity.INFO,
             "error bodies carry a top-level request_id (the real API added it later)"),
)


class TypeMatch(enum.Enum):
    """How an ``error.type`` relates to an HTTP status in a profile."""

    MATCH = "match"
    WRONG_STATUS = "wrong-status"
    """The type is in the table, but for another status."""
    UNKNOWN_TYPE = "unknown-type"
    """The profile does not know this type (forward compatible: never an error)."""
    UNKNOWN_STATUS = "unknown-status"
    """The status is not in the table and the type cannot tell us more."""


def error_type_matches_status(profile: Profile, status: int | None, error_type: str) -> TypeMatch:
    """Whether ``error_type`` is what the profile says ``status`` carries.

    ``status`` None (an in-stream error, whose HTTP status was 200) only asks whether
    the type is known. Pure; shared with the stream rules and the reference server.
    """
    known = profile.error_for_type(error_type)
    if known is None:
        return TypeMatch.UNKNOWN_TYPE
    if status is None:
        return TypeMatch.MATCH
    expected = profile.error_types_for_status(status)
    if error_type in expected:
        return TypeMatch.MATCH
    if not expected:
        # A status the table lacks (405, 503 from a proxy ...): nothing to compare with.
        return TypeMatch.UNKNOWN_STATUS
    return TypeMatch.WRONG_STATUS


def error_type_of(body: Any) -> str | None:
    """``error.type`` of an error envelope, or ``None`` when ``body`` has none."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        t = body["error"].get("type")
        return t if isinstance(t, str) else None
    return None


def error_message_of(body: Any) -> str:
    """``error.message`` of an error envelope, or ``""``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        m = body["error"].get("message")
        return m if isinstance(m, str) else ""
    return ""


def error_type_agrees_with_status(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    resp = exchange.response
    if resp is None or resp.status is None or exchange.is_stream:
        return
    status = resp.status
    etype = error_type_of(resp.json)
    if status < 400:
        if etype is not None and isinstance(resp.json, dict) and resp.json.get("type") == "error":
            yield error("error.status-type", f"an error envelope ({etype}) sent with success status {status}",
                        path="$.error.type", part="response.body", expected=">= 400", actual=status)
        return
    if etype is None:
        if not profile.error_types_for_status(status):
            yield info("error.unknown-status", f"status {status} is not in profile {profile.version}'s error table",
                       part="exchange", actual=status)
        return  # no envelope: the body rules report that
    match = error_type_matches_status(profile, status, etype)
    if match is TypeMatch.UNKNOWN_TYPE:
        yield info("error.unknown-type", f"error type {etype!r} is not in profile {profile.version}'s table",
                   path="$.error.type", part="response.body", actual=etype)
    elif match is TypeMatch.UNKNOWN_STATUS:
        yield info("error.unknown-status", f"status {status} is not in profile {profile.version}'s error table",
                   part="exchange", actual=status)
    elif match is TypeMatch.WRONG_STATUS:
        known = profile.error_for_type(etype)
        yield error("error.status-type",
                    f"status {status} carries error type {etype!r}, which the profile maps to "
                    f"{known.status if known else '?'}",
                    path="$.error.type", part="response.body",
                    expected=sorted(profile.error_types_for_status(status)), actual=etype)


def request_ids_agree(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    resp = exchange.response
    if resp is None or resp.status is None:
        return
    header = resp.headers.get("request-id")
    if header is None and exchange.response_headers_complete:
        yield error("error.request-id-missing", "the response has no request-id header",
                    path=header_path("request-id"), part="response.headers", expected="req_...")
    if resp.status < 400 or exchange.is_stream:
        return
    body = resp.json
    if not (isinstance(body, dict) and body.get("type") == "error"):
        return
    rid = body.get("request_id")
    if rid is None:
        yield info("error.body-request-id-missing", "the error body has no top-level request_id",
                   path="$.request_id", part="response.body")
        return
    if header is None or is_redacted(header) or (isinstance(rid, str) and is_redacted(rid)):
        return
    if rid != header:
        yield error("error.request-id-match", "the body's request_id differs from the request-id header",
                    path="$.request_id", part="response.body", expected=header, actual=rid)


CHECKS: tuple[Check, ...] = (error_type_agrees_with_status, request_ids_agree)
