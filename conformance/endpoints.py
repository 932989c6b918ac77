"""The API's endpoints and the schema shapes their bodies take: the one table every part reads.

    messages       POST /v1/messages                 request      -> message (or a stream)
    count_tokens   POST /v1/messages/count_tokens    count_tokens_request -> count_tokens_response
    models         GET  /v1/models                   -            -> models_list
    model          GET  /v1/models/{id}              -            -> model

Paths match with or without the ``/v1`` prefix and with a trailing slash; the query string
(``?beta=true``) is not part of the path. The ``/v1`` form may sit under a mount point, as a gateway serves the
API under a route of its own (``/anthropic/v1/messages`` is ``messages``); the short form only as the whole path
(``/api/chat/messages`` is not the API's). Any other path is not the Messages API's.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["BODY_ENDPOINTS", "ENDPOINTS", "Endpoint", "endpoint_for_path", "endpoint_named", "endpoint_of_url"]


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    method: str
    pattern: re.Pattern[str]
    request_shape: str | None
    """The schema shape of the request body (``None``: the endpoint takes no body)."""
    response_shape: str | None
    """The schema shape of a 2xx JSON response body."""


_ROOT = r"^(?:(?:/[^/]+)*/v1)?"
"""Where an endpoint's path starts: the root, ``/v1``, or ``/v1`` under a mount point (whole segments)."""

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("messages", "POST", re.compile(_ROOT + r"/messages/?$"), "request", "message"),
    Endpoint("count_tokens", "POST", re.compile(_ROOT + r"/messages/count_tokens/?$"), "count_tokens_request",
             "count_tokens_response"),
    Endpoint("models", "GET", re.compile(_ROOT + r"/models/?$"), None, "models_list"),
    Endpoint("model", "GET", re.compile(_ROOT + r"/models/[^/]+/?$"), None, "model"),
)
_BY_NAME = {e.name: e for e in ENDPOINTS}

BODY_ENDPOINTS: tuple[str, ...] = tuple(e.name for e in ENDPOINTS if e.request_shape is not None)
"""Endpoints that take a JSON request body (``messages``, ``count_tokens``)."""


def endpoint_named(name: str) -> Endpoint:
    """The endpoint called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"endpoint must be one of {', '.join(_BY_NAME)}, not {name!r}") from None


def endpoint_for_path(path: str) -> Endpoint | None:
    for endpoint in ENDPOINTS:
        if endpoint.pattern.match(path):
            return endpoint
    return None


def endpoint_of_url(url: str | None) -> str | None:
    """The name of the endpoint a request URL addresses (query and host ignored); ``None`` for any other."""
    if not url:
        return None
    from urllib.parse import urlsplit

    endpoint = endpoint_for_path(urlsplit(url).path)
    return endpoint.name if endpoint is not None else None
