"""The API endpoints: gates (size, auth, version, body, model), faults, rate limits, answers.

Each gate returns an error response or ``None``; the order is the one clients observe:
413, then 401, 400 for the version, 401 for an auth scheme the version lacks, 403,
402, 400 for the body, 404 for the model, then scripted faults, then 429.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from conformance.errors import ProfileError
from conformance.exchange import Headers
from conformance.profiles import Profile, Tier
from conformance.server.config import KeySpec
from conformance.server.generate import generate
from conformance.server.ratelimit import Quota
from conformance.server.responses import JSONBody, error_response, error_type_for_status, status_for_error_type
from conformance.server.scenarios import Step
from conformance.server.state import ConnectionDropped, RequestContext, ServerState, abort_connection, state_of
from conformance.server.streaming import StreamPlan, cut_chunks, encode_event, message_events
from conformance.server.tokens import count_input_tokens
from conformance.server.validation import request_problems, version_problem

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"


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


def _error(state: ServerState, ctx: RequestContext, profile: Profile, status: int, message: str,
           headers: Mapping[str, str] | None = None, error_type: str | None = None,
           should_retry: bool | None = None) -> Response:
    if state.mutant == "problem-json-errors":
        # RFC 7807 instead of the Anthropic envelope (what some mock servers answer).
        problem = {"type": "about:blank", "title": message or "Error", "status": status}
        return JSONBody(problem, status_code=status, headers={**(headers or {}), "request-id": ctx.request_id},
                        media_type="application/problem+json")
    body_id = ctx.request_id + "x" if state.mutant == "request-id-mismatch" else None
    return error_response(profile, status, error_type, message, ctx.request_id, headers, should_retry, body_id)


def _tier(profile: Profile, name: str) -> Tier:
    try:
        return profile.tier(name)
    except ProfileError:
        return profile.tiers[0]


def _version(state: ServerState, ctx: RequestContext) -> tuple[Profile | None, str | None]:
    """The profile the request asks for, or the real API's 400 message."""
    values = ctx.request.headers.getlist("anthropic-version")
    if len(values) == 1 and values[0] in state.profiles:
        return state.profiles.get(values[0]), None
    if state.mutant == "missing-version-accepted" and not values:
        return state.profiles.default, None
    if state.mutant == "unknown-version-accepted" and len(values) == 1 and "," not in values[0]:
        return state.profiles.default, None
    if state.mutant == "repeated-version-accepted" and values:
        first = values[0].split(",")[0].strip()
        if first in state.profiles:
            return state.profiles.get(first), None
    raw = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in ctx.request.headers.raw]
    problem = version_problem(Headers(raw), state.profiles)
    if problem is not None:
        return None, problem
    return state.profiles.get(ctx.request.headers["anthropic-version"].strip()), None


def _gate(state: ServerState, ctx: RequestContext, endpoint: str) -> Admitted | Response:
    profile = state.profile_named(None)
    if ctx.too_large:
        status, etype = status_for_error_type(profile, "request_too_large")
        limit_mb = state.config.max_body_bytes // (1024 * 1024)
        return _error(state, ctx, profile, status, f"Request exceeds the maximum size of {limit_mb} MB",
                      error_type=etype)
    unauthorized = "permission_error" if state.mutant == "wrong-error-type" else None
    if ctx.key is None:
        return _error(state, ctx, profile, 401, "x-api-key header is required", error_type=unauthorized)
    if ctx.key_spec is None and state.mutant == "wrong-key-accepted":
        ctx.key_spec = KeySpec("build")
    if ctx.key_spec is None:
        return _error(state, ctx, profile, 401,
                      "invalid x-api-key" if ctx.auth_scheme == "x-api-key" else "invalid bearer token",
                      error_type=unauthorized)
    asked, problem = _version(state, ctx)
    tier = _tier(asked or profile, ctx.key_spec.tier)
    ok = Admitted(asked or profile, tier, ctx.key, None, state)
    if asked is None:
        return _error(state, ctx, profile, 400, problem or "", ok.headers)
    profile = asked
    headers = _LazyHeaders(ok)
    if ctx.auth_scheme == "bearer" and ("authorization-bearer" not in profile.auth_styles
                                        or state.mutant == "bearer-rejected"):
        return _error(state, ctx, profile, 401, "x-api-key header is required", headers)
    if ctx.key_spec.forbidden:
        return _error(state, ctx, profile, 403,
                      "Your API key does not have permission to use the specified resource.", headers)
    body: Any = None
    if endpoint in ("messages", "count_tokens"):
        if ctx.key_spec.out_of_credit:
            status, etype = status_for_error_type(profile, "billing_error")
            return _error(state, ctx, profile, status,
                          "Your credit balance is too low to access the Anthropic API. "
                          "Please go to Plans & Billing to upgrade or purchase credits.", headers, etype)
        ctype = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            shown = ctype or "none"
            return _error(state, ctx, profile, 400,
                          f"content-type: expected application/json, got {shown}", headers)
        try:
            body = orjson.loads(ctx.body)
        except orjson.JSONDecodeError as exc:
            return _error(state, ctx, profile, 400, f"The request body is not valid JSON: {exc}", headers)
        problems = request_problems(body, profile, endpoint)
        if state.mutant == "tool-result-unchecked":
            problems = [p for p in problems if "unexpected `tool_use_id`" not in p.message]
        if state.mutant == "temperature-accepted":
            # Only the version's outright rejection is dropped; an out-of-range value elsewhere stays a 400.
            rejected = profile.request_rules.rejected_parameters
            problems = [p for p in problems if p.field not in rejected]
        if problems and state.mutant == "accepts-invalid" and endpoint == "messages":
            canned = generate(state.config.seed, {"max_tokens": 8}, str(body.get("model")) if isinstance(body, dict)
                              else profile.model_ids[0], 1)
            return JSONBody(canned.message, headers={"request-id": ctx.request_id})
        if problems and state.mutant == "invalid-5xx":
            return _error(state, ctx, profile, 500, "Internal server error", headers)
        if problems:
            return _error(state, ctx, profile, 400, problems[0].message, headers)
        if state.mutant == "metadata-rejected" and "metadata" in body:
            return _error(state, ctx, profile, 400, "metadata: Extra inputs are not permitted", headers)
        if state.mutant == "tool-result-rejected" and _has_tool_result(body):
            return _error(state, ctx, profile, 400, "messages: tool_result blocks are not supported", headers)
        model = body.get("model")
        if not profile.knows_model(model) and state.mutant != "unknown-model-accepted":
            unknown = profile.unknown_model
            return _error(state, ctx, profile, unknown.status, unknown.message(model), headers, unknown.type)
    ok.body = body
    return ok


def _has_tool_result(body: Mapping[str, Any]) -> bool:
    return any(isinstance(b, dict) and b.get("type") == "tool_result"
               for m in body.get("messages") or () if isinstance(m, dict) and isinstance(m.get("content"), list)
               for b in m["content"])


class _LazyHeaders(Mapping[str, str]):
    """The rate-limit headers of an error answer, computed only if an error is answered."""

    def __init__(self, ok: Admitted) -> None:
        self._ok = ok

    def __getitem__(self, name: str) -> str:
        return self._ok.headers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ok.headers)

    def __len__(self) -> int:
        return len(self._ok.headers)


def _retry_headers(step: Step, status: int) -> dict[str, str]:
    out: dict[str, str] = {}
    if step.retry_after_ms is not None:
        out["retry-after-ms"] = f"{step.retry_after_ms:g}"
    if step.retry_after is not None:
        out["retry-after"] = f"{step.retry_after:g}"
    elif status == 429 or step.retry_after_ms is not None:
        ms = step.retry_after_ms if step.retry_after_ms is not None else 1000
        out["retry-after"] = str(max(0, math.ceil(ms / 1000)))
    return out


async def _scripted(state: ServerState, ctx: RequestContext, ok: Admitted, step: Step,
                    streaming: bool) -> Response | None:
    """A scripted HTTP-level fault, or ``None`` when the step shapes a normal answer."""
    profile = ok.profile
    if step.status is not None:
        headers = {**ok.headers, **_retry_headers(step, step.status)}
        etype = step.error_type or error_type_for_status(profile, step.status)
        status = 503 if step.status == 529 and state.mutant == "overloaded-as-503" else step.status
        return _error(state, ctx, profile, status, step.message or "", headers, etype, step.should_retry)
    if streaming:
        return None
    if step.stream_error_after is not None:
        status, etype = status_for_error_type(profile, step.error_type or "overloaded_error")
        return _error(state, ctx, profile, status, step.message or "", ok.headers, etype, step.should_retry)
    if step.drop_after is not None:
        if step.drop_after == 0 and await abort_connection(ctx.request):
            return Response(status_code=500)  # never delivered: the connection is gone
        return StreamingResponse(_dropped(), media_type="application/json",
                                 headers={**ok.headers, "request-id": ctx.request_id})
    if step.delay_ms:
        await asyncio.sleep(step.delay_ms / 1000)
    return None


async def _dropped() -> AsyncIterator[bytes]:
    yield b'{"type":"message",'
    raise ConnectionDropped("scripted: connection dropped before the body was complete")


def _rate_limited(state: ServerState, ctx: RequestContext, ok: Admitted, input_tokens: int) -> Response | None:
    now = state.now()
    decision = state.limiter.admit(ok.key, ok.quota, input_tokens, now)
    if decision.allowed:
        return None
    headers = state.limiter.headers(ok.key, ok.quota, ok.profile, now)
    if state.mutant == "no-ratelimit-headers-on-429":
        headers = {}
    retry_after = decision.retry_after / 2 if state.mutant == "retry-after-too-short" else decision.retry_after
    if state.mutant != "no-retry-after":
        headers[ok.profile.rate_limits.retry_after] = str(max(1, math.ceil(retry_after)))
    what = {"requests": "requests", "input_tokens": "input tokens",
            "output_tokens": "output tokens", "tokens": "tokens"}[decision.limited]
    return _error(state, ctx, ok.profile, 429,
                  f"This request would exceed your organization's rate limit of {what} per minute. "
                  "Please retry after the time in the retry-after header.",
                  headers, error_type_for_status(ok.profile, 429), True)


async def _sse(plan: StreamPlan, rng: random.Random, chunking: bool,
               mutant: str | None = None) -> AsyncIterator[bytes]:
    """Write the plan's events; with chunking, cuts fall anywhere (leftovers travel with the next event)."""
    pending = b""
    for payload in plan.final_events():
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if mutant == "event-name-mismatch" and payload["type"] == "content_block_stop":
            pending += encode_event(payload, name="content_block_delta")
        else:
            pending += encode_event(payload)
        if not chunking:
            yield pending
            pending = b""
            continue
        pieces = list(cut_chunks(pending, rng, 256))
        # Hold back the last piece so a chunk can end mid-event and continue with the next one.
        for piece in pieces[:-1]:
            yield piece
        pending = pieces[-1] if pieces else b""
    if plan.drop_after is not None:
        if len(pending) > 1:
            yield pending[: len(pending) // 2]
        raise ConnectionDropped("scripted: connection dropped mid-stream")
    if pending:
        yield pending


async def messages(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    return state.finish(ctx, await _messages(state, ctx))


async def _messages(state: ServerState, ctx: RequestContext) -> Response:
    ok = _gate(state, ctx, "messages")
    if isinstance(ok, Response):
        return ok
    body = ok.body
    streaming = body.get("stream") is True
    step = state.scenarios.next_step(ok.key)
    if step is not None:
        scripted = await _scripted(state, ctx, ok, step, streaming)
        if scripted is not None:
            return scripted
    input_tokens = count_input_tokens(body)
    limited = _rate_limited(state, ctx, ok, input_tokens)
    if limited is not None:
        return limited
    # The answer names the dated model an alias stands for, as the real API's does (and as models.retrieve does).
    gen = generate(state.config.seed, body, ok.profile.resolve_model(str(body["model"])), input_tokens,
                   mutant=state.mutant)
    headers = state.limiter.charge_output_and_headers(ok.key, ok.quota, ok.profile,
                                                      gen.message["usage"]["output_tokens"], state.now())
    headers.update(identity_headers(ok.profile, ok.key))
    if state.mutant != "missing-request-id":
        headers["request-id"] = ctx.request_id
    if not streaming:
        return JSONBody(gen.message, headers=headers)
    plan = StreamPlan(message_events(gen, ping_every=state.config.ping_every, mutant=state.mutant))
    if step is not None:
        error_type = "message" if state.mutant == "error-event-non-error-type" else step.error_type
        plan = dataclasses.replace(
            plan, error_after=step.stream_error_after, error_type=error_type or "overloaded_error",
            error_message=step.message or "Overloaded", drop_after=step.drop_after,
            delay=step.delay_ms / 1000, unknown_events=step.unknown_events)
    headers["cache-control"] = "no-cache"
    rng = random.Random(gen.digest + b"chunks")
    return StreamingResponse(_sse(plan, rng, state.config.chunking, state.mutant), headers=headers,
                             media_type=SSE_CONTENT_TYPE)


async def _admit_json(state: ServerState, ctx: RequestContext, endpoint: str) -> Admitted | Response:
    """The gate, then any scripted fault for the key: what every non-streaming endpoint does first."""
    ok = _gate(state, ctx, endpoint)
    if isinstance(ok, Response):
        return ok
    step = state.scenarios.next_step(ok.key)
    if step is not None:
        scripted = await _scripted(state, ctx, ok, step, False)
        if scripted is not None:
            return scripted
    return ok


async def count_tokens(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    ok = await _admit_json(state, ctx, "count_tokens")
    if isinstance(ok, Response):
        return state.finish(ctx, ok)
    headers = {**ok.headers, "request-id": ctx.request_id}
    counted = count_input_tokens(ok.body) + (1 if state.mutant == "count-tokens-off" else 0)
    return state.finish(ctx, JSONBody({"input_tokens": counted}, headers=headers))


def _models(profile: Profile) -> list[dict[str, Any]]:
    models = [dict(m) for m in profile.models]
    for m in models:
        m.setdefault("type", "model")
    return sorted(models, key=lambda m: str(m.get("created_at", "")), reverse=True)


async def list_models(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    ok = await _admit_json(state, ctx, "models")
    if isinstance(ok, Response):
        return state.finish(ctx, ok)
    params = request.query_params
    raw_limit = params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        return state.finish(ctx, _error(state, ctx, ok.profile, 400,
                                        "limit: Input should be greater than or equal to 1 and at most 1000",
                                        ok.headers))
    limit = int(raw_limit)
    stages, problem = _lifecycle_filter(ok.profile, params.getlist("lifecycle") + params.getlist("lifecycle[]"))
    if problem is not None:
        return state.finish(ctx, _error(state, ctx, ok.profile, 400, problem, ok.headers))
    models = [m for m in _models(ok.profile) if stages is None or m.get("lifecycle", "active") in stages]
    if state.mutant == "models-list-incomplete":
        models = models[:-1]
    ids = [m["id"] for m in models]
    after, before = params.get("after_id"), params.get("before_id")
    if after is not None and after in ids:
        models = models[ids.index(after) + 1:]
    if before is not None and before in ids:
        models = models[:ids.index(before)]
        has_more = len(models) > limit
        models = models[-limit:]
    else:
        has_more = len(models) > limit
        models = models[:limit]
    page = {"data": models, "has_more": has_more,
            "first_id": models[0]["id"] if models else None, "last_id": models[-1]["id"] if models else None}
    return state.finish(ctx, JSONBody(page, headers={**ok.headers, "request-id": ctx.request_id}))


_DEFAULT_STAGES = frozenset({"active", "deprecated"})


def _lifecycle_filter(profile: Profile, raw: list[str]) -> tuple[frozenset[str] | None, str | None]:
    """The lifecycle stages models.list keeps (``None``: the version has no such filter), or the 400 message.

    Python sends ``lifecycle[]=a&lifecycle[]=b``, others repeat ``lifecycle=a`` or join with commas.
    Omitted: active and deprecated models; retired ones only when asked for.
    """
    if not profile.schemas.has("models_list_query") or \
            "lifecycle" not in profile.schemas.schema("models_list_query").get("properties", {}):
        return None, None
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    if not values:
        return _DEFAULT_STAGES, None
    problems = profile.schemas.violations("models_list_query", {"lifecycle": values})
    if problems:
        return None, f"{problems[0].dotted}: {problems[0].message}"
    return frozenset(values), None


async def get_model(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    ok = await _admit_json(state, ctx, "models")
    if isinstance(ok, Response):
        return state.finish(ctx, ok)
    model_id = request.path_params["model_id"]
    wanted = ok.profile.resolve_model(model_id)
    for m in _models(ok.profile):
        if m["id"] == wanted:
            return state.finish(ctx, JSONBody(m, headers={**ok.headers, "request-id": ctx.request_id}))
    return state.finish(ctx, _error(state, ctx, ok.profile, 404, f"model: {model_id}", ok.headers))
