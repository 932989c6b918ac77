"""An OpenAPI 3.1 description of one API-version profile (``conformance openapi [--api-version V]``).

So that other tools (Schemathesis, Prism, code generators) can use the suite's schemas: the four
endpoints of conformance/endpoints.py with their request and response schemas, every error status of
the profile's error table (in the error envelope where the profile guarantees it), the
``anthropic-version`` header and the auth schemes the version accepts, the rate-limit headers it
sends, and ``text/event-stream`` for streamed messages (each event's schema as ``x-event-schema``,
since OpenAPI 3.1 has no keyword for the items of a stream).

The document is self-contained: every schema of the profile is copied into ``components/schemas``
(``$defs`` hoisted beside it as ``<Shape>_<def>``) and every ``$ref`` rewritten to point there, so
tools that do not resolve ``$id`` or relative files read it as they read any other OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.endpoints import ENDPOINTS, Endpoint
from conformance.profiles import Profile
from conformance.schemas import SHAPES

__all__ = ["openapi_document"]

OPENAPI_VERSION = "3.1.0"
_REF_BASE = "#/components/schemas/"
_BODY_SHAPES = ("request", "count_tokens_request", "count_tokens_response", "message", "error", "stream_event",
                "model", "models_list")
"""The shapes that describe bodies (the header shapes become parameters and response headers instead)."""
_PATHS = {"messages": "/v1/messages", "count_tokens": "/v1/messages/count_tokens", "models": "/v1/models",
          "model": "/v1/models/{model_id}"}
_SUMMARIES = {"messages": "Create a message (JSON, or a server-sent event stream when `stream` is true)",
              "count_tokens": "Count the input tokens of a messages request",
              "models": "List the models", "model": "Get a model"}


def _component(shape: str) -> str:
    return "".join(part.capitalize() for part in shape.split("_"))


def _rewrite(node: Any, here: str, by_file: Mapping[str, str]) -> Any:
    """``node`` with every ``$ref`` pointing into ``components/schemas`` (``here`` is the current shape)."""
    if isinstance(node, list):
        return [_rewrite(item, here, by_file) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = _ref(value, here, by_file)
        elif key in ("$id", "$schema", "$defs"):
            continue
        else:
            out[key] = _rewrite(value, here, by_file)
    return out


def _ref(ref: str, here: str, by_file: Mapping[str, str]) -> str:
    file, _, pointer = ref.partition("#")
    shape = by_file.get(file.rsplit("/", 1)[-1], here) if file else here
    base = _component(shape)
    if pointer.startswith("/$defs/"):
        name, _, rest = pointer[len("/$defs/"):].partition("/")
        return f"{_REF_BASE}{base}_{name}" + (f"/{rest}" if rest else "")
    return _REF_BASE + base + pointer


def bundled_schemas(profile: Profile) -> dict[str, Any]:
    """Every body schema of the profile as ``components/schemas`` (``$defs`` hoisted, refs rewritten)."""
    by_file = {file: shape for shape, file in SHAPES.items() if profile.schemas.has(shape)}
    out: dict[str, Any] = {}
    for shape in _BODY_SHAPES:
        if not profile.schemas.has(shape):
            continue
        schema = profile.schemas.schema(shape)
        name = _component(shape)
        out[name] = _rewrite(schema, shape, by_file)
        for def_name, sub in (schema.get("$defs") or {}).items():
            out[f"{name}_{def_name}"] = _rewrite(sub, shape, by_file)
    for shape in ("request", "count_tokens_request"):
        model = out.get(_component(shape), {}).get("properties", {}).get("model")
        if isinstance(model, dict) and "examples" not in model:
            # The schema says "a string" (an unknown model is a 404, not a 400); examples from the profile
            # let generators reach past that 404 to the rest of the API.
            model["examples"] = list(profile.model_ids)
    return out


def _schema_ref(shape: str) -> dict[str, str]:
    return {"$ref": _REF_BASE + _component(shape)}


def _rate_limit_headers(profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for res in profile.rate_limits.resources:
        out[res.limit] = {"description": f"{res.name} allowed per minute", "schema": {"type": "integer"}}
        out[res.remaining] = {"description": f"{res.name} left in the current window", "schema": {"type": "integer"}}
        if res.reset:
            out[res.reset] = {"description": f"when the {res.name} window resets (RFC 3339)",
                              "schema": {"type": "string", "format": "date-time"}}
    return out


def _error_responses(profile: Profile, endpoint: Endpoint) -> dict[str, Any]:
    by_status: dict[int, list[Any]] = {}
    for e in profile.errors:
        by_status.setdefault(e.status, []).append(e)
    if endpoint.name in ("messages", "count_tokens", "model"):
        by_status.setdefault(profile.unknown_model.status, [])
    out: dict[str, Any] = {}
    request_id = {"request-id": {"description": "the request's id (also in the body)", "schema": {"type": "string"}}}
    for status in sorted(by_status):
        errors = by_status[status]
        types = ", ".join(f"`{e.type}`" for e in errors) or "`not_found_error`"
        described = "; ".join(e.description for e in errors if e.description) or "Not found."
        enveloped = all(e.envelope for e in errors)
        headers = dict(request_id)
        if status == 429:
            headers.update(_rate_limit_headers(profile))
            headers[profile.rate_limits.retry_after] = {"description": "seconds to wait before retrying",
                                                        "schema": {"type": "integer", "minimum": 0}}
        schema: dict[str, Any] = _schema_ref("error") if enveloped else {
            "description": "the error envelope, or (from some front ends) a body without it"}
        out[str(status)] = {"description": f"{types}: {described}", "headers": headers,
                            "content": {"application/json": {"schema": schema}}}
    return out


def _success(profile: Profile, endpoint: Endpoint) -> dict[str, Any]:
    headers = {"request-id": {"description": "the request's id", "schema": {"type": "string"}},
               **_rate_limit_headers(profile)}
    content: dict[str, Any] = {"application/json": {"schema": _schema_ref(endpoint.response_shape or "message")}}
    if endpoint.name == "messages":
        content["text/event-stream"] = {
            "schema": {"type": "string", "description": "server-sent events, each `data:` one stream event"},
            "x-event-schema": _schema_ref("stream_event"),
        }
    return {"description": "OK", "headers": headers, "content": content}


def _parameters(profile: Profile, endpoint: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": "anthropic-version", "in": "header", "required": True,
         "description": "the API version this document describes", "schema": {"type": "string",
                                                                                "enum": [profile.version]}},
        {"name": "anthropic-beta", "in": "header", "required": False,
         "description": "comma-separated beta features", "schema": {"type": "string"}},
    ]
    if endpoint.name == "models":
        params += [
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}},
            {"name": "after_id", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "before_id", "in": "query", "required": False, "schema": {"type": "string"}},
        ]
    if endpoint.name == "model":
        params.append({"name": "model_id", "in": "path", "required": True, "schema": {"type": "string"},
                       "description": "a model id or alias"})
    return params


def _operation(profile: Profile, endpoint: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": endpoint.name, "summary": _SUMMARIES[endpoint.name],
                          "parameters": _parameters(profile, endpoint),
                          "responses": {"200": _success(profile, endpoint), **_error_responses(profile, endpoint)}}
    if endpoint.request_shape is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _schema_ref(endpoint.request_shape)}}}
    return op


def openapi_document(profile: Profile, server_url: str = "https://api.anthropic.com") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``profile`` (a plain JSON-ready dict)."""
    schemes: dict[str, Any] = {"ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}}
    if "authorization-bearer" in profile.auth_styles:
        schemes["Bearer"] = {"type": "http", "scheme": "bearer"}
    paths: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(_PATHS[endpoint.name], {})[endpoint.method.lower()] = _operation(profile, endpoint)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": f"Claude Messages API ({profile.version})", "version": profile.version,
                 "description": (profile.description or "")
                 + "\n\nExported by the conformance suite from its profile of this version."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": server_url}],
        "security": [{name: []} for name in schemes],
        "paths": paths,
        "components": {"schemas": bundled_schemas(profile), "securitySchemes": schemes},
    }
