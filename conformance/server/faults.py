"""Scripted faults at the HTTP level: an error answer, a cut or dropped connection, a delay (scenarios.py).

Stream faults (an ``error`` event, a drop or a delay mid-stream) are planned by api.messages into the
:class:`~conformance.server.streaming.StreamPlan`; on a non-streaming request they become the HTTP
answer here.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from conformance.server.gates import Admitted, admit, answer_error
from conformance.server.responses import error_type_for_status, status_for_error_type
from conformance.server.scenarios import Step
from conformance.server.state import ConnectionDropped, RequestContext, ServerState, abort_connection


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


async def scripted(state: ServerState, ctx: RequestContext, admitted: Admitted, step: Step,
                   streaming: bool) -> Response | None:
    """A scripted HTTP-level fault, or ``None`` when the step shapes a normal answer."""
    profile = admitted.profile
    if step.status is not None:
        headers = {**admitted.headers, **_retry_headers(step, step.status)}
        etype = step.error_type or error_type_for_status(profile, step.status)
        return _hint(step, answer_error(state, ctx, profile, step.status, step.message or "", headers, etype,
                                        step.should_retry))
    if streaming:
        return None
    if step.stream_error_after is not None:
        status, etype = status_for_error_type(profile, step.error_type or "overloaded_error")
        return _hint(step, answer_error(state, ctx, profile, status, step.message or "", admitted.headers, etype,
                                        step.should_retry))
    if step.drop_after is not None:
        if step.drop_after == 0 and await abort_connection(ctx.request):
            return Response(status_code=500)  # never delivered: the connection is gone
        return StreamingResponse(_dropped(), media_type="application/json",
                                 headers={**admitted.headers, "request-id": ctx.request_id})
    if step.delay_ms:
        await asyncio.sleep(step.delay_ms / 1000)
    return None


def _hint(step: Step, response: Response) -> Response:
    """The answer without its ``x-should-retry`` when the step asks for none (the client decides by status)."""
    if step.without_should_retry and "x-should-retry" in response.headers:
        del response.headers["x-should-retry"]
    return response


async def _dropped() -> AsyncIterator[bytes]:
    yield b'{"type":"message",'
    raise ConnectionDropped("scripted: connection dropped before the body was complete")


async def admit_json(state: ServerState, ctx: RequestContext, endpoint: str) -> Admitted | Response:
    """The gates, then any scripted fault for the key: what every non-streaming endpoint does first."""
    admitted = admit(state, ctx, endpoint)
    if isinstance(admitted, Response):
        return admitted
    step = state.scenarios.next_step(admitted.key)
    if step is not None:
        found = await scripted(state, ctx, admitted, step, False)
        if found is not None:
            return found
    return admitted
