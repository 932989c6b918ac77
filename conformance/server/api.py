"""The API endpoints: admission (gates.py), scripted faults (faults.py), the rate limit, then the answer.

    POST /v1/messages                 JSON, or SSE when ``stream: true`` (streaming.py plans, writer.py writes)
    POST /v1/messages/count_tokens
    GET  /v1/models, /v1/models/{id}
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from conformance.profiles import Profile
from conformance.server.faults import admit_json, scripted
from conformance.server.gates import admit, answer_error, identity_headers, rate_limited
from conformance.server.generate import generate
from conformance.server.responses import JSONBody
from conformance.server.state import RequestContext, ServerState, state_of
from conformance.server.streaming import StreamPlan, message_events
from conformance.server.tokens import count_input_tokens
from conformance.server.writer import SSE_CONTENT_TYPE, write_stream


async def messages(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    return state.finish(ctx, await _messages(state, ctx))


async def _messages(state: ServerState, ctx: RequestContext) -> Response:
    admitted = admit(state, ctx, "messages")
    if isinstance(admitted, Response):
        return admitted
    body = admitted.body
    streaming = body.get("stream") is True
    step = state.scenarios.next_step(admitted.key)
    if step is not None:
        fault = await scripted(state, ctx, admitted, step, streaming)
        if fault is not None:
            return fault
    input_tokens = count_input_tokens(body)
    limited = rate_limited(state, ctx, admitted, input_tokens)
    if limited is not None:
        return limited
    behaviour = state.behaviour
    # The answer names the dated model an alias stands for, as the real API's does (and as models.retrieve does).
    gen = generate(state.config.seed, body, admitted.profile.resolve_model(str(body["model"])), input_tokens)
    message = behaviour.message(gen.message, body)
    headers = state.limiter.charge_output_and_headers(admitted.key, admitted.quota, admitted.profile,
                                                      message["usage"]["output_tokens"], state.now())
    headers.update(identity_headers(admitted.profile, admitted.key))
    headers = behaviour.success_headers(headers, ctx.request_id)
    if not streaming:
        return JSONBody(message, headers=headers)
    vocab = state.vocabulary(admitted.profile)
    plan = StreamPlan(message_events(message, gen.digest, vocab, behaviour, ping_every=state.config.ping_every))
    if step is not None:
        error = behaviour.stream_error(step.error_type or "overloaded_error", step.message or "Overloaded")
        plan = dataclasses.replace(
            plan, error_after=step.stream_error_after, error_event=error, drop_after=step.drop_after,
            delay=step.delay_ms / 1000, unknown_event_type=vocab.unknown_event_type if step.unknown_events else None)
    headers["cache-control"] = "no-cache"
    rng = random.Random(gen.digest + b"chunks")
    return StreamingResponse(write_stream(plan, rng, state.config.chunking, behaviour.event_name), headers=headers,
                             media_type=SSE_CONTENT_TYPE)


async def count_tokens(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    admitted = await admit_json(state, ctx, "count_tokens")
    if isinstance(admitted, Response):
        return state.finish(ctx, admitted)
    headers = {**admitted.headers, "request-id": ctx.request_id}
    counted = state.behaviour.counted_tokens(count_input_tokens(admitted.body))
    return state.finish(ctx, JSONBody({"input_tokens": counted}, headers=headers))


def _models(profile: Profile) -> list[dict[str, Any]]:
    models = [dict(m) for m in profile.models]
    for m in models:
        m.setdefault("type", "model")
    return sorted(models, key=lambda m: str(m.get("created_at", "")), reverse=True)


async def list_models(request: Request) -> Response:
    state = state_of(request)
    ctx = await state.begin(request)
    admitted = await admit_json(state, ctx, "models")
    if isinstance(admitted, Response):
        return state.finish(ctx, admitted)
    params = request.query_params
    raw_limit = params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        return state.finish(ctx, answer_error(state, ctx, admitted.profile, 400,
                                              "limit: Input should be greater than or equal to 1 and at most 1000",
                                              admitted.headers))
    limit = int(raw_limit)
    stages, problem = _lifecycle_filter(admitted.profile, params.getlist("lifecycle") + params.getlist("lifecycle[]"))
    if problem is not None:
        return state.finish(ctx, answer_error(state, ctx, admitted.profile, 400, problem, admitted.headers))
    listed = [m for m in _models(admitted.profile) if stages is None or m.get("lifecycle", "active") in stages]
    models = state.behaviour.models_listed(listed)
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
    return state.finish(ctx, JSONBody(page, headers={**admitted.headers, "request-id": ctx.request_id}))


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
    admitted = await admit_json(state, ctx, "models")
    if isinstance(admitted, Response):
        return state.finish(ctx, admitted)
    model_id = request.path_params["model_id"]
    wanted = admitted.profile.resolve_model(model_id)
    for m in _models(admitted.profile):
        if m["id"] == wanted:
            return state.finish(ctx, JSONBody(m, headers={**admitted.headers, "request-id": ctx.request_id}))
    return state.finish(ctx, answer_error(state, ctx, admitted.profile, 404, f"model: {model_id}", admitted.headers))
