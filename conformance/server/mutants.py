"""Mutants: reference servers that each break exactly one contract (the suite's proof that it catches bugs).

``conformance run --mutant NAME`` starts the reference server with ``ServerConfig(mutant=NAME)``. A mutant
is one entry of :data:`MUTANT_TABLE`: the contract it breaks, the rule of the suite that must catch it,
and one function that replaces one seam of the faithful server (behaviour.py lists the seams). The
server's own code never names a mutant. A run against a mutant that does not report its rule as an
error means the suite has a blind spot.

Most mutants copy a public bug seen in gateways and compatible servers (a ``thinking_delta`` sent into a
``text`` block, a second block started before the first stops, no ``message_stop``, ``retry-after``
dropped on 429, ``anthropic-version`` ignored ...).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

from conformance.profiles import Profile, Profiles
from conformance.rules.requests import MODEL_REJECTED, TOOL_RESULT_UNKNOWN_ID
from conformance.server import behaviour as faithful
from conformance.server.behaviour import FAITHFUL, SEAMS, Behaviour, Rejection
from conformance.server.generate import generate
from conformance.server.keys import KeySpec
from conformance.server.ratelimit import LimitReading, limit_values
from conformance.server.responses import ErrorAnswer, JSONBody, render_error
from conformance.server.validation import Problem

Event = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    breaks: str
    """One line: the contract it breaks, and how."""
    rule: str
    """The rule id a conformance run must report as an error against it."""
    behaviour: Behaviour = dataclasses.field(default=FAITHFUL, repr=False, compare=False)
    """The faithful behaviour with the one seam it breaks replaced (``Behaviour(seam=function)``)."""

    @property
    def seam(self) -> str:
        """The name of the seam it replaces."""
        changed = [name for name in SEAMS if getattr(self.behaviour, name) is not getattr(FAITHFUL, name)]
        return changed[0] if len(changed) == 1 else ""


# -- errors and gatekeeping ---------------------------------------------------------------------------------


def _permission_error_on_401(a: ErrorAnswer) -> Response:
    return render_error(dataclasses.replace(a, error_type="permission_error") if a.status == 401 else a)


def _body_request_id_differs(a: ErrorAnswer) -> Response:
    return render_error(dataclasses.replace(a, body_request_id=a.request_id + "x"))


def _problem_json(a: ErrorAnswer) -> Response:
    # RFC 7807 instead of the Anthropic envelope (what some mock servers answer).
    problem = {"type": "about:blank", "title": a.message or "Error", "status": a.status}
    return JSONBody(problem, status_code=a.status, headers={**(a.headers or {}), "request-id": a.request_id},
                    media_type="application/problem+json")


def _overloaded_as_503(a: ErrorAnswer) -> Response:
    return render_error(dataclasses.replace(a, status=503) if a.status == 529 else a)


def _accept_invalid(r: Rejection) -> Response:
    if r.endpoint != "messages":
        return faithful.invalid_request(r)
    model = str(r.body.get("model")) if isinstance(r.body, dict) else r.profile.model_ids[0]
    return JSONBody(generate(r.seed, {"max_tokens": 8}, model, 1).message, headers={"request-id": r.request_id})


def _invalid_as_500(r: Rejection) -> Response:
    return r.reject(500, "Internal server error")


def _unknown_tool_result_ids_pass(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    return [p for p in found if p.keyword != TOOL_RESULT_UNKNOWN_ID]


def _rejected_parameters_pass(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    # Only the version's outright rejection of the parameter goes; problems elsewhere stay 400s.
    rejected = profile.request_rules.rejected_parameters
    return [p for p in found if p.field not in rejected]


def _model_refusals_pass(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    # What the named model refuses (thinking on a model that does not think, temperature with top_p, ...) goes.
    return [p for p in found if p.keyword not in MODEL_REJECTED]


def _metadata_refused(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    if isinstance(body, dict) and "metadata" in body:
        return [*found, Problem("metadata", "metadata: Extra inputs are not permitted", "additionalProperties")]
    return found


def _metadata_refused_in_2023_06_01(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    # One version only: each answer alone looks like a strict server; only the two side by side show the break.
    return _metadata_refused(found, body, profile) if profile.version == "2023-06-01" else found


def _tool_results_refused(found: list[Problem], body: Any, profile: Profile) -> list[Problem]:
    messages = body.get("messages") if isinstance(body, dict) else None
    turns = messages if isinstance(messages, list) else []
    if any(isinstance(b, dict) and b.get("type") == "tool_result"
           for m in turns if isinstance(m, dict) and isinstance(m.get("content"), list) for b in m["content"]):
        return [*found, Problem("messages", "messages: tool_result blocks are not supported", "tool-result")]
    return found


def _single_unknown_version_as_default(values: Sequence[str], profiles: Profiles) -> Profile | None:
    found = faithful.admitted_version(values, profiles)
    if found is None and len(values) == 1 and "," not in values[0]:
        return profiles.default
    return found


def _missing_version_as_default(values: Sequence[str], profiles: Profiles) -> Profile | None:
    return profiles.default if not values else faithful.admitted_version(values, profiles)


def _first_of_repeated_version(values: Sequence[str], profiles: Profiles) -> Profile | None:
    found = faithful.admitted_version(values, profiles)
    if found is None and values:
        first = values[0].split(",")[0].strip()
        if first in profiles:
            return profiles.get(first)
    return found


def _any_key_is_build(key: str, table: Mapping[str, KeySpec]) -> KeySpec | None:
    return table.get(key) or KeySpec("build")


def _bearer_refused(scheme: str | None, profile: Profile) -> bool:
    return scheme != "bearer"


def _every_model_known(profile: Profile, model: object) -> bool:
    return True


def _last_model_dropped(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return models[:-1]


# -- the message ----------------------------------------------------------------------------------------------


def _id_without_msg_prefix(message: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    return {**message, "id": "id_" + str(message["id"]).removeprefix("msg_")}


def _stop_sequence_dropped(message: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    return {**message, "stop_sequence": None} if message["stop_reason"] == "stop_sequence" else message


def _output_above_max_tokens(message: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    return {**message, "usage": {**message["usage"], "output_tokens": int(body.get("max_tokens", 1024)) + 1}}


def _tool_use_dropped(message: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    if message["stop_reason"] != "tool_use":
        return message
    kept = [b for b in message["content"] if b["type"] != "tool_use"]
    return {**message, "content": kept or [{"type": "text", "text": "Done."}]}


def _no_request_id(headers: dict[str, str], request_id: str) -> dict[str, str]:
    return headers


def _one_token_more(count: int) -> int:
    return count + 1


# -- streams --------------------------------------------------------------------------------------------------


def _without_message_stop(events: list[Event]) -> list[Event]:
    return [e for e in events if e["type"] != "message_stop"]


def _text_stopped_before_its_last_delta(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    text_blocks: set[int] = set()
    for e in events:
        if e["type"] == "content_block_start" and e["content_block"]["type"] == "text":
            text_blocks.add(e["index"])
        if e["type"] == "content_block_stop" and e["index"] in text_blocks and out \
                and out[-1]["type"] == "content_block_delta" and out[-1]["index"] == e["index"]:
            out.insert(len(out) - 1, e)
        else:
            out.append(e)
    return out


def _blocks_overlap(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if e["type"] == "content_block_start" and out and out[-1]["type"] == "content_block_stop":
            out.insert(len(out) - 1, e)  # open this block before the previous one stops
        else:
            out.append(e)
    return out


def _early_message_delta(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if e["type"] == "message_delta" and out and out[-1]["type"] == "content_block_stop":
            out.insert(len(out) - 1, e)
        else:
            out.append(e)
    return out


def _start_usage_above_final(events: list[Event]) -> list[Event]:
    final = next(e["usage"]["output_tokens"] for e in events if e["type"] == "message_delta")
    return [{**e, "message": {**e["message"], "usage": {**e["message"]["usage"], "output_tokens": final + 1}}}
            if e["type"] == "message_start" else e for e in events]


def _message_start_twice(events: list[Event]) -> list[Event]:
    return [events[0], *events]


def _block_indexes_doubled(events: list[Event]) -> list[Event]:
    return [{**e, "index": 2 * e["index"]} if "index" in e else e for e in events]


def _text_as_thinking_deltas(block_type: str, deltas: list[Event]) -> list[Event]:
    if block_type != "text":
        return deltas
    return [{"type": "thinking_delta", "thinking": d["text"]} for d in deltas]


def _streamed_text_differs(block_type: str, deltas: list[Event]) -> list[Event]:
    if block_type != "text" or not deltas:
        return deltas
    return [*deltas[:-1], {**deltas[-1], "text": deltas[-1]["text"] + " (streamed)"}]


def _tool_input_unbalanced(block_type: str, deltas: list[Event]) -> list[Event]:
    if block_type != "tool_use" or not deltas:
        return deltas
    return [*deltas[:-1], {**deltas[-1], "partial_json": deltas[-1]["partial_json"] + "}"}]


def _stop_named_as_delta(payload: Mapping[str, Any]) -> str:
    return "content_block_delta" if payload["type"] == "content_block_stop" else str(payload["type"])


def _error_event_of_type_message(error_type: str, message: str) -> dict[str, Any]:
    return faithful.stream_error("message", message)


# -- rate limits ----------------------------------------------------------------------------------------------


def _429_without_retry_after(headers: Mapping[str, str], retry_after: float, profile: Profile) -> dict[str, str]:
    return dict(headers)


def _429_without_limit_headers(headers: Mapping[str, str], retry_after: float,
                               profile: Profile) -> dict[str, str]:
    return faithful.rate_limited_headers({}, retry_after, profile)


def _retry_after_halved(headers: Mapping[str, str], retry_after: float, profile: Profile) -> dict[str, str]:
    return faithful.rate_limited_headers(headers, retry_after / 2, profile)


def _remaining_rises_on_the_second_request(r: LimitReading) -> tuple[str, str, str]:
    if r.resource == "requests" and r.requests_used == 2:
        r = dataclasses.replace(r, remaining=min(r.limit, r.remaining + 2))
    return limit_values(r)


def _token_limits_halved(r: LimitReading) -> tuple[str, str, str]:
    return limit_values(r if r.resource == "requests" else dataclasses.replace(r, limit=r.limit // 2))


def _reset_in_seconds(r: LimitReading) -> tuple[str, str, str]:
    limit, remaining, _ = limit_values(r)
    return limit, remaining, str(math.ceil(r.reset_at - r.now))


MUTANT_TABLE: tuple[Mutant, ...] = (
    # -- errors and gatekeeping -------------------------------------------------------------------------
    Mutant("wrong-error-type", "401 answered with error.type permission_error", "error.status-type",
           Behaviour(error_answer=_permission_error_on_401)),
    Mutant("missing-request-id", "messages answers carry no request-id header", "error.request-id-missing",
           Behaviour(success_headers=_no_request_id)),
    Mutant("request-id-mismatch", "an error body's request_id differs from its request-id header",
           "error.request-id-match", Behaviour(error_answer=_body_request_id_differs)),
    Mutant("problem-json-errors", "errors are answered as RFC 7807 problem+json, not in the Anthropic envelope",
           "body.response-schema", Behaviour(error_answer=_problem_json)),
    Mutant("overloaded-as-503", "a scripted 529 overloaded_error is answered with status 503", "fault.error-mapping",
           Behaviour(error_answer=_overloaded_as_503)),
    Mutant("accepts-invalid", "an invalid messages request is answered 200 with a message", "negative.accepted",
           Behaviour(invalid_request=_accept_invalid)),
    Mutant("invalid-5xx", "an invalid messages request is answered 500 api_error", "negative.server-error",
           Behaviour(invalid_request=_invalid_as_500)),
    Mutant("tool-result-unchecked", "a tool_result whose id matches no tool_use is accepted", "negative.accepted",
           Behaviour(request_problems=_unknown_tool_result_ids_pass)),
    Mutant("temperature-accepted", "2026-10-21 accepts the temperature/top_p/top_k it must reject", "negative.accepted",
           Behaviour(request_problems=_rejected_parameters_pass)),
    Mutant("model-refusals-unchecked", "what the named model refuses (thinking on a model that does not think, "
           "temperature with top_p, speed without fast mode) is accepted", "negative.accepted",
           Behaviour(request_problems=_model_refusals_pass)),
    Mutant("metadata-rejected", "a valid request carrying metadata is answered 400", "positive.accepted",
           Behaviour(request_problems=_metadata_refused)),
    Mutant("metadata-rejected-in-2023-06-01", "a request carrying metadata is answered 400 under 2023-06-01 and 200 "
           "under every other version, a change no profile predicts", "versions.unpredicted-change",
           Behaviour(request_problems=_metadata_refused_in_2023_06_01)),
    Mutant("tool-result-rejected", "a turn answering a tool_use with a tool_result is answered 400",
           "stateful.tool-loop", Behaviour(request_problems=_tool_results_refused)),
    Mutant("unknown-version-accepted", "an unknown anthropic-version is served as the default version",
           "version.rejected", Behaviour(admitted_version=_single_unknown_version_as_default)),
    Mutant("missing-version-accepted", "a request without anthropic-version is served as the default version",
           "version.rejected", Behaviour(admitted_version=_missing_version_as_default)),
    Mutant("repeated-version-accepted", "anthropic-version sent twice ('V, V') is served as V", "version.rejected",
           Behaviour(admitted_version=_first_of_repeated_version)),
    Mutant("wrong-key-accepted", "an unknown API key is served as a build-tier key", "auth.rejected",
           Behaviour(key_spec=_any_key_is_build)),
    Mutant("bearer-rejected", "Authorization: Bearer is refused where the version accepts it", "auth.accepted",
           Behaviour(auth_scheme_accepted=_bearer_refused)),
    Mutant("unknown-model-accepted", "an unknown model is served instead of 404 not_found_error", "model.unknown",
           Behaviour(model_known=_every_model_known)),
    Mutant("models-list-incomplete", "GET /v1/models drops the profile's last model", "model.list",
           Behaviour(models_listed=_last_model_dropped)),
    # -- the message -------------------------------------------------------------------------------------
    Mutant("bad-message-id", "message ids lack the msg_ prefix", "message.id-prefix",
           Behaviour(message=_id_without_msg_prefix)),
    Mutant("stop-sequence-unreported", "stops at a stop sequence, says stop_sequence but leaves it null",
           "message.stop-sequence", Behaviour(message=_stop_sequence_dropped)),
    Mutant("max-tokens-exceeded", "usage.output_tokens is reported as max_tokens + 1", "message.max-tokens",
           Behaviour(message=_output_above_max_tokens)),
    Mutant("tool-use-stop-without-tool", "stop_reason tool_use with its tool_use block dropped",
           "message.tool-use-last", Behaviour(message=_tool_use_dropped)),
    Mutant("count-tokens-off", "count_tokens answers one more than usage.input_tokens", "consistency.count-tokens",
           Behaviour(counted_tokens=_one_token_more)),
    # -- streams -----------------------------------------------------------------------------------------
    Mutant("no-message-stop", "streams end without message_stop", "stream.message-stop",
           Behaviour(stream_events=_without_message_stop)),
    Mutant("delta-after-stop", "a text block's content_block_stop is sent before its last delta",
           "stream.delta-after-stop", Behaviour(stream_events=_text_stopped_before_its_last_delta)),
    Mutant("overlapping-blocks", "the second block starts before the first one stops", "stream.block-order",
           Behaviour(stream_events=_blocks_overlap)),
    Mutant("wrong-delta-type", "text blocks get thinking_delta deltas", "stream.delta-type",
           Behaviour(block_deltas=_text_as_thinking_deltas)),
    Mutant("early-message-delta", "message_delta comes before the last block stops", "stream.message-delta-order",
           Behaviour(stream_events=_early_message_delta)),
    Mutant("usage-decreasing", "message_start's output_tokens is above message_delta's", "stream.usage-monotonic",
           Behaviour(stream_events=_start_usage_above_final)),
    Mutant("error-event-non-error-type", "an in-stream error event carries error.type 'message'", "stream.error-event",
           Behaviour(stream_error=_error_event_of_type_message)),
    Mutant("event-name-mismatch", "content_block_stop events are named 'event: content_block_delta'",
           "stream.event-name", Behaviour(event_name=_stop_named_as_delta)),
    Mutant("block-index-gap", "content blocks are numbered 0, 2, 4 ...", "stream.block-index",
           Behaviour(stream_events=_block_indexes_doubled)),
    Mutant("message-start-twice", "message_start is sent twice", "stream.first-event",
           Behaviour(stream_events=_message_start_twice)),
    Mutant("tool-input-broken", "a tool_use block's input_json_delta fragments do not join into JSON",
           "stream.tool-input-json", Behaviour(block_deltas=_tool_input_unbalanced)),
    Mutant("stream-differs", "the streamed text differs from the non-streamed answer", "consistency.stream-message",
           Behaviour(block_deltas=_streamed_text_differs)),
    # -- rate limits -------------------------------------------------------------------------------------
    Mutant("no-retry-after", "429 from the rate limiter without retry-after", "ratelimit.retry-after-missing",
           Behaviour(rate_limited_headers=_429_without_retry_after)),
    Mutant("no-ratelimit-headers-on-429", "429 from the rate limiter without the rate-limit headers",
           "ratelimit.missing-on-429", Behaviour(rate_limited_headers=_429_without_limit_headers)),
    Mutant("remaining-rises", "the requests remaining goes up once within a window", "ratelimit.remaining-rises",
           Behaviour(limit_values=_remaining_rises_on_the_second_request)),
    Mutant("reset-not-timestamp", "reset headers carry seconds until reset, not an RFC 3339 time",
           "ratelimit.reset-format", Behaviour(limit_values=_reset_in_seconds)),
    Mutant("remaining-above-limit", "token limits are reported at half their size, below remaining",
           "ratelimit.remaining-above-limit", Behaviour(limit_values=_token_limits_halved)),
    Mutant("retry-after-too-short", "retry-after is half the time until the window resets",
           "ratelimit.retry-after-honoured", Behaviour(rate_limited_headers=_retry_after_halved)),
)

MUTANTS_BY_NAME: dict[str, Mutant] = {m.name: m for m in MUTANT_TABLE}

def behaviour_for(mutant: str | None) -> Behaviour:
    """The faithful behaviour, or the named mutant's (one seam replaced)."""
    return FAITHFUL if mutant is None else MUTANTS_BY_NAME[mutant].behaviour
