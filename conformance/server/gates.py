"""Admission: the gates every API request passes (size, auth, version, body, model) and the rate limit.

Each gate answers an error or lets the request on; the order is the one clients observe:
413, then 401, 400 for the version, 401 for an auth scheme the version lacks, 403,
402, 400 for the body, 404 for the model; then scripted faults (faults.py), then 429.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from starlette.responses import Response

from conformance.errors import ProfileError
from conformance.exchange import Headers
from conformance.profiles import Profile, Tier
from conformance.server.behaviour import Rejection
from conformance.server.ratelimit import Quota
from conformance.server.responses import ErrorAnswer, error_type_for_status, status_for_error_type
from conformance.server.state import RequestContext, ServerState
from conformance.server.validation import request_problems, version_problem


@dataclasses.dataclass
class Admitted:
    """A request that passed every gate."""

    profile: Profile
    tier: Tier
    key: str
    body: Any
    state: ServerState

    _quota: Quota | None = dataclasses.field(default=None, init=False, repr=False)
    _headers: dict[str, str] | None = dataclasses.field(default=None, init=False, repr=False)

    # Cached by hand: functools.cached_property takes a lock on every first read (Python 3.11).
    @property
    def quota(self) -> Quota:
        if self._quota is None:
            self._quota = self.state.quota_of(self.profile, self.tier)
        return self._quota

    @property
    def headers(self) -> dict[str, str]:
        """Rate-limit and account headers as of now (computed only when an answer needs them, then kept)."""
        if self._headers is None:
            self._headers = {**self.state.limiter.headers(self.key, self.quota, self.profile, self.state.now()),
                             **identity_headers(self.profile, self.key)}
        return self._headers


_ORGANIZATION = uuid.UUID("6f1c2f4e-6a39-4c1e-9b0f-3d1b0c6a7e21")


def identity_headers(profile: Profile, key: str) -> dict[str, str]:
    """The account headers the profile says every authenticated answer carries (``anthropic-organization-id``),
    with a stable UUID derived from the key: one organization per key."""
    return dict.fromkeys(profile.identity_headers, str(uuid.uuid5(_ORGANIZATION, key)))


def answer_error(state: ServerState, ctx: RequestContext, profile: Profile, status: int, message: str,
                 headers: Mapping[str, str] | None = None, error_type: str | None = None,
                 should_retry: bool | None = None) -> Response:
    """An error answer, rendered by the server's ``error_answer`` seam."""
    return state.behaviour.error_answer(ErrorAnswer(profile, status, error_type, message, ctx.request_id, headers,
                                                    should_retry))


def _tier(profile: Profile, name: str) -> Tier:
    try:
        return profile.tier(name)
    except ProfileError:
        return profile.tiers[0]


def _version(state: ServerState, ctx: RequestContext) -> tuple[Profile | None, str]:
    """The profile the request asks for, or the real API's 400 message."""
    values = ctx.request.headers.getlist("anthropic-version")
    found = state.behaviour.admitted_version(values, state.profiles)
    if found is not None:
        return found, ""
    raw = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in ctx.request.headers.raw]
    return None, version_problem(Headers(raw), state.profiles) or "anthropic-version: header is required"


class _LazyHeaders(Mapping[str, str]):
    """The rate-limit headers of an error answer, computed only if an error is answered."""

    def __init__(self, admitted: Admitted) -> None:
        self._admitted = admitted

    def __getitem__(self, name: str) -> str:
        return self._admitted.headers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._admitted.headers)

    def __len__(self) -> int:
        return len(self._admitted.headers)


def admit(state: ServerState, ctx: RequestContext, endpoint: str) -> Admitted | Response:
    """The request past every gate, or the error answer of the first gate it fails."""
    profile = state.profile_named(None)
    if ctx.too_large:
        status, etype = status_for_error_type(profile, "request_too_large")
        limit_mb = state.config.max_body_bytes // (1024 * 1024)
        return answer_error(state, ctx, profile, status, f"Request exceeds the maximum size of {limit_mb} MB",
                            error_type=etype)
    if ctx.key is None:
        return answer_error(state, ctx, profile, 401, "x-api-key header is required")
    if ctx.key_spec is None:
        return answer_error(state, ctx, profile, 401,
                            "invalid x-api-key" if ctx.auth_scheme == "x-api-key" else "invalid bearer token")
    asked, problem = _version(state, ctx)
    tier = _tier(asked or profile, ctx.key_spec.tier)
    admitted = Admitted(asked or profile, tier, ctx.key, None, state)
    if asked is None:
        return answer_error(state, ctx, profile, 400, problem, admitted.headers)
    profile = asked
    headers = _LazyHeaders(admitted)
    if not state.behaviour.auth_scheme_accepted(ctx.auth_scheme, profile):
        return answer_error(state, ctx, profile, 401, "x-api-key header is required", headers)
    if ctx.key_spec.forbidden:
        return answer_error(state, ctx, profile, 403,
                            "Your API key does not have permission to use the specified resource.", headers)
    if endpoint in ("messages", "count_tokens"):
        refused = _body_gate(state, ctx, admitted, endpoint, headers, ctx.key_spec.out_of_credit)
        if refused is not None:
            return refused
    return admitted


def _body_gate(state: ServerState, ctx: RequestContext, admitted: Admitted, endpoint: str,
               headers: Mapping[str, str], out_of_credit: bool) -> Response | None:
    """402, then 400 for the content type, the JSON and the request rules, then 404 for the model."""
    profile = admitted.profile
    if out_of_credit:
        status, etype = status_for_error_type(profile, "billing_error")
        return answer_error(state, ctx, profile, status,
                            "Your credit balance is too low to access the Anthropic API. "
                            "Please go to Plans & Billing to upgrade or purchase credits.", headers, etype)
    ctype = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        return answer_error(state, ctx, profile, 400, f"content-type: expected application/json, got {ctype or 'none'}",
                            headers)
    try:
        body = orjson.loads(ctx.body)
    except orjson.JSONDecodeError as exc:
        return answer_error(state, ctx, profile, 400, f"The request body is not valid JSON: {exc}", headers)
    behaviour = state.behaviour
    problems = behaviour.request_problems(request_problems(body, profile, endpoint), body, profile)
    if problems:
        def reject(status: int, message: str) -> Response:
            return answer_error(state, ctx, profile, status, message, headers)

        return behaviour.invalid_request(Rejection(endpoint, body, problems, profile, state.config.seed,
                                                   ctx.request_id, reject))
    model = body.get("model")
    if not behaviour.model_known(profile, model):
        unknown = profile.unknown_model
        return answer_error(state, ctx, profile, unknown.status, unknown.message(model), headers, unknown.type)
    admitted.body = body
    return None


def rate_limited(state: ServerState, ctx: RequestContext, admitted: Admitted, input_tokens: int) -> Response | None:
    """The 429 when the key's limits cannot take this request (nothing is taken then), else ``None``."""
    now = state.now()
    decision = state.limiter.admit(admitted.key, admitted.quota, input_tokens, now)
    if decision.allowed:
        return None
    current = state.limiter.headers(admitted.key, admitted.quota, admitted.profile, now)
    headers = state.behaviour.rate_limited_headers(current, decision.retry_after, admitted.profile)
    what = {"requests": "requests", "input_tokens": "input tokens",
            "output_tokens": "output tokens", "tokens": "tokens"}[decision.limited]
    return answer_error(state, ctx, admitted.profile, 429,
                        f"This request would exceed your organization's rate limit of {what} per minute. "
                        "Please retry after the time in the retry-after header.",
                        headers, error_type_for_status(admitted.profile, 429), True)
