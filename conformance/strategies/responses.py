"""Hypothesis strategies for HTTP exchanges that are valid by construction, and labelled mutations.

    cases(profile)                  -> Case: a request and a 2xx Message or an error response
    message_cases(profile)          -> Case with a 200 Message consistent with its request
    error_cases(profile)            -> Case with an error status, envelope and headers per the profile
    rate_limit_header_sets(profile) -> dict of rate-limit headers in the profile's naming
    rate_limit_sequences(profile)   -> list[Case] of one key in one window, remaining never rising
    MUTATIONS                       -> tuple[Mutation, ...]: one contract broken each, with its rule id
    example_message_case(profile), example_error_case(profile, status) -> fixed valid Cases
    Case.from_exchange(exchange)    -> a real non-stream exchange as a Case, to mutate real traffic

A :class:`Case` is plain data (bodies as dicts, headers as dicts) so a mutation is a
small function on a deep copy; :meth:`Case.exchange` turns it into the
:class:`~conformance.exchange.Exchange` every rule reads. Each mutation names the
rule that must fire and, explicitly, the rules allowed to fire with it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from hypothesis import strategies as st

from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.findings import Severity
from conformance.profiles import Profile

_IDS = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", min_size=8, max_size=24)
_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.!?", min_size=1, max_size=40)


@dataclasses.dataclass
class Case:
    """One request and its response, as plain data."""

    request_body: dict[str, Any] | None
    request_headers: dict[str, str]
    status: int
    response_body: Any
    response_headers: dict[str, str]
    path: str = "/v1/messages"
    raw_response: bytes | None = None
    """When set, sent instead of ``response_body`` (for bodies that are not JSON)."""
    file: str | None = None
    interaction: int | None = None
    request_headers_complete: bool = True
    response_headers_complete: bool = True

    def copy(self) -> Case:
        return copy.deepcopy(self)

    @classmethod
    def from_exchange(cls, exchange: Exchange) -> Case | None:
        """A real non-stream JSON exchange as a Case (to mutate real traffic); None when it is not one."""
        req, resp = exchange.request, exchange.response
        if req is None or resp is None or resp.status is None or exchange.is_stream or resp.json_error:
            return None
        body = req.json if req.json_error is None else None
        if req.body and body is None:
            return None
        return cls(body, {n: v for n, v in req.headers}, resp.status, resp.json, {n: v for n, v in resp.headers},
                   path=req.path, file=exchange.file, interaction=exchange.interaction,
                   request_headers_complete=exchange.request_headers_complete,
                   response_headers_complete=exchange.response_headers_complete)

    def exchange(self) -> Exchange:
        req = HttpRequest(Headers(self.request_headers),
                          orjson.dumps(self.request_body) if self.request_body is not None else None,
                          method="POST" if self.request_body is not None else "GET",
                          url="https://api.anthropic.com" + self.path)
        body = self.raw_response if self.raw_response is not None else orjson.dumps(self.response_body)
        resp = HttpResponse(Headers(self.response_headers), body, status=self.status)
        return Exchange(req, resp, file=self.file, interaction=self.interaction,
                        request_headers_complete=self.request_headers_complete,
                        response_headers_complete=self.response_headers_complete)


def _timestamps() -> st.SearchStrategy[str]:
    return st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0).isoformat() + "Z")


@st.composite
def rate_limit_header_sets(draw: st.DrawFn, profile: Profile, reset: str | None = None) -> dict[str, str]:
    """Every rate-limit header of the profile's naming, consistent (remaining <= limit)."""
    out: dict[str, str] = {}
    for res in profile.rate_limits.resources:
        limit = draw(st.integers(1, 10_000_000))
        out[res.limit] = str(limit)
        out[res.remaining] = str(draw(st.integers(0, limit)))
        if res.reset is not None:
            out[res.reset] = reset if reset is not None else draw(_timestamps())
    return out


def request_headers(profile: Profile) -> dict[str, str]:
    return {"x-api-key": "sk-ant-test-key", "anthropic-version": profile.version,
            "content-type": "application/json"}


@st.composite
def request_bodies(draw: st.DrawFn, profile: Profile) -> dict[str, Any]:
    """A small valid ``/v1/messages`` request (user turn, maybe system and stop_sequences)."""
    body: dict[str, Any] = {"model": draw(st.sampled_from(profile.model_ids)),
                            "max_tokens": draw(st.integers(1, 4096)),
                            "messages": [{"role": "user", "content": draw(_WORDS)}]}
    if draw(st.booleans()):
        body["stop_sequences"] = draw(st.lists(st.sampled_from(["END", "\n\nHuman:", "###", "STOP"]),
                                               min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        body["system"] = draw(_WORDS)
    return body


@st.composite
def message_cases(draw: st.DrawFn, profile: Profile) -> Case:
    """A request and a 200 Message consistent with it (stop reason, usage, stop_sequence)."""
    request = draw(request_bodies(profile))
    max_tokens = request["max_tokens"]
    reasons = ["end_turn", "max_tokens", "tool_use"] + (["stop_sequence"] if "stop_sequences" in request else [])
    reason = draw(st.sampled_from(reasons))
    content: list[dict[str, Any]] = [{"type": "text", "text": t} for t in draw(st.lists(_WORDS, max_size=2))]
    if reason == "tool_use":
        content.append({"type": "tool_use", "id": "toolu_" + draw(_IDS), "name": "get_weather",
                        "input": {"city": draw(_WORDS)}})
    output = max_tokens if reason == "max_tokens" else draw(st.integers(0, max_tokens))
    message = {
        "id": "msg_" + draw(_IDS), "type": "message", "role": "assistant", "model": request["model"],
        "content": content, "stop_reason": reason,
        "stop_sequence": draw(st.sampled_from(request["stop_sequences"])) if reason == "stop_sequence" else None,
        "usage": {"input_tokens": draw(st.integers(0, 100_000)), "output_tokens": output},
    }
    headers = {"content-type": "application/json", "request-id": "req_" + draw(_IDS)}
    headers.update(draw(rate_limit_header_sets(profile)))
    return Case(request, request_headers(profile), 200, message, headers)


@st.composite
def error_cases(draw: st.DrawFn, profile: Profile, status: int | None = None,
                statuses: Sequence[int] | None = None) -> Case:
    """An error response: the profile's status and type, the envelope, equal request ids, retry-after on 429."""
    choices = [e for e in profile.errors if (status is None or e.status == status)
               and (statuses is None or e.status in statuses)]
    err = draw(st.sampled_from(choices))
    rid = "req_" + draw(_IDS)
    body = {"type": "error", "error": {"type": err.type, "message": draw(_WORDS)}, "request_id": rid}
    headers = {"content-type": "application/json", "request-id": rid}
    if err.status == 429 or draw(st.booleans()):
        headers.update(draw(rate_limit_header_sets(profile)))
    if err.status == 429:
        headers[profile.rate_limits.retry_after] = str(draw(st.integers(0, 60)))
    return Case(draw(request_bodies(profile)), request_headers(profile), err.status, body, headers)


def cases(profile: Profile) -> st.SearchStrategy[Case]:
    return st.one_of(message_cases(profile), error_cases(profile))


@st.composite
def rate_limit_sequences(draw: st.DrawFn, profile: Profile) -> list[Case]:
    """Responses for one key within one window: same reset, remaining never rising."""
    reset = draw(_timestamps())
    first = draw(message_cases(profile))
    first.file = "sequence.yaml"
    n = draw(st.integers(2, 5))
    out = [first]
    for i in range(1, n):
        nxt = draw(message_cases(profile))
        nxt.file, nxt.interaction = first.file, i
        out.append(nxt)
    first.interaction = 0
    for res in profile.rate_limits.resources:
        limit = draw(st.integers(n, 1_000_000))
        remaining = draw(st.lists(st.integers(0, limit), min_size=n, max_size=n))
        for case, value in zip(out, sorted(remaining, reverse=True), strict=True):
            case.response_headers[res.limit] = str(limit)
            case.response_headers[res.remaining] = str(value)
            if res.reset is not None:
                case.response_headers[res.reset] = reset
    return out


# -- mutations ---------------------------------------------------------------------------------------

Target = Case | list[Case]


@dataclasses.dataclass(frozen=True)
class Mutation:
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
    _c(c).response_body["request_id"] = "req_somethingelse"


def _wrong_id_prefix(c: Target, p: Profile) -> None:
    msg = _c(c).response_body
    msg["id"] = "chatcmpl-" + msg["id"][4:]


def _tool_use_not_last(c: Target, p: Profile) -> None:
    msg = _c(c).response_body
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

MUTATIONS: tuple[Mutation, ...] = (
    Mutation("wrong status for the error type", "error.status-type", "error", _other_status_type),
    Mutation("remaining above limit", "ratelimit.remaining-above-limit", "ratelimited", _remaining_above_limit),
    Mutation("reset not a timestamp", "ratelimit.reset-format", "ratelimited", _reset_not_timestamp,
             needs=_has_reset),
    Mutation("limit not an integer", "ratelimit.integer", "ratelimited", _limit_not_integer),
    Mutation("missing retry-after on 429", "ratelimit.retry-after-missing", "429", _drop_retry_after),
    Mutation("negative retry-after", "ratelimit.retry-after-format", "429", _negative_retry_after),
    Mutation("rate-limit headers dropped on 429", "ratelimit.missing-on-429", "429", _drop_rate_limits_on_429),
    Mutation("remaining rising within a window", "ratelimit.remaining-rises", "sequence", _remaining_rises,
             needs=_has_reset),
    Mutation("stop_sequence without the stop reason", "message.stop-sequence", "message",
             _stop_sequence_without_reason),
    Mutation("stop_sequence the request did not give", "message.stop-sequence", "message",
             _stop_sequence_not_requested),
    Mutation("output_tokens above max_tokens", "message.max-tokens", "message", _output_over_max),
    Mutation("missing request-id header", "error.request-id-missing", "any", _drop_request_id),
    Mutation("request_id differs from the header", "error.request-id-match", "error", _request_id_mismatch),
    Mutation("wrong id prefix", "message.id-prefix", "message", _wrong_id_prefix),
    Mutation("tool_use stop without a tool_use block last", "message.tool-use-last", "message",
             _tool_use_not_last),
    Mutation("negative usage", "message.usage", "message", _negative_usage, also=_SCHEMA),
    Mutation("role user", "message.role", "message", _role_user, also=_SCHEMA),
    Mutation("error body not JSON", "body.not-json", "error-envelope", _error_body_not_json),
    Mutation("2xx for a request without max_tokens", "body.request-schema", "message", _drop_max_tokens,
             also=_ACCEPTED),
    # The server took it, and the API enforced some cross-field rules only later: a warning, not a breach.
    Mutation("2xx for a request starting with an assistant turn", "request.cross-field", "message",
             _assistant_first, also=_ACCEPTED, severity=Severity.WARNING),
    Mutation("anthropic-version duplicated", "request.version-duplicated", "message", _duplicate_version,
             also=_ACCEPTED),
    Mutation("anthropic-version missing", "request.version-missing", "message", _drop_version, also=_ACCEPTED),
    Mutation("no auth header", "request.auth", "any", _drop_auth),
    Mutation("request body declared text/plain", "request.content-type", "any", _text_plain),
)


# -- fixed examples (for unit tests and docs: one known-good case to change one thing in) ------------


def example_message_case(profile: Profile) -> Case:
    """A fixed, valid request and 200 Message (stop_reason ``end_turn``), every header present."""
    request = {"model": profile.model_ids[0], "max_tokens": 256, "stop_sequences": ["END"],
               "messages": [{"role": "user", "content": "Hello"}]}
    message = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
               "model": profile.model_ids[0], "content": [{"type": "text", "text": "Hi!"}],
               "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 5}}
    headers = {"content-type": "application/json", "request-id": "req_011CVEA3SF7rnb3DuBZytqQa"}
    for res in profile.rate_limits.resources:
        headers[res.limit], headers[res.remaining] = "1000", "999"
        if res.reset is not None:
            headers[res.reset] = "2026-01-01T00:00:30Z"
    return Case(request, request_headers(profile), 200, message, headers)


def example_error_case(profile: Profile, status: int = 400) -> Case:
    """A fixed, valid error response for ``status`` (the profile's type for it; retry-after on 429)."""
    err = next(e for e in profile.errors if e.status == status)
    case = example_message_case(profile)
    case.status = status
    case.response_body = {"type": "error", "error": {"type": err.type, "message": "something went wrong"},
                          "request_id": case.response_headers["request-id"]}
    if status == 429:
        case.response_headers[profile.rate_limits.retry_after] = "12"
    return case
