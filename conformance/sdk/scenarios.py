"""The scenarios of ``conformance sdk``: one driver call each, the server's script, and the checks judging it.

Areas (``--select AREA``): requests, retries, streaming, errors, timeouts, strict. Every scenario stays
within a few seconds: retry hints are short (10 ms to 1 s); the one hint beyond the 60 s cap some SDKs
apply is observed for :data:`LONG_HINT_WINDOW` seconds and the driver is then stopped (no retry by then
means the SDK is waiting it out). The ``requests`` checks judge every request of every scenario (see
requests.py); the scenarios of that area add the calls only they make (a beta, a plain create).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from conformance.profiles import Profile
from conformance.sdk import checks
from conformance.sdk.model import CheckInfo, Judge, Observation, Scenario, Verdict
from conformance.server.responses import error_type_for_status
from conformance.server.streaming import StreamVocabulary

MODEL = "claude-sonnet-4-20250514"
"""In every profile's catalogue; SDKs that warn about its deprecation do so on stderr."""
MESSAGES = ({"role": "user", "content": "Hello, Claude!"},)
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
BETAS = ("token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14")
HINT_MS = 10
"""The retry-after-ms of scripted retryable failures: retries cost nothing but the check is real."""
LONG_HINT = 61
"""Seconds: just over the 60 s cap of anthropic <= 1.5 and @anthropic-ai/sdk 0.71."""
LONG_HINT_WINDOW = 2.5
"""Seconds the long hint is observed for: every SDK's own first backoff (at most 0.5 s) falls well inside."""
RETRIED = (408, 409, 429, 500, 503, 529)
NOT_RETRIED = (400, 401, 403, 404, 413)
ERRORS = (400, 401, 402, 403, 404, 408, 409, 413, 429, 500, 503, 504, 529)
AREAS = ("requests", "retries", "streaming", "errors", "timeouts", "strict")

CHECKS: dict[str, str] = {
    "requests.auth": "every request authenticates with x-api-key or Authorization: Bearer (which one is reported)",
    "requests.version": "every request sends exactly one anthropic-version, a version in the table (reported; "
                        "the one asked for with --api-version)",
    "requests.content-type": "every request with a body declares application/json",
    "requests.body": "every request passes the client-side rules of its version's profile",
    "requests.beta": "betas asked for through the SDK arrive as anthropic-beta",
    "requests.create": "messages.create returns the Message the server sent, field by field",
    **{f"retries.{s}": f"a {s} (without x-should-retry) is retried, then the answer is returned" for s in RETRIED},
    "retries.connection-dropped": "a connection dropped before the answer is retried",
    **{f"retries.{s}-not-retried": f"a {s} (without x-should-retry) is not retried" for s in NOT_RETRIED},
    "retries.retry-after": "a retry waits the retry-after the server sent",
    "retries.retry-after-ms": "retry-after-ms wins over retry-after",
    "retries.retry-after-over-60s": "a retry-after over 60 s is waited out (some SDKs cap it and back off: differs)",
    "retries.should-retry-false": "x-should-retry: false stops a retry the status allows",
    "retries.should-retry-true": "x-should-retry: true forces a retry the status forbids",
    "retries.max-attempts": "a failure that keeps coming is tried 1 + max_retries times",
    "retries.backoff-grows": "without a hint, the waits between retries grow",
    "streaming.final-message": "the accumulated final Message and the text surfaced equal what the server streamed "
                               "(text, tool_use, thinking)",
    "streaming.ping": "a stream with ping events completes with the same Message",
    "streaming.unknown-events": "unknown event types are ignored: the same Message",
    "streaming.error-event": "an error event mid-stream surfaces as an error with its type",
    "streaming.dropped-connection": "a connection dropped mid-stream surfaces as an error, never a truncated message",
    **{f"errors.{s}": f"a {s} surfaces with status, error type, message and request id (the class is reported)"
       for s in ERRORS},
    "timeouts.stalled-response": "an answer stalled past the timeout ends in the SDK's timeout error",
    "timeouts.stalled-stream": "a stream stalled past the timeout ends in the SDK's timeout error",
    **{f"strict.{c}": f"strict response validation accepts the server's {c} answers"
       for c in ("create", "stream", "count-tokens", "models-list", "models-retrieve")},
}
"""Every check id with its title, in report order."""
REPORTED = frozenset({"requests.auth", "requests.version", "streaming.error-event", "streaming.dropped-connection",
                      "timeouts.stalled-response", "timeouts.stalled-stream", *(f"errors.{s}" for s in ERRORS)})
"""Checks whose reason when they pass is a fact worth a matrix cell (the exception class, the version sent)."""


def check(check_id: str) -> CheckInfo:
    return CheckInfo(check_id, CHECKS[check_id])


def _judge(fn: Callable[..., Verdict], **kwargs: Any) -> Judge:
    judge: Judge = functools.partial(fn, **kwargs)
    return judge


def _params(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 64, "messages": [dict(m) for m in MESSAGES], **extra}


def _requests() -> list[Scenario]:
    return [
        Scenario("requests.create", "messages.create", _params(),
                 ((check("requests.create"), checks.answer_equals_sent),), replay=True),
        Scenario("requests.beta", "messages.create", _params(),
                 ((check("requests.beta"), _judge(checks.beta_header_sent, betas=BETAS)),), betas=BETAS),
    ]


def _retries() -> list[Scenario]:
    out = [Scenario(f"retries.{s}", "messages.create", _params(),
                    ((check(f"retries.{s}"), _judge(checks.retried_then_answered, status=s)),),
                    steps=({"status": s, "retry_after_ms": HINT_MS, "without_should_retry": True},), max_retries=2)
           for s in RETRIED]
    out.append(Scenario("retries.connection-dropped", "messages.create", _params(),
                        ((check("retries.connection-dropped"), _judge(checks.retried_then_answered, status=None)),),
                        steps=({"drop_after": 0},), max_retries=2))
    out += [Scenario(f"retries.{s}-not-retried", "messages.create", _params(),
                     ((check(f"retries.{s}-not-retried"), _judge(checks.not_retried, status=s)),),
                     steps=({"status": s, "without_should_retry": True},), max_retries=2) for s in NOT_RETRIED]
    out += [
        Scenario("retries.retry-after", "messages.create", _params(),
                 ((check("retries.retry-after"), _judge(checks.waited_for_hint, status=429, wait=1.0)),),
                 steps=({"status": 429, "retry_after": 1},), max_retries=2, deadline=8),
        Scenario("retries.retry-after-ms", "messages.create", _params(),
                 ((check("retries.retry-after-ms"),
                   _judge(checks.waited_for_hint, status=429, wait=0.8, ignored=30.0)),),
                 steps=({"status": 429, "retry_after_ms": 800, "retry_after": 30},), max_retries=2, deadline=8),
        Scenario("retries.retry-after-over-60s", "messages.create", _params(),
                 ((check("retries.retry-after-over-60s"), _judge(checks.long_hint, status=429, seconds=LONG_HINT)),),
                 steps=({"status": 429, "retry_after": LONG_HINT},), max_retries=2, observe=LONG_HINT_WINDOW),
        Scenario("retries.should-retry-false", "messages.create", _params(),
                 ((check("retries.should-retry-false"),
                   _judge(checks.not_retried, status=500, why="a 500 marked x-should-retry: false")),),
                 steps=({"status": 500, "should_retry": False},), max_retries=2),
        Scenario("retries.should-retry-true", "messages.create", _params(),
                 ((check("retries.should-retry-true"), _judge(checks.retried_then_answered, status=400)),),
                 steps=({"status": 400, "should_retry": True, "retry_after_ms": HINT_MS},), max_retries=2),
        Scenario("retries.max-attempts", "messages.create", _params(),
                 ((check("retries.max-attempts"),
                   _judge(checks.attempts_match_max_retries, status=503, max_retries=2)),),
                 steps=({"status": 503, "retry_after_ms": HINT_MS, "repeat": 8},), max_retries=2),
        Scenario("retries.backoff-grows", "messages.create", _params(),
                 ((check("retries.backoff-grows"), _judge(checks.backoff_grows, status=500, failures=3)),),
                 steps=({"status": 500, "repeat": 3},), max_retries=3),
    ]
    return out


def _streaming(profile: Profile) -> list[Scenario]:
    final = check("streaming.final-message")
    known = StreamVocabulary.of(profile).events or ()
    return [
        Scenario("streaming.text", "messages.stream", _params(),
                 ((final, checks.stream_equals_sent),
                  (check("streaming.ping"), _judge(checks.stream_tolerates, what="ping events", present={"ping"}))),
                 replay=True),
        Scenario("streaming.tool-use", "messages.stream", _params(tools=[WEATHER], tool_choice={"type": "any"}),
                 ((final, checks.stream_equals_sent),), replay=True),
        Scenario("streaming.thinking", "messages.stream",
                 _params(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}),
                 ((final, checks.stream_equals_sent),), replay=True),
        Scenario("streaming.unknown-events", "messages.stream", _params(),
                 ((check("streaming.unknown-events"),
                   _judge(checks.stream_tolerates, what="unknown event types", known=known)),),
                 steps=({"unknown_events": True},), replay=True, baseline="streaming.text"),
        Scenario("streaming.error-event", "messages.stream", _params(),
                 ((check("streaming.error-event"),
                   _judge(checks.stream_error_surfaces, error_type="overloaded_error")),),
                 steps=({"stream_error_after": 4, "error_type": "overloaded_error",
                         "message": "Overloaded (scripted)"},)),
        Scenario("streaming.dropped-connection", "messages.stream", _params(),
                 ((check("streaming.dropped-connection"), _judge(checks.dropped_stream_surfaces, after=5)),),
                 steps=({"drop_after": 5},)),
    ]


def _errors(profile: Profile) -> list[Scenario]:
    out = []
    for status in ERRORS:
        etype = error_type_for_status(profile, status)
        message = f"scripted {status} {etype}"
        out.append(Scenario(f"errors.{status}", "messages.create", _params(),
                            ((check(f"errors.{status}"),
                              _judge(checks.error_surfaces, status=status, error_type=etype, message=message)),),
                            steps=({"status": status, "error_type": etype, "message": message},)))
    return out


def _timeouts() -> list[Scenario]:
    return [
        Scenario("timeouts.stalled-response", "messages.create", _params(),
                 ((check("timeouts.stalled-response"), _judge(checks.times_out, timeout=1.0)),),
                 steps=({"delay_ms": 4000},), timeout=1.0, deadline=4),
        Scenario("timeouts.stalled-stream", "messages.stream", _params(),
                 ((check("timeouts.stalled-stream"), _judge(checks.times_out, timeout=1.0)),),
                 steps=({"delay_ms": 2500},), timeout=1.0, deadline=4),
    ]


def _strict() -> list[Scenario]:
    calls = [("create", "messages.create", _params()), ("stream", "messages.stream", _params()),
             ("count-tokens", "messages.count_tokens", {"model": MODEL, "messages": [dict(m) for m in MESSAGES]}),
             ("models-list", "models.list", {"limit": 5}), ("models-retrieve", "models.retrieve", {"model_id": MODEL})]
    return [Scenario(f"strict.{name}", call, params, ((check(f"strict.{name}"), checks.strict_accepts),), strict=True)
            for name, call, params in calls]


def scenarios(profile: Profile) -> list[Scenario]:
    """Every scenario, in report order; error types from ``profile`` (the version asked for, else the default)."""
    return [*_requests(), *_retries(), *_streaming(profile), *_errors(profile), *_timeouts(), *_strict()]


def selected(all_scenarios: Sequence[Scenario], select: Sequence[str] | None,
             run_checks: Sequence[str] = ()) -> list[Scenario]:
    """The scenarios with a check matching ``--select`` (an area or a check id); ``run_checks`` (judged over
    every request) are fed by ``requests.create`` when nothing else is selected."""
    from conformance.engine import selected as matches

    if not select:
        return list(all_scenarios)
    feeds = any(matches(c, select) for c in run_checks)
    return [s for s in all_scenarios
            if any(matches(info.id, select) for info, _ in s.checks) or (feeds and s.id == "requests.create")]


def observation_checks(obs: Observation) -> list[tuple[CheckInfo, Verdict]]:
    """Every check of the observation's scenario, judged."""
    return [(info, judge(obs)) for info, judge in obs.scenario.checks]
