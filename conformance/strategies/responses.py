"""Hypothesis strategies for HTTP exchanges that are valid by construction, and labelled mutations.

    cases(profile)                  -> Case: a request and a 2xx Message or an error response
    message_cases(profile)          -> Case with a 200 Message consistent with its request
    error_cases(profile)            -> Case with an error status, envelope and headers per the profile
    rate_limit_header_sets(profile) -> dict of rate-limit headers in the profile's naming
    rate_limit_sequences(profile)   -> list[Case] of one key in one window, remaining never rising
    example_message_case(profile), example_error_case(profile, status) -> fixed valid Cases
    Case.from_exchange(exchange)    -> a real non-stream exchange as a Case, to mutate real traffic

A :class:`Case` is plain data (bodies as dicts, headers as dicts) so a mutation is a
small function on a deep copy; :meth:`Case.exchange` turns it into the
:class:`~conformance.exchange.Exchange` every rule reads. The labelled single breaks of
these cases are in :mod:`conformance.strategies.exchange_mutations`.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
from hypothesis import strategies as st

from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
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
        # A model calls a tool only when the request gave it one.
        request["tools"] = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {
            "city": {"type": "string"}}}}]
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
