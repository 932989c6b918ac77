"""Rules that judge an answer against what its request was sent to provoke (:mod:`conformance.intent`).

The exchange rules judge any exchange on its own. A conformance run also sends requests on
purpose (an invalid body, a missing key, an unknown version, a burst past the limit) and puts
that intent on the exchange; these rules read it. They are ordinary rules: they run over every
exchange (those without an intent are not theirs), in a live run, a replay of its recording, or
``lint`` of that recording, and a newer suite re-judges an old recording with them.

Per exchange: :func:`answer_fulfils_intent`. Across the exchanges of one check: the streamed and
the plain answer to the same request agree (:func:`answers_to_the_same_request_agree`), and a burst
on one key shows its rate limit (:func:`burst_shows_the_rate_limit`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from conformance.exchange import Exchange
from conformance.findings import Finding, Severity, error, not_exercised, warning
from conformance.intent import Intent
from conformance.rules.base import Check, Context, RuleInfo, SequenceCheck
from conformance.rules.errors import error_message_of, error_type_of
from conformance.rules.ratelimit import header_path

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("positive.accepted", Severity.ERROR, "a valid request gets 200"),
    RuleInfo("positive.completed", Severity.ERROR,
             "a valid request ends in a complete answer (a stream reaches message_stop, not an error event)",
             shrinks=False),
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
    RuleInfo("model.list-query", Severity.ERROR,
             "the models list refuses a bad query (limit 0, negative, not a number, over 1000) with 400"),
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


def _message(ex: Exchange) -> Any:
    """The Message the answer carries: the JSON body, or what a client accumulates from the stream."""
    if ex.is_stream:
        return ex.accumulated
    return ex.response.json if ex.response is not None else None


def rejected_with(ex: Exchange, *, rule: str, status: int, error_type: str | None, what: str) -> Iterator[Finding]:
    """The answer is ``status`` (with ``error_type`` in the envelope, when given)."""
    got = _status(ex)
    if got is None:
        yield error(rule, f"{what}: no response", expected=status)
        return
    if got != status or (error_type is not None and _error_type(ex) != error_type):
        expected: Any = [status, error_type] if error_type is not None else status
        actual: Any = [got, _error_type(ex)] if error_type is not None else got
        yield error(rule, f"{what}: expected {status}{' ' + error_type if error_type else ''}, "
                          f"got {got}{' ' + str(_error_type(ex)) if error_type else ''}",
                    part="response.body", expected=expected, actual=actual)


def _valid(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    got = _status(ex)
    if ex.transport_error is not None:
        yield error("positive.completed", f"the answer to a valid request never arrived whole: {ex.transport_error}",
                    part="exchange", expected="a complete answer", actual=ex.transport_error)
        return
    if got != 200:
        last = f" ({_error_type(ex)})" if _error_type(ex) else ""
        yield error("positive.accepted", f"a valid request was answered {got}{last}", expected=200, actual=got)
        return
    events = ex.events
    if events is None:
        return
    types = [e.type for e in events]
    if "error" in types:
        err = events[types.index("error")].payload
        etype = error_type_of(err) if isinstance(err, dict) else None
        yield error("positive.completed", f"the stream of a valid request ended with an error event ({etype})",
                    part="stream", event=types.index("error"), expected="message_stop", actual=etype)
    elif not types or types[-1] != "message_stop":
        yield error("positive.completed", "the stream of a valid request ended before message_stop",
                    part="stream", expected="message_stop", actual=types[-1] if types else None)


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


def _expect(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    if intent.rule is not None and intent.status is not None:
        yield from rejected_with(ex, rule=intent.rule, status=intent.status, error_type=intent.error_type,
                                 what=intent.what or "the request")


def _fault(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    got = _status(ex)
    if got != intent.status:
        yield error("fault.error-mapping", f"scripted {intent.status} arrived as {got}", expected=intent.status,
                    actual=got)


def _stream_fault(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    types = [e.type for e in ex.events or []]
    if not types or types[-1] != "error":
        yield error("fault.error-mapping", f"a scripted mid-stream {intent.error_type or 'error'} did not arrive as "
                                           "the last event", part="stream", expected="error",
                    actual=types[-1] if types else None)


def _tool_turn(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    message = _message(ex)
    content = message.get("content") if isinstance(message, dict) else None
    uses = [b for b in content or () if isinstance(b, dict) and b.get("type") == "tool_use"]
    if _status(ex) != 200 or not uses:
        yield error("stateful.tool-loop", f"turn {intent.detail.get('turn', '?')}: expected a tool_use "
                                          f"(tool_choice any), got status {_status(ex)} with {len(uses)} tool_use "
                                          "blocks", part="message", path="$.content")


def _models_list(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    expected = [str(i) for i in intent.detail.get("ids") or ()]
    body = ex.response.json if ex.response is not None else None
    data = body.get("data") if isinstance(body, dict) else None
    listed = {m.get("id") for m in data if isinstance(m, dict)} if isinstance(data, list) else set()
    missing = [m for m in expected if m not in listed]
    if _status(ex) != 200:
        yield error("model.list", f"the models list got {_status(ex)}", expected=200, actual=_status(ex))
    elif missing:
        yield error("model.list", f"the models list lacks {', '.join(missing)}", part="response.body", path="$.data",
                    expected=expected, actual=sorted(str(x) for x in listed))


def _after_wait(ex: Exchange, intent: Intent) -> Iterator[Finding]:
    got = _status(ex)
    if got != 200:
        yield error("ratelimit.retry-after-honoured",
                    f"after waiting retry-after ({intent.detail.get('waited', '?')}s) the request got {got}",
                    expected=200, actual=got)


_BY_KIND: dict[str, Callable[[Exchange, Intent], Iterator[Finding]]] = {
    "invalid": lambda ex, i: invalid_request_rejected(ex, str(i.detail.get("constraint", "?")),
                                                      str(i.detail.get("path", ""))),
    "expect": _expect,
    "bad-version": lambda ex, i: version_rejected(ex, i.detail.get("sent")),
    "fault": _fault,
    "stream-fault": _stream_fault,
    "tool-turn": _tool_turn,
    "models-list": _models_list,
    "after-wait": _after_wait,
}


def answer_fulfils_intent(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    """The answer is what the request was sent to provoke (nothing to say without an intent)."""
    intent = exchange.intent
    judge = _BY_KIND.get(intent.kind) if intent is not None else None
    if intent is None or judge is None:
        return
    yield from judge(exchange, intent)


# -- across the exchanges of one check --------------------------------------------------------------------


def _answers(exchanges: Sequence[Exchange]) -> list[Exchange]:
    """The last attempt of each request (attempts of one send share its number; a retry supersedes)."""
    last: dict[tuple[str | None, int], Exchange] = {}
    for n, ex in enumerate(exchanges):
        meta = ex.meta
        send = meta.send if meta is not None and meta.send is not None else -1 - n
        last[(meta.check if meta is not None else None, send)] = ex
    return list(last.values())


def valid_requests_are_answered(exchanges: Sequence[Exchange], ctx: Context) -> Iterator[Finding]:
    """Each valid request's answer (its last attempt, after any retry) is 200 and complete."""
    for ex in _answers(exchanges):
        intent = ex.intent
        if intent is not None and intent.kind == "valid":
            yield from (f.located(ex.file, ex.interaction) for f in _valid(ex, intent))


def _by_group(exchanges: Sequence[Exchange], kinds: set[str]) -> dict[str, list[Exchange]]:
    groups: dict[str, list[Exchange]] = defaultdict(list)
    for ex in exchanges:
        intent = ex.intent
        if intent is not None and intent.kind in kinds and intent.group is not None:
            groups[intent.group].append(ex)
    return groups


def _role(group: Sequence[Exchange], role: str) -> Exchange | None:
    """The last exchange of ``role`` in a group that got 200 (a retried attempt gives way to its retry)."""
    found = [ex for ex in group if ex.intent is not None and ex.intent.detail.get("role") == role
             and _status(ex) == 200]
    return found[-1] if found else None


def _without_id(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "id"}


def stream_matches_message(message_ex: Exchange, stream_ex: Exchange) -> Iterator[Finding]:
    """Same request, streamed and not, on a deterministic target: the accumulated stream equals the message."""
    message = message_ex.response.json if message_ex.response is not None else None
    accumulated = stream_ex.accumulated
    if not isinstance(message, dict) or not isinstance(accumulated, dict):
        return
    a, b = _without_id(message), _without_id(accumulated)
    if a != b:
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        yield error("consistency.stream-message",
                    f"the streamed message differs from the non-streamed one in {', '.join(keys)}",
                    part="message", expected={k: a.get(k) for k in keys}, actual={k: b.get(k) for k in keys})


def stream_resembles_message(message_ex: Exchange, stream_ex: Exchange) -> Iterator[Finding]:
    """Same request on a target that need not repeat itself: both answers are for the same model."""
    message, accumulated = message_ex.response.json if message_ex.response is not None else None, \
        stream_ex.accumulated
    if not isinstance(message, dict) or not isinstance(accumulated, dict):
        return
    if message.get("model") != accumulated.get("model"):
        yield error("consistency.stream-message", "the streamed and the plain answer name different models",
                    part="message", path="$.model", expected=message.get("model"), actual=accumulated.get("model"))


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


def answers_to_the_same_request_agree(exchanges: Sequence[Exchange], ctx: Context) -> Iterator[Finding]:
    """Each group of the same request sent plain, streamed and counted: the answers agree."""
    for group in _by_group(exchanges, {"valid"}).values():
        plain, streamed, counted = _role(group, "plain"), _role(group, "stream"), _role(group, "count")
        if plain is not None and streamed is not None:
            compare = stream_matches_message if ctx.deterministic else stream_resembles_message
            yield from (f.located(streamed.file, streamed.interaction) for f in compare(plain, streamed))
        if plain is not None and counted is not None and ctx.deterministic:
            yield from (f.located(counted.file, counted.interaction)
                        for f in count_tokens_matches_usage(counted, plain))


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
                        part="response.headers", path=header_path(remaining_header))
            return
        if raw.strip().isdigit():
            values.append(int(raw))
        reset = _reset_time(ex.response.headers.get(reset_header)) if reset_header else None
        if live_clock and reset_header and reset is not None and reset < now - dt.timedelta(seconds=1):
            yield error("ratelimit.burst", f"{reset_header} lies in the past",
                        part="response.headers", path=header_path(reset_header),
                        actual=ex.response.headers.get(reset_header))
    if len(values) >= 2 and not values[-1] < values[0]:
        yield error("ratelimit.burst", f"{remaining_header} did not fall over the burst",
                    part="response.headers", expected=f"< {values[0]}", actual=values)


def _limit(burst: Sequence[Exchange], limit_header: str) -> int | None:
    for ex in burst:
        raw = ex.response.headers.get(limit_header) if ex.response is not None else None
        if raw is not None and raw.strip().isdigit():
            return int(raw.strip())
    return None


def burst_shows_the_rate_limit(exchanges: Sequence[Exchange], ctx: Context) -> Iterator[Finding]:
    """A burst on one key: remaining falls, and past the limit (when within the burst's cap) a 429 follows."""
    resources = ctx.profile.rate_limits.resources
    resource = next((r for r in resources if r.name == "requests"), resources[0] if resources else None)
    if resource is None:
        return
    for burst in _by_group(exchanges, {"burst"}).values():
        burst.sort(key=lambda ex: int((ex.intent.detail.get("step") if ex.intent else 0) or 0))
        yield from burst_shows_falling_remaining(burst, resource.remaining, resource.reset, now=ctx.clock(),
                                                 live_clock=ctx.live_clock)
        limit = _limit(burst, resource.limit)
        cap = burst[0].intent.detail.get("max_burst") if burst[0].intent is not None else None
        last = burst[-1]
        if limit is None:
            why = f"the burst's answers carry no {resource.limit}, so the limit to reach is unknown"
        elif not isinstance(cap, int) or limit + 1 > cap:
            why = (f"no 429 within the burst cap: the key allows {limit} requests per minute, the burst stops at "
                   f"{cap} (give a low-tier key with --ratelimit-key-env to reach it)")
        elif len(burst) < limit + 1:
            why = f"the burst ended after {len(burst)} requests, before the limit of {limit}"
        else:
            why = None
        if why is not None or limit is None:
            for rule in ("ratelimit.limit-enforced", "ratelimit.retry-after-honoured"):
                yield not_exercised(rule, why or "").located(last.file, last.interaction)
            continue
        last = burst[limit]
        yield from (f.located(last.file, last.interaction) for f in rejected_with(
            last, rule="ratelimit.limit-enforced", status=429, error_type="rate_limit_error",
            what=f"request {limit + 1} on a key limited to {limit} per minute"))


_KINDS_JUDGED: dict[str, frozenset[str]] = {
    "positive": frozenset({"valid"}),
    "negative": frozenset({"invalid"}),
    "version": frozenset({"bad-version"}),
    "model": frozenset({"models-list"}),
    "stateful": frozenset({"tool-turn"}),
    "fault": frozenset({"fault", "stream-fault"}),
}
_ROLES_JUDGED = {"consistency.stream-message": "stream", "consistency.count-tokens": "count"}


def judges(rule: str, intent: Mapping[str, Any] | None) -> bool:
    """Whether intent rule ``rule`` judges an exchange sent with ``intent`` (its JSON form): for the reports'
    count of what each rule judged. Rules of other modules judge every exchange."""
    if not isinstance(intent, Mapping):
        return False
    kind, detail = intent.get("kind"), intent.get("detail") or {}
    if intent.get("rule") == rule:
        return True
    if rule in _ROLES_JUDGED:
        return kind == "valid" and detail.get("role") == _ROLES_JUDGED[rule]
    if rule == "ratelimit.retry-after-honoured":
        return kind == "after-wait"
    if rule.startswith("ratelimit."):
        return kind == "burst"
    return kind in _KINDS_JUDGED.get(rule.split(".", 1)[0], frozenset())


CHECKS: tuple[Check, ...] = (answer_fulfils_intent,)
SEQUENCE_CHECKS: tuple[SequenceCheck, ...] = (valid_requests_are_answered, answers_to_the_same_request_agree,
                                              burst_shows_the_rate_limit)
