"""Helpers for the server tests: request headers, bodies, and turning a response into an Exchange."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from conformance.control import control_headers
from conformance.engine import check_exchange
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.findings import Finding
from conformance.profiles import Profile, load_profiles

MODEL = "claude-sonnet-4-20250514"
BUILD = "sk-ant-test-build"


def headers(version: str | None = "2023-06-01", key: str | None = BUILD, *, bearer: bool = False,
            content_type: str | None = "application/json") -> dict[str, str]:
    out: dict[str, str] = {}
    if key is not None:
        if bearer:
            out["authorization"] = f"Bearer {key}"
        else:
            out["x-api-key"] = key
    if version is not None:
        out["anthropic-version"] = version
    if content_type is not None:
        out["content-type"] = content_type
    return out


def control(client: Any) -> dict[str, str]:
    """The control-token header for an in-process server (its config holds the token)."""
    return control_headers(client.app.state.conformance.config.control_token)


def body(text: str = "Hello, Claude!", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
    out.update(extra)
    return out


def exchange_of(response: httpx.Response) -> Exchange:
    req = response.request
    request = HttpRequest(Headers(list(req.headers.multi_items())), bytes(req.content), req.method, str(req.url))
    resp = HttpResponse(Headers(list(response.headers.multi_items())), response.content, response.status_code)
    return Exchange(request, resp)


def findings_of(response: httpx.Response, profile: Profile | None = None) -> list[Finding]:
    """Every finding of every rule on this exchange (the project's own validators)."""
    version = response.request.headers.get("anthropic-version")
    profiles = load_profiles()
    profile = profile or (profiles.get(version) if version in profiles else profiles.default)
    return check_exchange(exchange_of(response), profile)


def error_of(response: httpx.Response) -> tuple[str, str]:
    data = orjson.loads(response.content)
    assert data["type"] == "error", data
    return data["error"]["type"], data["error"]["message"]


def server_findings(response: httpx.Response, profile: Profile | None = None) -> list[Finding]:
    """Findings about the server's side (the response); a deliberately invalid request is not the server's fault."""
    return [f for f in findings_of(response, profile) if not f.part.startswith("request.")]


class InProcessClient:
    """A synchronous face over ``httpx.AsyncClient(ASGITransport)`` on one private event loop.

    Same app, no thread hop per request (Starlette's TestClient costs ~4 ms a call in thread
    hand-offs), which keeps the Hypothesis properties quick.
    """

    def __init__(self, app: object) -> None:
        import asyncio

        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                         base_url="http://reference.test")

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.get(url, **kw))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()
