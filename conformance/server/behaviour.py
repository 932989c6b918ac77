"""The seams where the reference server could break the contract, each with its faithful behaviour.

The server calls these hooks at the places named below and never asks whether it is a mutant. The
faithful server is :data:`FAITHFUL`; a mutant (mutants.py) is :data:`FAITHFUL` with exactly one hook
replaced, so a break is one small function, findable by its seam's name.

    seam                    called by          decides
    key_spec                state.begin        what an API key may do (``None``: unknown key, 401)
    admitted_version        gates              the profile of the ``anthropic-version`` sent (``None``: 400)
    auth_scheme_accepted    gates              whether the version takes the auth scheme used (else 401)
    request_problems        gates              the problems acted on, from those the request rules found
    invalid_request         gates              the answer to an invalid request body
    model_known             gates              whether the model exists (else 404)
    error_answer            gates              how an error answer is rendered (status, type, envelope)
    rate_limited_headers    gates              the headers of a 429 from the rate limiter
    limit_values            ratelimit          one resource's limit, remaining and reset header values
    message                 api.messages       the generated message, as answered and streamed
    success_headers         api.messages       the headers of a 200 from /v1/messages
    counted_tokens          api.count_tokens   the count answered
    models_listed           api.list_models    the models listed
    block_deltas            streaming          the deltas of one content block
    stream_events           streaming          the whole event sequence of a stream
    event_name              writer             the SSE ``event:`` name of an event
    stream_error            api.messages       the payload of a scripted in-stream ``error`` event

Every hook is a plain function of plain values (no server state), so each can be tested alone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.responses import Response

from conformance.profiles import Profile, Profiles
from conformance.server.keys import KeySpec
from conformance.server.ratelimit import LimitReading, limit_values
from conformance.server.responses import ErrorAnswer, render_error
from conformance.server.validation import Problem


@dataclasses.dataclass(frozen=True, slots=True)
class Rejection:
    """An invalid request body the server is about to answer."""

    endpoint: str
    """``messages`` or ``count_tokens``."""
    body: Any
    problems: Sequence[Problem]
    """At least one, most useful first."""
    profile: Profile
    seed: int
    request_id: str
    reject: Callable[[int, str], Response]
    """The gate's error answer for this request (its rate-limit headers included): ``reject(status, message)``."""


# -- the faithful behaviour at each seam ----------------------------------------------------------------------


def key_spec(key: str, table: Mapping[str, KeySpec]) -> KeySpec | None:
    return table.get(key)


def admitted_version(values: Sequence[str], profiles: Profiles) -> Profile | None:
    """The profile of the one ``anthropic-version`` value sent; ``None`` for none, several or an unknown one."""
    if len(values) == 1:
        sent = values[0].strip()
        if sent in profiles:
            return profiles.get(sent)
    return None


def auth_scheme_accepted(scheme: str | None, profile: Profile) -> bool:
    return scheme != "bearer" or "authorization-bearer" in profile.auth_styles


def request_problems(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    return found


def invalid_request(rejection: Rejection) -> Response:
    return rejection.reject(400, rejection.problems[0].message)


def model_known(profile: Profile, model: object) -> bool:
    return profile.knows_model(model)


def rate_limited_headers(headers: Mapping[str, str], retry_after: float, profile: Profile) -> dict[str, str]:
    """The rate-limit headers as they stand, and ``retry-after`` in whole seconds (never 0: "now" invites a storm)."""
    return {**headers, profile.rate_limits.retry_after: str(max(1, math.ceil(retry_after)))}


def message(generated: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    return generated


def success_headers(headers: dict[str, str], request_id: str) -> dict[str, str]:
    headers["request-id"] = request_id
    return headers


def counted_tokens(count: int) -> int:
    return count


def models_listed(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return models


def block_deltas(block_type: str, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return deltas


def stream_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return events


def event_name(payload: Mapping[str, Any]) -> str:
    return str(payload["type"])


def stream_error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


@dataclasses.dataclass(frozen=True, slots=True)
class Behaviour:
    """One function per seam (see the module docstring); the defaults are the faithful server."""

    key_spec: Callable[[str, Mapping[str, KeySpec]], KeySpec | None] = key_spec
    admitted_version: Callable[[Sequence[str], Profiles], Profile | None] = admitted_version
    auth_scheme_accepted: Callable[[str | None, Profile], bool] = auth_scheme_accepted
    request_problems: Callable[[list[Problem], Any, Profile], list[Problem]] = request_problems
    invalid_request: Callable[[Rejection], Response] = invalid_request
    model_known: Callable[[Profile, object], bool] = model_known
    error_answer: Callable[[ErrorAnswer], Response] = render_error
    rate_limited_headers: Callable[[Mapping[str, str], float, Profile], dict[str, str]] = rate_limited_headers
    limit_values: Callable[[LimitReading], tuple[str, str, str]] = limit_values
    message: Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]] = message
    success_headers: Callable[[dict[str, str], str], dict[str, str]] = success_headers
    counted_tokens: Callable[[int], int] = counted_tokens
    models_listed: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = models_listed
    block_deltas: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] = block_deltas
    stream_events: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = stream_events
    event_name: Callable[[Mapping[str, Any]], str] = event_name
    stream_error: Callable[[str, str], dict[str, Any]] = stream_error


FAITHFUL = Behaviour()
SEAMS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Behaviour))
