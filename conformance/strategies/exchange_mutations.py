"""Single contract breaks of valid exchanges, each labelled with the rule that must catch it.

    EXCHANGE_MUTATIONS -> tuple[ExchangeMutation, ...]: one contract broken each, with its rule id

A mutation is a small function on a deep copy of a :class:`~conformance.strategies.responses.Case`
(or a sequence of them); it names the rule that must fire and, explicitly, the rules allowed to fire
with it. The property tests apply each to generated cases and to real recorded traffic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from conformance.findings import Severity
from conformance.profiles import Profile
from conformance.strategies.responses import Case, cases, error_cases, message_cases, rate_limit_sequences

# -- mutations ---------------------------------------------------------------------------------------

Target = Case | list[Case]


@dataclasses.dataclass(frozen=True)
class ExchangeMutation:
    """One contract broken on purpose: ``apply`` changes a copy; ``rule`` must fire; ``also`` may."""

    name: str
    rule: str
    source: str
    """What to mutate: ``message``, ``error``, ``error-envelope`` (status with a mandatory envelope),
    ``429``, ``any`` (a :class:`Case`) or ``sequence`` (a list from :func:`rate_limit_sequences`)."""
    apply: Callable[[Target, Profile], None]
    also: frozenset[str] = frozenset()
    needs: Callable[[Profile], bool] = lambda p: True
    """Whether the profile has what the mutation breaks (e.g. a reset header)."""
    severity: Severity = Severity.ERROR
    """How ``rule`` must fire at least (a cross-field rule the server did not enforce is a warning)."""

    def sources(self, profile: Profile) -> st.SearchStrategy[Any]:
        """The valid data this mutation starts from."""
        if self.source == "sequence":
            return rate_limit_sequences(profile)
        if self.source == "message":
            return message_cases(profile)
        if self.source == "429":
            return error_cases(profile, status=429)
        if self.source == "error":
            return error_cases(profile)
        if self.source == "error-envelope":
            return error_cases(profile, statuses=[e.status for e in profile.errors if e.envelope])
        if self.source == "ratelimited":
            return st.one_of(message_cases(profile), error_cases(profile, status=429))
        return cases(profile)


def _has_reset(p: Profile) -> bool:
    return p.rate_limits.resources[0].reset is not None


def _drop_header(headers: dict[str, str], name: str) -> None:
    for key in [k for k in headers if k.lower() == name]:
        del headers[key]


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    _drop_header(headers, name)
    headers[name] = value


def _c(t: Target) -> Case:
    assert isinstance(t, Case)
    return t


def _other_status_type(c: Target, p: Profile) -> None:
    case = _c(c)
    case.response_body["error"]["type"] = next(e.type for e in p.errors if e.status != case.status)


def _remaining_above_limit(c: Target, p: Profile) -> None:
    res = p.rate_limits.resources[0]
    case = _c(c)
    case.response_headers[res.remaining] = str(int(case.response_headers[res.limit]) + 1)


def _reset_not_timestamp(c: Target, p: Profile) -> None:
    reset = p.rate_limits.resources[0].reset
    assert reset is not None
    _c(c).response_headers[reset] = "in 60 seconds"


def _limit_not_integer(c: Target, p: Profile) -> None:
    _c(c).response_headers[p.rate_limits.resources[0].limit] = "1e6"


def _drop_retry_after(c: Target, p: Profile) -> None:
    _drop_header(_c(c).response_headers, p.rate_limits.retry_after)


def _negative_retry_after(c: Target, p: Profile) -> None:
    _set_header(_c(c).response_headers, p.rate_limits.retry_after, "-5")


def _drop_rate_limits_on_429(c: Target, p: Profile) -> None:
    case = _c(c)
    for name in p.rate_limits.all_names() - {p.rate_limits.retry_after}:
        _drop_header(case.response_headers, name)


def _remaining_rises(c: Target, p: Profile) -> None:
    assert isinstance(c, list)
    res = p.rate_limits.resources[0]
    c[-1].response_headers[res.remaining] = str(int(c[-2].response_headers[res.remaining]) + 1)
    c[-1].response_headers[res.limit] = str(max(int(c[-1].response_headers[res.limit]),
                                                int(c[-1].response_headers[res.remaining])))


def _stop_sequence_without_reason(c: Target, p: Profile) -> None:
    msg = _c(c).response_body
    msg["stop_reason"] = "end_turn"
    msg["stop_sequence"] = "END"


def _stop_sequence_not_requested(c: Target, p: Profile) -> None:
    case = _c(c)
    case.request_body = dict(case.request_body or {}, stop_sequences=["END"])
    case.response_body.update(stop_reason="stop_sequence", stop_sequence="NEVER-ASKED")


def _output_over_max(c: Target, p: Profile) -> None:
    case = _c(c)
    assert case.request_body is not None
    case.response_body["usage"]["output_tokens"] = case.request_body["max_tokens"] + 1


def _drop_request_id(c: Target, p: Profile) -> None:
    _drop_header(_c(c).response_headers, "request-id")


def _request_id_mismatch(c: Target, p: Profile) -> None:
    case = _c(c)
    # Both set: a generated header may look redacted (Hypothesis mixes the suite's own literals, "REDACTED"
    # among them, into strings), and a redacted id is rightly never compared.
    _set_header(case.response_headers, "request-id", "req_011CHeaderOfThisAnswer")
    case.response_body["request_id"] = "req_somethingelse"


def _wrong_id_prefix(c: Target, p: Profile) -> None:
    msg = _c(c).response_body
    msg["id"] = "chatcmpl-" + msg["id"][4:]


def _tool_use_not_last(c: Target, p: Profile) -> None:
    case = _c(c)
    msg = case.response_body
    if case.request_body is not None:
        # Only the tool call is missing: the request did give a tool to call.
        case.request_body.setdefault("tools", [{"name": "get_weather", "input_schema": {"type": "object"}}])
    msg.update(stop_reason="tool_use", stop_sequence=None)
    msg["content"] = [b for b in msg["content"] if b["type"] != "tool_use"] + [{"type": "text", "text": "done"}]


def _negative_usage(c: Target, p: Profile) -> None:
    _c(c).response_body["usage"]["input_tokens"] = -3


def _role_user(c: Target, p: Profile) -> None:
    _c(c).response_body["role"] = "user"


def _error_body_not_json(c: Target, p: Profile) -> None:
    _c(c).raw_response = b"<html>502 Bad Gateway</html>"


def _drop_max_tokens(c: Target, p: Profile) -> None:
    assert _c(c).request_body is not None
    _c(c).request_body.pop("max_tokens")  # type: ignore[union-attr]


def _assistant_first(c: Target, p: Profile) -> None:
    body = _c(c).request_body
    assert body is not None
    body["messages"].insert(0, {"role": "assistant", "content": "Sure."})


def _duplicate_version(c: Target, p: Profile) -> None:
    _set_header(_c(c).request_headers, "anthropic-version", f"{p.version}, {p.version}")


def _drop_version(c: Target, p: Profile) -> None:
    _drop_header(_c(c).request_headers, "anthropic-version")


def _drop_auth(c: Target, p: Profile) -> None:
    _drop_header(_c(c).request_headers, "x-api-key")
    _drop_header(_c(c).request_headers, "authorization")


def _text_plain(c: Target, p: Profile) -> None:
    _set_header(_c(c).request_headers, "content-type", "text/plain")


_ACCEPTED = frozenset({"request.accepted-invalid"})
_SCHEMA = frozenset({"body.response-schema"})

EXCHANGE_MUTATIONS: tuple[ExchangeMutation, ...] = (
    ExchangeMutation("wrong status for the error type", "error.status-type", "error", _other_status_type),
    ExchangeMutation("remaining above limit", "ratelimit.remaining-above-limit", "ratelimited", _remaining_above_limit),
    ExchangeMutation("reset not a timestamp", "ratelimit.reset-format", "ratelimited", _reset_not_timestamp,
             needs=_has_reset),
    ExchangeMutation("limit not an integer", "ratelimit.integer", "ratelimited", _limit_not_integer),
    ExchangeMutation("missing retry-after on 429", "ratelimit.retry-after-missing", "429", _drop_retry_after),
    ExchangeMutation("negative retry-after", "ratelimit.retry-after-format", "429", _negative_retry_after),
    ExchangeMutation("rate-limit headers dropped on 429", "ratelimit.missing-on-429", "429", _drop_rate_limits_on_429),
    ExchangeMutation("remaining rising within a window", "ratelimit.remaining-rises", "sequence", _remaining_rises,
             needs=_has_reset),
    ExchangeMutation("stop_sequence without the stop reason", "message.stop-sequence", "message",
             _stop_sequence_without_reason),
    ExchangeMutation("stop_sequence the request did not give", "message.stop-sequence", "message",
             _stop_sequence_not_requested),
    ExchangeMutation("output_tokens above max_tokens", "message.max-tokens", "message", _output_over_max),
    ExchangeMutation("missing request-id header", "error.request-id-missing", "any", _drop_request_id),
    ExchangeMutation("request_id differs from the header", "error.request-id-match", "error", _request_id_mismatch),
    ExchangeMutation("wrong id prefix", "message.id-prefix", "message", _wrong_id_prefix),
    ExchangeMutation("tool_use stop without a tool_use block", "message.tool-use-last", "message",
             _tool_use_not_last),
    ExchangeMutation("negative usage", "message.usage", "message", _negative_usage, also=_SCHEMA),
    ExchangeMutation("role user", "message.role", "message", _role_user, also=_SCHEMA),
    ExchangeMutation("error body not JSON", "body.not-json", "error-envelope", _error_body_not_json),
    ExchangeMutation("2xx for a request without max_tokens", "body.request-schema", "message", _drop_max_tokens,
             also=_ACCEPTED),
    # The server took it, and the API enforced some cross-field rules only later: a warning, not a breach.
    ExchangeMutation("2xx for a request starting with an assistant turn", "request.cross-field", "message",
             _assistant_first, also=_ACCEPTED, needs=lambda p: p.request_rules.first_message_role == "user",
             severity=Severity.WARNING),
    ExchangeMutation("anthropic-version duplicated", "request.version-duplicated", "message", _duplicate_version,
             also=_ACCEPTED),
    ExchangeMutation("anthropic-version missing", "request.version-missing", "message", _drop_version, also=_ACCEPTED),
    ExchangeMutation("no auth header", "request.auth", "any", _drop_auth),
    ExchangeMutation("request body declared text/plain", "request.content-type", "any", _text_plain),
)


# -- fixed examples (for unit tests and docs: one known-good case to change one thing in) ------------
