"""The SDK checks as pure functions: observations built by hand, verdicts asserted (no server, no driver)."""

from __future__ import annotations

from typing import Any

from conformance.exchange import Headers
from conformance.sdk import checks
from conformance.sdk.model import Attempt, Observation, Outcome, Scenario, Sent, Verdict
from conformance.sdk.protocol import DriverError, DriverResult
from conformance.sdk.runner import combine

SCRIPTED = Scenario("retries.test", "messages.create", {}, (), steps=({"status": 429},), max_retries=2)
PLAIN = Scenario("streaming.test", "messages.stream", {}, ())


def attempt(i: int, at: float, status: int | None, headers: dict[str, str] | None = None,
            request_id: str | None = None) -> Attempt:
    return Attempt(i, 1000.0 + at, "POST", "/v1/messages", "", Headers(headers or {}), {}, status, request_id)


def ok(response: Any = None, text: str | None = None) -> DriverResult:
    return DriverResult("sdk", "1", "ok", response if response is not None else {"id": "msg"}, text=text)


def error(cls: str = "RateLimitError", kind: str = "api", status: int | None = 429, etype: str | None = None,
          message: str = "", request_id: str | None = "req_1", elapsed_ms: float | None = None) -> DriverResult:
    return DriverResult("sdk", "1", "error", error=DriverError(cls, (cls,), kind, status, etype, message, request_id),
                        elapsed_ms=elapsed_ms)


def observe(scenario: Scenario, *attempts: Attempt, result: DriverResult | None = None, consumed: int = 1,
            **kw: Any) -> Observation:
    return Observation(scenario, attempts, result, consumed=consumed, **kw)


def outcome(verdict: Verdict) -> Outcome:
    return verdict.outcome


def test_a_retry_then_an_answer_passes_and_no_retry_fails():
    retried = observe(SCRIPTED, attempt(0, 0, 429), attempt(1, 0.3, 200), result=ok())
    assert checks.retried_then_answered(retried, 429) == Verdict(Outcome.PASS, "retried after 0.30 s")
    once = observe(SCRIPTED, attempt(0, 0, 429), result=error())
    assert outcome(checks.retried_then_answered(once, 429)) is Outcome.FAIL


def test_a_check_whose_script_was_never_reached_is_not_exercised():
    # The server refused the request itself (no version): the requests checks judge that, not the retry check.
    refused = observe(SCRIPTED, attempt(0, 0, 400), result=error(status=400), consumed=0)
    verdict = checks.retried_then_answered(refused, 429)
    assert verdict.outcome is Outcome.NOT_EXERCISED and "before the scripted fault" in verdict.reason
    assert checks.not_retried(refused, 400).outcome is Outcome.NOT_EXERCISED


def test_hints_are_judged_from_arrival_times():
    early = observe(SCRIPTED, attempt(0, 0, 429), attempt(1, 0.4, 200), result=ok())
    assert checks.waited_for_hint(early, 429, 1.0).outcome is Outcome.FAIL
    waited = observe(SCRIPTED, attempt(0, 0, 429), attempt(1, 1.0, 200), result=ok())
    assert checks.waited_for_hint(waited, 429, 1.0).outcome is Outcome.PASS
    # retry-after-ms (0.8 s) must win over retry-after (30 s): a client that waited the 30 s fails.
    late = observe(SCRIPTED, attempt(0, 0, 429), attempt(1, 30.1, 200), result=ok())
    assert "honoured retry-after" in checks.waited_for_hint(late, 429, 0.8, ignored=30).reason


def test_a_long_hint_waited_out_passes_and_own_backoff_differs():
    long = Scenario("retries.long", "messages.create", {}, (), steps=({"status": 429},), observe=2.5)
    waiting = observe(long, attempt(0, 0, 429), result=None, stopped=True)
    assert checks.long_hint(waiting, 429, 61).outcome is Outcome.PASS
    backed_off = observe(long, attempt(0, 0, 429), attempt(1, 0.45, 200), result=ok())
    verdict = checks.long_hint(backed_off, 429, 61)
    assert verdict.outcome is Outcome.DIFFERS and "own backoff (0.45 s)" in verdict.reason
    at_once = observe(long, attempt(0, 0, 429), attempt(1, 0.001, 200), result=ok())
    assert checks.long_hint(at_once, 429, 61).outcome is Outcome.FAIL


def test_attempts_and_backoff():
    many = observe(SCRIPTED, *[attempt(i, i * 0.1, 503) for i in range(5)], attempt(5, 0.6, 200), result=ok())
    assert checks.attempts_match_max_retries(many, 503, 2).reason == "6 attempts with max_retries 2 (expected 3)"
    growing = observe(SCRIPTED, attempt(0, 0, 500), attempt(1, 0.4, 500), attempt(2, 1.2, 500), attempt(3, 2.9, 200),
                      result=ok())
    assert checks.backoff_grows(growing, 500, 3).outcome is Outcome.PASS
    flat = observe(SCRIPTED, attempt(0, 0, 500), attempt(1, 0.5, 500), attempt(2, 1.0, 500), attempt(3, 1.5, 200),
                   result=ok())
    assert "do not grow" in checks.backoff_grows(flat, 500, 3).reason
    short = observe(SCRIPTED, attempt(0, 0, 500), attempt(1, 0.5, 200), result=ok())
    assert checks.backoff_grows(short, 500, 3).outcome is Outcome.NOT_EXERCISED


def test_messages_compare_field_by_field_and_nulls_are_notes():
    sent = {"id": "m", "content": [{"type": "text", "text": "hi"}], "stop_details": None}
    got = {"id": "m", "content": [{"type": "text", "text": "hi", "citations": None}], "container": None}
    diffs, notes = checks.message_differences(got, sent)
    assert diffs == []
    assert notes == ["$.stop_details missing (sent null)", "$.content[0].citations added as null",
                     "$.container added as null"]
    diffs, _ = checks.message_differences({**got, "id": "x", "extra": 1}, sent)
    assert diffs == ["$.id: 'x' where the server sent 'm'", "$.extra added: 1"]
    assert checks.message_differences({"n": True}, {"n": 1})[0]


def test_a_stream_is_judged_by_message_and_by_text_order():
    sent = Sent({"content": [{"type": "text", "text": "abc"}]}, "abc", ("message_start", "ping", "message_stop"))
    good = observe(PLAIN, attempt(0, 0, 200), result=ok({"content": [{"type": "text", "text": "abc"}]}, "abc"),
                   sent=sent, consumed=0)
    assert checks.stream_equals_sent(good).outcome is Outcome.PASS
    wrong_text = observe(PLAIN, attempt(0, 0, 200), result=ok({"content": [{"type": "text", "text": "abc"}]}, "bca"),
                         sent=sent, consumed=0)
    assert "at character 0" in checks.stream_equals_sent(wrong_text).reason
    assert checks.stream_tolerates(good, "ping events", present={"ping"}).outcome is Outcome.PASS
    no_unknown = checks.stream_tolerates(good, "unknown events", known={"message_start", "ping", "message_stop"})
    assert no_unknown.outcome is Outcome.NOT_EXERCISED


def test_unknown_events_are_judged_against_the_same_sdks_plain_stream():
    sent = Sent({"content": [{"type": "text", "text": "abc"}]}, "abc", ("message_start", "future", "message_stop"))
    scenario = Scenario("streaming.unknown", "messages.stream", {}, (), steps=({"unknown_events": True},),
                        baseline="streaming.text")
    # The SDK's own accumulation is wrong, but the same as without unknown events: final-message's failure, not this.
    same = observe(scenario, attempt(0, 0, 200), result=ok({"text": "cba"}), sent=sent, baseline=ok({"text": "cba"}))
    assert checks.stream_tolerates(same, "unknown event types", known={"message_start", "message_stop"}).outcome \
        is Outcome.PASS
    other = observe(scenario, attempt(0, 0, 200), result=ok({"text": "ab"}), sent=sent, baseline=ok({"text": "cba"}))
    assert checks.stream_tolerates(other, "unknown event types", known=set()).outcome is Outcome.FAIL


def test_errors_surface_with_status_type_message_and_request_id():
    scenario = Scenario("errors.429", "messages.create", {}, (), steps=({"status": 429},))
    answered = attempt(0, 0, 429, request_id="req_1")
    good = observe(scenario, answered, result=error(etype="rate_limit_error", message="x scripted 429 y"))
    assert checks.error_surfaces(good, 429, "rate_limit_error", "scripted 429") == Verdict(Outcome.PASS,
                                                                                           "RateLimitError")
    bad = observe(scenario, answered, result=error(etype=None, message="?", request_id=None))
    assert checks.error_surfaces(bad, 429, "rate_limit_error", "scripted 429").reason == \
        "RateLimitError: error type unreadable, the server's message is not in its message, no request id"
    success = observe(scenario, answered, result=ok())
    assert checks.error_surfaces(success, 429, "rate_limit_error", "s").outcome is Outcome.FAIL
    retried = observe(scenario, answered, attempt(1, 0.5, 200), result=ok())
    assert checks.error_surfaces(retried, 429, "rate_limit_error", "s").outcome is Outcome.NOT_EXERCISED


def test_stream_errors_drops_and_timeouts():
    scenario = Scenario("streaming.err", "messages.stream", {}, (), steps=({"stream_error_after": 4},), deadline=6)
    first = attempt(0, 0, 200)
    assert checks.stream_error_surfaces(observe(scenario, first, result=ok()), "overloaded_error").outcome \
        is Outcome.FAIL
    typed = observe(scenario, first, result=error("APIError", status=None, etype="overloaded_error"))
    assert checks.stream_error_surfaces(typed, "overloaded_error").outcome is Outcome.PASS
    assert checks.dropped_stream_surfaces(observe(scenario, first, result=ok()), 5).outcome is Outcome.FAIL
    timed = observe(scenario, first, result=error("APITimeoutError", "timeout", None, elapsed_ms=1020))
    assert checks.times_out(timed, 1.0).reason == "APITimeoutError after 1.02 s (timeout 1 s)"
    hung = observe(scenario, first, result=None, problem="no result within 6 s (killed)")
    assert checks.times_out(hung, 1.0).reason.startswith("no timeout: still waiting after 6 s")
    wrong_kind = observe(scenario, first, result=error("Boom", "other", None, elapsed_ms=10))
    assert checks.times_out(wrong_kind, 1.0).outcome is Outcome.FAIL


def test_an_unsupported_call_is_not_exercised_and_a_driver_problem_fails():
    scenario = Scenario("strict.x", "models.list", {}, (), strict=True)
    unsupported = DriverResult("sdk", "1", "unsupported", reason="no client.models")
    assert checks.strict_accepts(observe(scenario, result=unsupported, consumed=0)) == \
        Verdict(Outcome.NOT_EXERCISED, "no client.models")
    rejected = error("APIResponseValidationError", "validation", 200, message="Data did not match\nmore")
    assert checks.strict_accepts(observe(scenario, attempt(0, 0, 200), result=rejected, consumed=0)).reason == \
        "rejected the server's answer: Data did not match"
    crashed = observe(scenario, result=None, problem="exited with code 1 without a result", consumed=0)
    assert checks.strict_accepts(crashed).reason == "driver: exited with code 1 without a result"


def test_the_beta_header_carries_exactly_the_betas_asked_for():
    scenario = Scenario("requests.beta", "messages.create", {}, ())
    good = observe(scenario, attempt(0, 0, 200, {"anthropic-beta": "a,b"}), result=ok(), consumed=0)
    assert checks.beta_header_sent(good, ("a", "b")).outcome is Outcome.PASS
    missing = observe(scenario, attempt(0, 0, 200), result=ok(), consumed=0)
    assert checks.beta_header_sent(missing, ("a",)).outcome is Outcome.FAIL


def test_a_check_fed_by_several_scenarios_takes_the_worst_and_names_it():
    combined = combine([("s.text", Verdict(Outcome.PASS, "equal")), ("s.thinking", Verdict(Outcome.NOT_EXERCISED,
                                                                                           "no thinking param"))])
    assert combined == Verdict(Outcome.PASS, "s.text: equal (not exercised: s.thinking: no thinking param)")
    worst = combine([("a", Verdict(Outcome.PASS)), ("b", Verdict(Outcome.FAIL, "boom"))])
    assert worst == Verdict(Outcome.FAIL, "b: boom")
