"""The Starlette application: routing, the control token gate, 404/405/500 in the envelope.

    POST /v1/messages                 JSON, or SSE when ``stream: true``
    POST /v1/messages/count_tokens
    GET  /v1/models, /v1/models/{id}
    /_conformance/*                   the control API (control.py): only with the control token

Unknown paths answer 404 and wrong methods 405, both in the error envelope with a
``request-id``. Everything version-dependent comes from the profiles.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from conformance.server import api, control
from conformance.server.config import ServerConfig
from conformance.server.responses import error_response
from conformance.server.state import RAW_SEND, ServerState, state_of

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


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client left before sending its whole body: nobody is there to answer, and it is not the server's
    # error (no traceback). The answer is never delivered.
    return Response(status_code=499)


async def _server_error(request: Request, exc: Exception) -> Response:
    state = state_of(request)
    profile = state.profile_named(request.headers.get("anthropic-version"))
    return error_response(profile, 500, None, "Internal server error", state.new_request_id())


class ReferenceApp(Starlette):
    """Starlette, plus the server's own ``send`` kept in the scope so a scripted fault can cut the connection,
    and the control token checked before any ``/_conformance/*`` route (or its 404/405) is reached."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(control.PREFIX):
            token = self.state.conformance.config.control_token
            if not control.authorized(Headers(scope=scope), token):
                await control.unauthorized()(scope, receive, send)
                return
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
        Route("/_conformance/scenarios", control.scenarios, methods=["POST"]),
        Route("/_conformance/requests", control.requests, methods=["GET"]),
        Route("/_conformance/reset", control.reset, methods=["POST"]),
        Route("/_conformance/clock", control.clock, methods=["POST"]),
    ]
    handlers = {HTTPException: _http_exception, ClientDisconnect: _client_gone, Exception: _server_error}
    app = ReferenceApp(routes=routes, exception_handlers=handlers)
    app.state.conformance = ServerState(config)
    return app
