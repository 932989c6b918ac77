"""The Starlette application: routing, per-request context, the control API.

    POST /v1/messages                 JSON, or SSE when ``stream: true``
    POST /v1/messages/count_tokens
    GET  /v1/models, /v1/models/{id}
    POST /_conformance/scenarios      script the next responses of a key (see scenarios.py)
    GET  /_conformance/requests?key=  what each key sent (keys redacted), with arrival times
    POST /_conformance/reset          forget scenarios, the log and rate-limit state (``{"key": ...}`` for one)
    POST /_conformance/clock          move the rate-limit clock: ``{"advance": 61}`` or ``{"reset": true}``

The clock control lets a run "wait" for ``retry-after`` without sleeping. The server's rate-limit
windows, ``reset`` headers and ``retry-after`` read ``config.clock() + offset``; ``{"advance": S}``
(a finite number of seconds >= 0) adds S to the offset, ``{"reset": true}`` sets it back to 0 (both at
once: reset first, then advance). The answer is ``200 {"offset": <seconds now added>}``; a bad body is
a 400 in the error envelope whose message names the field (``advance: ...``). The offset is per server
(under xdist, per worker) and ``/_conformance/reset`` leaves it alone.

Unknown paths answer 404 and wrong methods 405, both in the error envelope with a
``request-id``. Everything version-dependent comes from the profiles.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from conformance.server import api
from conformance.server.config import ServerConfig
from conformance.server.responses import JSONBody, error_response
from conformance.server.scenarios import ScenarioError, parse_step
from conformance.server.state import RAW_SEND, ServerState, state_of

# -- control API --------------------------------------------------------------------------------------------

async def _control_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    return orjson.loads(raw)


def _control_error(message: str) -> Response:
    return JSONBody({"type": "error", "error": {"type": "invalid_request_error", "message": message}},
                    status_code=400)


async def control_scenarios(request: Request) -> Response:
    try:
        data = await _control_body(request)
    except orjson.JSONDecodeError as exc:
        return _control_error(f"body is not JSON: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        return _control_error("key: Field required (the API key whose next responses to script)")
    raw_steps = data.get("responses")
    if not isinstance(raw_steps, list):
        return _control_error("responses: Input should be a valid list of steps")
    try:
        steps = []
        for i, raw in enumerate(raw_steps):
            step, repeat = parse_step(raw, f"responses.{i}")
            steps.extend([step] * repeat)
    except ScenarioError as exc:
        return _control_error(str(exc))
    pending = state_of(request).scenarios.script(data["key"], steps, append=bool(data.get("append", False)))
    return JSONBody({"key": data["key"], "pending": pending})


async def control_requests(request: Request) -> Response:
    key = request.query_params.get("key")
    logs = state_of(request).scenarios.requests(key)
    return JSONBody({"requests": {k: [e.to_json() for e in v] for k, v in logs.items()}})


async def control_reset(request: Request) -> Response:
    try:
        data = await _control_body(request)
    except orjson.JSONDecodeError as exc:
        return _control_error(f"body is not JSON: {exc}")
    key = data.get("key") if isinstance(data, dict) else None
    state = state_of(request)
    state.scenarios.reset(key)
    state.limiter.reset(key)
    return JSONBody({"reset": key or "all"})


async def control_clock(request: Request) -> Response:
    try:
        data = await _control_body(request)
    except orjson.JSONDecodeError as exc:
        return _control_error(f"body is not JSON: {exc}")
    if not isinstance(data, dict) or not data:
        return _control_error('advance: Field required (seconds to move the clock forward), or "reset": true')
    unknown = sorted(set(data) - {"advance", "reset"})
    if unknown:
        return _control_error(f"{unknown[0]}: unknown field (known: advance, reset)")
    reset = data.get("reset", False)
    if not isinstance(reset, bool):
        return _control_error("reset: Input should be a valid boolean")
    advance = data.get("advance", 0)
    if isinstance(advance, bool) or not isinstance(advance, (int, float)) or not math.isfinite(advance):
        return _control_error("advance: Input should be a finite number of seconds")
    if advance < 0:
        return _control_error("advance: Input should be greater than or equal to 0 (the clock never goes back)")
    state = state_of(request)
    if reset:
        state.reset_clock()
    return JSONBody({"offset": state.advance_clock(float(advance))})


# -- 404 / 405 / 500 in the envelope --------------------------------------------------------------------------

async def _http_exception(request: Request, exc: Exception) -> Response:
    state = state_of(request)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    ctx = await state.begin(request)
    profile = state.profile_named(request.headers.get("anthropic-version"))
    if status == 404:
        message = f"Not found: {request.method} {request.url.path}"
    elif status == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}"
    else:
        message = "Internal server error"
    extra = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return state.finish(ctx, error_response(profile, status, None, message, ctx.request_id, extra))


async def _server_error(request: Request, exc: Exception) -> Response:
    state = state_of(request)
    profile = state.profile_named(request.headers.get("anthropic-version"))
    return error_response(profile, 500, None, "Internal server error", state.new_request_id())


class ReferenceApp(Starlette):
    """Starlette, plus the server's own ``send`` kept in the scope so a scripted fault can cut the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("extensions", {})[RAW_SEND] = send
        await super().__call__(scope, receive, send)


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The reference server as an ASGI app (serve it with uvicorn, or call it through httpx.ASGITransport)."""
    config = config or ServerConfig()
    routes = [
        Route("/v1/messages", api.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", api.count_tokens, methods=["POST"]),
        Route("/v1/models", api.list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", api.get_model, methods=["GET"]),
        Route("/_conformance/scenarios", control_scenarios, methods=["POST"]),
        Route("/_conformance/requests", control_requests, methods=["GET"]),
        Route("/_conformance/reset", control_reset, methods=["POST"]),
        Route("/_conformance/clock", control_clock, methods=["POST"]),
    ]
    app = ReferenceApp(routes=routes, exception_handlers={HTTPException: _http_exception, Exception: _server_error})
    app.state.conformance = ServerState(config)
    return app
