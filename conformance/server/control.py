"""The control API (test-only): scripted faults, the request log, resets and the clock; token-guarded.

    POST /_conformance/scenarios      script the next responses of a key (see scenarios.py); appending no
                                      steps answers how many are still pending
    GET  /_conformance/requests?key=  what each key sent, keys fingerprinted, everything redacted; each entry
                                      with its arrival time, the status, request id and retry headers answered
    POST /_conformance/reset          forget scenarios, the log and rate-limit state (``{"key": ...}`` for one)
    POST /_conformance/clock          move the rate-limit clock: ``{"advance": 61}`` or ``{"reset": true}``

Every call needs the server's control token (``x-conformance-control-token: <token>`` or
``Authorization: Bearer <token>``; conformance/control.py builds the header): without it the answer is
401 ``authentication_error``, whatever the path, so the API neither takes orders from nor shows keys to
whoever can reach the port. Each payload is checked against a schema with bounds (:data:`SCHEMAS`)
and a body is read up to :data:`MAX_CONTROL_BODY` bytes: anything else is a 400 (413 for the size) in the
error envelope whose message names the field, and the server's state is left as it was.

The clock lets a run "wait" for ``retry-after`` without sleeping: the rate limiter reads
``config.clock() + offset``; ``{"advance": S}`` (0 <= S <= a year) adds S to the offset, ``{"reset": true}``
sets it back to 0 (both at once: reset first). The offset never exceeds :data:`MAX_CLOCK_OFFSET`, so reset
headers stay RFC 3339 times. The answer is ``200 {"offset": <seconds now added>}``. The offset is per
server (under xdist, per worker) and ``/_conformance/reset`` leaves it alone.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import jsonschema
import orjson
from starlette.requests import Request
from starlette.responses import Response

from conformance.control import CONTROL_TOKEN_HEADER, key_fingerprint
from conformance.server.responses import JSONBody
from conformance.server.scenarios import ScenarioError, parse_step
from conformance.server.state import state_of

PREFIX = "/_conformance/"
MAX_CONTROL_BODY = 64 * 1024
"""A control payload is small: a script of 1000 steps fits in a fraction of this."""
MAX_ADVANCE = 366 * 86400
MAX_CLOCK_OFFSET = 10 * 365 * 86400
"""Ten years: far beyond any retry-after, far below where reset times stop being RFC 3339 (year 9999)."""
_KEY = {"type": "string", "minLength": 1, "maxLength": 512}

STEP_SCHEMA: dict[str, Any] = {
    "type": "object", "minProperties": 1, "additionalProperties": False,
    "properties": {
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "retry_after": {"type": "number", "minimum": 0, "maximum": 86400},
        "retry_after_ms": {"type": "number", "minimum": 0, "maximum": 86_400_000},
        "should_retry": {"type": "boolean"},
        "without_should_retry": {"type": "boolean"},
        "error_type": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "message": {"type": "string", "maxLength": 2000},
        "stream_error_after": {"type": "integer", "minimum": 0, "maximum": 10_000},
        "drop_after": {"type": "integer", "minimum": 0, "maximum": 10_000},
        "delay_ms": {"type": "number", "minimum": 0, "maximum": 60_000},
        "unknown_events": {"type": "boolean"},
        "ok": {"type": "boolean"},
        "repeat": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
}
"""One scripted step: every field optional, every number bounded (a minute of delay at most per event)."""

SCHEMAS: dict[str, dict[str, Any]] = {
    "scenarios": {"type": "object", "required": ["key", "responses"], "additionalProperties": False,
                  "properties": {"key": _KEY, "append": {"type": "boolean"},
                                 "responses": {"type": "array", "maxItems": 1000, "items": STEP_SCHEMA}}},
    "reset": {"type": "object", "additionalProperties": False, "properties": {"key": _KEY}},
    "clock": {"type": "object", "minProperties": 1, "additionalProperties": False,
              "properties": {"advance": {"type": "number", "minimum": 0, "maximum": MAX_ADVANCE},
                             "reset": {"type": "boolean"}}},
}
_MAIN_FIELD = {"scenarios": "key", "reset": "key", "clock": "advance"}
"""The field a message names when the body as a whole is wrong (not an object, or empty)."""
_VALIDATORS = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _envelope(status: int, error_type: str, message: str) -> Response:
    return JSONBody({"type": "error", "error": {"type": error_type, "message": message}}, status_code=status)


def authorized(headers: Mapping[str, str], token: str) -> bool:
    """Whether the headers carry ``token`` (constant-time comparison)."""
    sent = headers.get(CONTROL_TOKEN_HEADER)
    if sent is None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        sent = value.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), token.encode())


def unauthorized() -> Response:
    return _envelope(401, "authentication_error",
                     "control API: missing or wrong control token (send the token printed at start-up as "
                     f"{CONTROL_TOKEN_HEADER}: <token>, or Authorization: Bearer <token>)")


def _message(error: jsonschema.ValidationError, payload: str) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.schema, Mapping):
        known = error.schema.get("properties", {})
        extra = sorted(str(k) for k in instance if k not in known)
        field = f"{where}.{extra[0]}" if where else extra[0]
        return f"{field}: unknown field (known: {', '.join(sorted(known))})"
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = next(str(k) for k in error.validator_value if k not in instance)
        return f"{where + '.' if where else ''}{missing}: Field required"
    if not where:
        where = _MAIN_FIELD[payload]
    shown = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"{where}: {shown}"


async def _payload(request: Request, payload: str) -> Any:
    """The request's JSON, valid against ``SCHEMAS[payload]``; raises :class:`_Refused` otherwise."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CONTROL_BODY:
        raise _Refused(413, f"control payloads are at most {MAX_CONTROL_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CONTROL_BODY:
            raise _Refused(413, f"control payloads are at most {MAX_CONTROL_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise _Refused(400, f"body is not JSON: {exc}") from None
    error = jsonschema.exceptions.best_match(_VALIDATORS[payload].iter_errors(data))
    if error is not None:
        raise _Refused(400, _message(error, payload))
    return data


def _refused(exc: _Refused) -> Response:
    etype = "request_too_large" if exc.status == 413 else "invalid_request_error"
    return _envelope(exc.status, etype, exc.message)


async def scenarios(request: Request) -> Response:
    try:
        data = await _payload(request, "scenarios")
        steps = [parse_step(raw) for raw in data["responses"]]
        pending = state_of(request).scenarios.script(data["key"], steps, append=data.get("append", False))
    except _Refused as exc:
        return _refused(exc)
    except ScenarioError as exc:
        return _envelope(400, "invalid_request_error", str(exc))
    return JSONBody({"key": key_fingerprint(data["key"]), "pending": pending})


async def requests(request: Request) -> Response:
    key = request.query_params.get("key")
    fingerprint = None if key is None else key if key.startswith("key-") else key_fingerprint(key)
    state = state_of(request)
    logs, dropped = state.log.requests(fingerprint)
    known = list(state.config.key_table)
    return JSONBody({"requests": {fp: [e.to_json(known) for e in entries] for fp, entries in logs.items()},
                     "dropped": dropped})


async def reset(request: Request) -> Response:
    try:
        data = await _payload(request, "reset")
    except _Refused as exc:
        return _refused(exc)
    key = data.get("key")
    state = state_of(request)
    state.scenarios.reset(key)
    state.log.reset(None if key is None else key_fingerprint(key))
    state.limiter.reset(key)
    return JSONBody({"reset": "all" if key is None else key_fingerprint(key)})


async def clock(request: Request) -> Response:
    try:
        data = await _payload(request, "clock")
    except _Refused as exc:
        return _refused(exc)
    state = state_of(request)
    if data.get("reset", False):
        state.reset_clock()
    offset = state.advance_clock(float(data.get("advance", 0)), MAX_CLOCK_OFFSET)
    if offset is None:
        return _envelope(400, "invalid_request_error",
                         f"advance: the clock may run at most {MAX_CLOCK_OFFSET} s ahead "
                         '(send {"reset": true} to put it back)')
    return JSONBody({"offset": offset})

