"""Rules that need to know what a request was *meant* to provoke.

The exchange rules judge any exchange on its own. A conformance run also sends
requests on purpose — an invalid body, a missing key, an unknown version — and
then knows what the answer must be. These small pure functions compare the
answer with that intent; the run's checks (``conformance.suite``) call them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from conformance.exchange import Exchange
from conformance.findings import Finding, Severity, error, warning
from conformance.rules.base import RuleInfo
from conformance.rules.errors import error_message_of, error_type_of

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("positive.accepted", Severity.ERROR, "a valid request gets 200"),
    RuleInfo("negative.accepted", Severity.ERROR, "an invalid request is never answered 2xx"),
    RuleInfo("negative.server-error", Severity.ERROR, "an invalid request is never answered 5xx"),
    RuleInfo("negative.status", Severity.ERROR, "an invalid request gets 400 invalid_request_error in the envelope"),
    RuleInfo("negative.field-named", Severity.WARNING, "the 400 message names the offending field"),
    RuleInfo("auth.rejected", Severity.ERROR, "a missing or wrong key gets 401 authentication_error"),
    RuleInfo("auth.accepted", Severity.ERROR, "a valid key is accepted with either auth header style"),
    RuleInfo("version.rejected", Severity.ERROR,
             "a missing, unknown or repeated anthropic-version gets 400 invalid_request_error"),
    RuleInfo("version.message", Severity.WARNING, "the version error message names anthropic-version"),
    RuleInfo("model.unknown", Severity.ERROR, "an unknown model gets 404 not_found_error"),
    RuleInfo("model.list", Severity.ERROR, "the models list holds the profile's models, each retrievable"),
    RuleInfo("consistency.stream-message", Severity.ERROR,
             "a streamed response accumulates to the non-streamed message (deterministic target)"),
    RuleInfo("consistency.count-tokens", Severity.ERROR,
             "count_tokens agrees with usage.input_tokens (deterministic target)"),
    RuleInfo("ratelimit.burst", Severity.ERROR,
             "within a burst on one key remaining falls and reset lies in the future"),
    RuleInfo("ratelimit.limit-enforced", Severity.ERROR,
             "past the tier's limit a 429 rate_limit_error with retry-after follows"),
    RuleInfo("ratelimit.retry-after-honoured", Severity.ERROR,
             "after waiting retry-after seconds the request succeeds"),
    RuleInfo("stateful.tool-loop", Severity.ERROR,
             "a tool_use -> tool_result conversation continues over several turns"),
    RuleInfo("fault.error-mapping", Severity.ERROR, "a scripted fault arrives with its documented status and type"),
)


def _status(ex: Exchange) -> int | None:
    return ex.response.status if ex.response is not None else None


def _error_type(ex: Exchange) -> str | None:
    return error_type_of(ex.response.json) if ex.response is not None else None


def _error_message(ex: Exchange) -> str:
    return error_message_of(ex.response.json) if ex.response is not None else ""


def rejected_with(ex: Exchange, *, rule: str, status: int, error_type: str, what: str) -> Iterator[Finding]:
    """The answer is ``status`` with ``error_type`` in the envelope; a 2xx is reported as accepted."""
    got = _status(ex)
    if got is None:
        yield error(rule, f"{what}: no response", expected=status)
        return
    if got != status or _error_type(ex) != error_type:
        yield error(rule, f"{what}: expected {status} {error_type}, got {got} {_error_type(ex)}",
                    part="response.body", expected=[status, error_type], actual=[got, _error_type(ex)])


def invalid_request_rejected(ex: Exchange, constraint: str, field: str) -> Iterator[Finding]:
    """An invalid request (one ``constraint`` broken at ``field``) gets a 400 naming the field."""
    got = _status(ex)
    what = f"request breaking {constraint} at {field or '$'}"
    if got is None:
        yield error("negative.status", f"{what}: no response")
        return
    if 200 <= got < 300:
        yield error("negative.accepted", f"{what} was accepted with {got}", expected=400, actual=got)
        return
    if got >= 500:
        yield error("negative.server-error", f"{what} got a server error {got}", expected=400, actual=got)
        return
    if got != 400 or _error_type(ex) != "invalid_request_error":
        yield error("negative.status", f"{what}: expected 400 invalid_request_error, got {got} {_error_type(ex)}",
                    part="response.body", expected=[400, "invalid_request_error"], actual=[got, _error_type(ex)])
        return
    if field and field not in _error_message(ex):
        yield warning("negative.field-named", f"{what}: the message does not name {field!r}",
                      part="response.body", path="$.error.message", expected=field, actual=_error_message(ex))


def version_rejected(ex: Exchange, sent: str | None) -> Iterator[Finding]:
    what = "no anthropic-version" if sent is None else f"anthropic-version {sent!r}"
    findings = list(rejected_with(ex, rule="version.rejected", status=400, error_type="invalid_request_error",
                                  what=what))
    yield from findings
    if not findings and "anthropic-version" not in _error_message(ex):
        yield warning("version.message", f"{what}: the error message does not name anthropic-version",
                      part="response.body", path="$.error.message", actual=_error_message(ex))


def _without_ids(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if k != "id"}
    return out


def stream_matches_message(message_ex: Exchange, stream_ex: Exchange) -> Iterator[Finding]:
    """Same request, streamed and not: the accumulated stream equals the message (ids aside)."""
    message = message_ex.response.json if message_ex.response is not None else None
    accumulated = stream_ex.accumulated
    if not isinstance(message, dict) or accumulated is None:
        return
    a, b = _without_ids(message), _without_ids(accumulated)
    if a != b:
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        yield error("consistency.stream-message",
                    f"the streamed message differs from the non-streamed one in {', '.join(keys)}",
                    part="message", expected={k: a.get(k) for k in keys}, actual={k: b.get(k) for k in keys})


def count_tokens_matches_usage(count_ex: Exchange, message_ex: Exchange) -> Iterator[Finding]:
    counted = count_ex.response.json if count_ex.response is not None else None
    message = message_ex.response.json if message_ex.response is not None else None
    if not isinstance(counted, dict) or not isinstance(message, dict):
        return
    usage = message.get("usage")
    n, used = counted.get("input_tokens"), usage.get("input_tokens") if isinstance(usage, dict) else None
    if isinstance(n, int) and isinstance(used, int) and n != used:
        yield error("consistency.count-tokens", f"count_tokens says {n} input tokens, usage says {used}",
                    part="response.body", path="$.input_tokens", expected=used, actual=n)


def _reset_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def burst_shows_falling_remaining(exchanges: Sequence[Exchange], remaining_header: str, reset_header: str | None,
                                  *, now: dt.datetime, live_clock: bool = True) -> Iterator[Finding]:
    """Successive successful answers on one key: ``remaining`` goes down, ``reset`` is ahead of ``now``."""
    values: list[int] = []
    for ex in exchanges:
        if ex.response is None or ex.response.status != 200:
            continue
        raw = ex.response.headers.get(remaining_header)
        if raw is None:
            yield error("ratelimit.burst", f"a 200 in the burst has no {remaining_header}",
                        part="response.headers", path=f"$['{remaining_header}']")
            return
        if raw.strip().isdigit():
            values.append(int(raw))
        reset = _reset_time(ex.response.headers.get(reset_header)) if reset_header else None
        if live_clock and reset_header and reset is not None and reset < now - dt.timedelta(seconds=1):
            yield error("ratelimit.burst", f"{reset_header} lies in the past",
                        part="response.headers", path=f"$['{reset_header}']",
                        actual=ex.response.headers.get(reset_header))
    if len(values) >= 2 and not values[-1] < values[0]:
        yield error("ratelimit.burst", f"{remaining_header} did not fall over the burst",
                    part="response.headers", expected=f"< {values[0]}", actual=values)
