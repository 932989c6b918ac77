"""Bodies against the profile's schemas, with paths copied from :class:`conformance.schemas.Violation`.

Responses: ``message`` for a 2xx ``/v1/messages`` JSON body, ``error`` for any
status >= 400, ``count_tokens_response``, ``models_list`` and ``model``.
Requests: ``request`` and ``count_tokens_request``. Streams are the stream
rules' business. Response schemas are open (unknown fields and block types are
forward-compatible); a string the schema annotates with ``x-known-values`` but
whose value it does not list is reported as info ``response.unknown-value``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.endpoints import endpoint_named
from conformance.exchange import Exchange, endpoint_of
from conformance.findings import CLIENT, Finding, Severity, error, info, warning
from conformance.profiles import Profile
from conformance.rules.base import Check, Context, RuleInfo
from conformance.schemas import SchemaSet, is_unknown_field, split_profile_lag

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("body.not-json", Severity.ERROR, "a JSON response body is JSON"),
    RuleInfo("body.response-schema", Severity.ERROR, "the response body matches the profile's schema"),
    RuleInfo("body.request-not-json", Severity.ERROR, "a JSON request body is JSON", party=CLIENT),
    RuleInfo("body.request-schema", Severity.ERROR, "the request body matches the profile's schema", party=CLIENT),
    RuleInfo("schema.unknown-request-field", Severity.WARNING,
             "a request field, or block or tool type, the profile does not know, which the server accepted "
             "(the profile may lag the API)",
             party=CLIENT),
    RuleInfo("response.unknown-value", Severity.INFO,
             "a response value the profile does not know yet (forward compatible)"),
)



def response_shape(exchange: Exchange, profile: Profile) -> str | None:
    """The schema shape the (non-stream) response body must match, or None."""
    resp = exchange.response
    if resp is None or exchange.is_stream:
        return None
    status = resp.status
    if status is not None and status >= 400:
        return "error"
    if status is not None and not 200 <= status < 300:
        return None
    ep = endpoint_of(exchange)
    return endpoint_named(ep).response_shape if ep else None


def _envelope_optional(profile: Profile, status: int | None) -> bool:
    return status is not None and any(e.status == status and not e.envelope for e in profile.errors)


def response_body_matches_schema(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    shape = response_shape(exchange, profile)
    resp = exchange.response
    if shape is None or resp is None:
        return
    body = resp.json
    lenient = shape == "error" and _envelope_optional(profile, resp.status)
    if resp.json_error is not None:
        if resp.body is None or resp.body == b"":
            # Recorders drop bodies they cannot store; an absent body is a gap in the record.
            if exchange.response_headers_complete and not lenient and resp.status is not None:
                yield error("body.not-json", f"the {shape} body is empty", part="response.body",
                            expected="JSON", actual=resp.json_error)
            return
        make = info if lenient else error
        yield make("body.not-json", f"the {shape} body is not JSON: {resp.json_error}", part="response.body",
                   expected="JSON", actual=resp.body[:80].decode("utf-8", "replace"))
        return
    if not profile.schemas.has(shape):
        return
    if lenient and not (isinstance(body, dict) and body.get("type") == "error"):
        yield info("body.not-json", f"status {resp.status} body is not the error envelope (allowed here)",
                   part="response.body")
        return
    for v in profile.schemas.violations(shape, body):
        yield error("body.response-schema", f"{v.dotted or '(root)'}: {v.message}", path=v.path,
                    part="response.body", expected=v.expected, actual=v.actual)
    yield from unknown_values(profile.schemas, shape, body, "response.body")


def request_body_matches_schema(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    req = exchange.request
    if req is None or req.method.upper() != "POST":
        return
    ep = endpoint_of(exchange)
    shape = endpoint_named(ep).request_shape if ep else None
    if shape is None or not profile.schemas.has(shape):
        return
    if req.json_error is not None:
        if req.body:  # an absent body is the recorder's doing
            yield error("body.request-not-json", f"the request body is not JSON: {req.json_error}",
                        part="request.body", expected="JSON", actual=req.body[:80].decode("utf-8", "replace"))
        return
    accepted = exchange.response is not None and exchange.response.status is not None \
        and 200 <= exchange.response.status < 300
    found = profile.schemas.violations(shape, req.json)
    if accepted:
        # The server took it: a field or a block/tool type this profile does not know yet is evidence that the
        # profile lags the API, not that the client broke it.
        lag, found = split_profile_lag(found, profile.schemas.type_values(shape))
        for v in lag:
            what = "not" if is_unknown_field(v) else f"type {v.actual!r} is not"
            yield warning("schema.unknown-request-field",
                          f"{v.dotted}: {what} in profile {profile.version}'s request schema, but the server "
                          "accepted it (the profile may lag the API)", path=v.path, part="request.body",
                          actual=v.actual)
    for v in found:
        yield error("body.request-schema", f"{v.dotted or '(root)'}: {v.message}", path=v.path,
                    part="request.body", expected=v.expected, actual=v.actual)


def unknown_values(schemas: SchemaSet, shape: str, instance: Any, part: str) -> Iterator[Finding]:
    """Info for every string the schema marks ``x-known-values`` but does not list."""
    for u in schemas.unknown_values(shape, instance):
        yield info("response.unknown-value", f"{u.value!r} is not a value profile {schemas.version} knows",
                   path=u.path, part=part, expected=list(u.known), actual=u.value)


CHECKS: tuple[Check, ...] = (response_body_matches_schema, request_body_matches_schema)
