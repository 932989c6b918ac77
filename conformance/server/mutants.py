"""Mutants: reference servers that each break exactly one contract (the suite's proof that it catches bugs).

``conformance run --mutant NAME`` starts the reference server with ``ServerConfig(mutant=NAME)``. Each
mutant is switched by one ``if config.mutant == "NAME"`` (or a ``mutant`` argument passed down to the
function that acts) at the one place it acts, so the server's own code stays readable; grep for the
name to find it. The table says what each breaks and which rule of the suite must catch it; a run
against a mutant that does not report that rule as an error means the suite has a blind spot.

Most mutants copy a public bug seen in gateways and compatible servers (a ``thinking_delta`` sent into a
``text`` block, a second block started before the first stops, no ``message_stop``, ``retry-after``
dropped on 429, ``anthropic-version`` ignored ...).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    breaks: str
    """One line: the contract it breaks, and how."""
    rule: str
    """The rule id a conformance run must report as an error against it."""


MUTANT_TABLE: tuple[Mutant, ...] = (
    # -- errors and gatekeeping -------------------------------------------------------------------------
    Mutant("wrong-error-type", "401 answered with error.type permission_error", "error.status-type"),
    Mutant("missing-request-id", "messages answers carry no request-id header", "error.request-id-missing"),
    Mutant("request-id-mismatch", "an error body's request_id differs from its request-id header",
           "error.request-id-match"),
    Mutant("problem-json-errors", "errors are answered as RFC 7807 problem+json, not in the Anthropic envelope",
           "body.response-schema"),
    Mutant("overloaded-as-503", "a scripted 529 overloaded_error is answered with status 503", "fault.error-mapping"),
    Mutant("accepts-invalid", "an invalid messages request is answered 200 with a message", "negative.accepted"),
    Mutant("invalid-5xx", "an invalid messages request is answered 500 api_error", "negative.server-error"),
    Mutant("tool-result-unchecked", "a tool_result whose id matches no tool_use is accepted", "negative.accepted"),
    Mutant("temperature-accepted", "2026-10-21 accepts the temperature/top_p/top_k it must reject",
           "negative.accepted"),
    Mutant("metadata-rejected", "a valid request carrying metadata is answered 400", "positive.accepted"),
    Mutant("tool-result-rejected", "a turn answering a tool_use with a tool_result is answered 400",
           "stateful.tool-loop"),
    Mutant("unknown-version-accepted", "an unknown anthropic-version is served as the default version",
           "version.rejected"),
    Mutant("missing-version-accepted", "a request without anthropic-version is served as the default version",
           "version.rejected"),
    Mutant("repeated-version-accepted", "anthropic-version sent twice ('V, V') is served as V",
           "version.rejected"),
    Mutant("wrong-key-accepted", "an unknown API key is served as a build-tier key", "auth.rejected"),
    Mutant("bearer-rejected", "Authorization: Bearer is refused where the version accepts it", "auth.accepted"),
    Mutant("unknown-model-accepted", "an unknown model is served instead of 404 not_found_error", "model.unknown"),
    Mutant("models-list-incomplete", "GET /v1/models drops the profile's last model", "model.list"),
    # -- the message -------------------------------------------------------------------------------------
    Mutant("bad-message-id", "message ids lack the msg_ prefix", "message.id-prefix"),
    Mutant("stop-sequence-unreported", "stops at a stop sequence, says stop_sequence but leaves it null",
           "message.stop-sequence"),
    Mutant("max-tokens-exceeded", "usage.output_tokens is reported as max_tokens + 1",
           "message.max-tokens"),
    Mutant("tool-use-stop-without-tool", "stop_reason tool_use with a text block after the tool_use",
           "message.tool-use-last"),
    Mutant("count-tokens-off", "count_tokens answers one more than usage.input_tokens", "consistency.count-tokens"),
    # -- streams -----------------------------------------------------------------------------------------
    Mutant("no-message-stop", "streams end without message_stop", "stream.message-stop"),
    Mutant("delta-after-stop", "a text block's content_block_stop is sent before its last delta",
           "stream.delta-after-stop"),
    Mutant("overlapping-blocks", "the second block starts before the first one stops", "stream.block-order"),
    Mutant("wrong-delta-type", "text blocks get thinking_delta deltas", "stream.delta-type"),
    Mutant("early-message-delta", "message_delta comes before the last block stops", "stream.message-delta-order"),
    Mutant("usage-decreasing", "message_start's output_tokens is above message_delta's", "stream.usage-monotonic"),
    Mutant("error-event-non-error-type", "an in-stream error event carries error.type 'message'",
           "stream.error-event"),
    Mutant("event-name-mismatch", "content_block_stop events are named 'event: content_block_delta'",
           "stream.event-name"),
    Mutant("block-index-gap", "content blocks are numbered 0, 2, 4 ...", "stream.block-index"),
    Mutant("message-start-twice", "message_start is sent twice", "stream.first-event"),
    Mutant("tool-input-broken", "a tool_use block's input_json_delta fragments do not join into JSON",
           "stream.tool-input-json"),
    Mutant("stream-differs", "the streamed text differs from the non-streamed answer", "consistency.stream-message"),
    # -- rate limits -------------------------------------------------------------------------------------
    Mutant("no-retry-after", "429 from the rate limiter without retry-after", "ratelimit.retry-after-missing"),
    Mutant("no-ratelimit-headers-on-429", "429 from the rate limiter without the rate-limit headers",
           "ratelimit.missing-on-429"),
    Mutant("remaining-rises", "the requests remaining goes up once within a window", "ratelimit.remaining-rises"),
    Mutant("reset-not-timestamp", "reset headers carry seconds until reset, not an RFC 3339 time",
           "ratelimit.reset-format"),
    Mutant("remaining-above-limit", "token limits are reported at half their size, below remaining",
           "ratelimit.remaining-above-limit"),
    Mutant("retry-after-too-short", "retry-after is half the time until the window resets",
           "ratelimit.retry-after-honoured"),
)

MUTANTS_BY_NAME: dict[str, Mutant] = {m.name: m for m in MUTANT_TABLE}
