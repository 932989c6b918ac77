"""The checks of an SDK run: small pure functions ``(Observation, ...) -> Verdict``.

Each judges one property from what the server logged (attempts, their arrival times and statuses) and
what the driver reported. A check whose precondition failed (the server did not answer the scripted
status first, the driver made more attempts than configured) is *not exercised* and points at the check
that judges that precondition, so one fault fails exactly one check. Timing is judged from the server's
arrival times: lower bounds are exact (a client cannot retry before it waited), upper bounds are generous.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from conformance.sdk.model import Observation, Verdict, differs, failed, not_exercised, passed
from conformance.sdk.protocol import DriverResult

CLOCK_SLACK = 0.02
"""Seconds of timer and clock granularity allowed below a waited-for hint."""


def _shown_result(obs: Observation) -> str:
    if obs.result is None:
        return f"no result ({obs.problem})" if obs.problem else "no result"
    return obs.result.shown()


def _unusable(obs: Observation) -> Verdict | None:
    """The verdict when the driver gave nothing to judge: its problem, or the SDK cannot make the call."""
    if obs.result is None and not obs.stopped:
        return failed(f"driver: {obs.problem or 'no result'}")
    if obs.result is not None and obs.result.outcome == "unsupported":
        return not_exercised(obs.result.reason or "the driver cannot make this call")
    return None


def _reached(obs: Observation) -> Verdict | None:
    """Not exercised when the server answered before the scenario's script (or, unscripted, did not answer 200):
    the request itself was refused (no key, no version ...), which the requests checks judge."""
    if not obs.attempts:
        return None
    first = obs.attempts[0]
    if obs.scenario.steps and obs.consumed == 0:
        return not_exercised(f"the server answered {first.status} before the scripted fault (see the requests "
                             "checks)")
    if not obs.scenario.steps and obs.attempts[-1].status not in (200, None):
        return not_exercised(f"the server answered {obs.attempts[-1].status} (see the requests checks)")
    return None


def _outcome_of(obs: Observation) -> DriverResult | Verdict:
    """The driver's result, when the scenario reached its script and the driver gave one; else the verdict."""
    blocked = _reached(obs) or _unusable(obs)
    if blocked is not None:
        return blocked
    assert obs.result is not None
    return obs.result


def _first_answered(obs: Observation, status: int | None) -> Verdict | None:
    """Not exercised unless the first attempt got the scripted ``status`` (``None``: a dropped connection)."""
    if not obs.attempts:
        return _unusable(obs) or failed("no request reached the server")
    skip = _reached(obs)
    if skip is not None:
        return skip
    first = obs.attempts[0]
    if status is not None and first.status != status:
        got = "no answer" if first.status is None else f"{first.status}"
        return not_exercised(f"the first attempt got {got}, not the scripted {status} (see the requests checks)")
    return None


def retried_then_answered(obs: Observation, status: int | None) -> Verdict:
    """A retryable failure (``status``, or a dropped connection when ``None``) is retried once, then answered."""
    what = "a dropped connection" if status is None else f"a {status}"
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    n = len(obs.attempts)
    if n == 1:
        return failed(f"not retried: {what} ended the call after 1 attempt ({_shown_result(obs)})")
    if n > 2:
        return failed(f"{n} attempts for {what} followed by a 200 (expected 2)")
    blocked = _unusable(obs)
    if blocked is not None:
        return blocked
    if obs.result is not None and obs.result.outcome != "ok":
        return failed(f"retried, but the call ended in {_shown_result(obs)}")
    return passed(f"retried after {obs.gaps[0]:.2f} s")


def not_retried(obs: Observation, status: int, why: str = "") -> Verdict:
    """A failure that must not be retried (``status``, or one the server marked ``x-should-retry: false``)."""
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    n = len(obs.attempts)
    if n > 1:
        return failed(f"retried {why or f'a {status}'}: {n} attempts")
    blocked = _unusable(obs)
    return blocked or passed(f"1 attempt, then {_shown_result(obs)}")


def waited_for_hint(obs: Observation, status: int, wait: float, ignored: float | None = None) -> Verdict:
    """The retry came no sooner than the hint (``wait`` seconds) and not as late as the ``ignored`` hint."""
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    hint = f"{wait * 1000:g} ms" if wait < 1 or ignored is not None else f"{wait:g} s"
    if len(obs.attempts) < 2:
        if obs.result is None and ignored is not None:
            return failed(f"no retry within {obs.scenario.deadline:g} s: waiting for retry-after ({ignored:g} s) "
                          f"instead of retry-after-ms ({hint})")
        return failed(f"not retried ({_shown_result(obs)})")
    gap = obs.gaps[0]
    if gap < wait - CLOCK_SLACK:
        return failed(f"retried after {gap:.2f} s, before the {hint} the server asked for")
    if ignored is not None and gap >= ignored - CLOCK_SLACK:
        return failed(f"waited {gap:.2f} s: honoured retry-after ({ignored:g} s) over retry-after-ms ({hint})")
    if gap > 2 * wait + 3:
        return failed(f"waited {gap:.2f} s for a {hint} hint")
    return passed(f"retried after {gap:.2f} s (hint {hint})")


def long_hint(obs: Observation, status: int, seconds: float) -> Verdict:
    """A ``retry-after`` beyond the 60 s some SDKs cap: waiting it out passes, falling back to own backoff differs.

    The scenario stops the driver after ``Scenario.observe`` seconds: no retry by then means it is waiting.
    """
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    window = obs.scenario.observe or obs.scenario.deadline
    if len(obs.attempts) == 1:
        if obs.stopped:
            return passed(f"waits out retry-after: {seconds:g}: no retry within the {window:g} s observed")
        blocked = _unusable(obs)
        return blocked or differs(f"gives up at once on retry-after: {seconds:g} ({_shown_result(obs)})")
    gap = obs.gaps[0]
    if gap < 0.05:
        return failed(f"retried at once ({gap:.2f} s) despite retry-after: {seconds:g}")
    return differs(f"ignores retry-after: {seconds:g} (over its cap) and retries after its own backoff ({gap:.2f} s)")


def attempts_match_max_retries(obs: Observation, status: int, max_retries: int) -> Verdict:
    """A failure that keeps coming is tried exactly ``1 + max_retries`` times, then surfaces."""
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    n, expected = len(obs.attempts), max_retries + 1
    if n != expected:
        return failed(f"{n} attempts with max_retries {max_retries} (expected {expected})")
    blocked = _unusable(obs)
    if blocked is not None:
        return blocked
    return passed(f"{n} attempts, then {_shown_result(obs)}")


def backoff_grows(obs: Observation, status: int, failures: int) -> Verdict:
    """Without a hint, the waits between retries grow (exponential backoff) and none is immediate."""
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    if len(obs.attempts) < failures + 1:
        return not_exercised(f"only {len(obs.attempts)} attempts for {failures} failures (see retries.max-attempts)")
    gaps = obs.gaps[:failures]
    shown = ", ".join(f"{g:.2f}" for g in gaps)
    if min(gaps) < 0.05:
        return failed(f"retried at once: waits of {shown} s")
    if gaps[-1] < 1.5 * gaps[0]:
        return failed(f"the waits do not grow: {shown} s")
    return passed(f"waits of {shown} s")


# -- streaming and answers -------------------------------------------------------------------------------------

def message_differences(got: Any, sent: Any, path: str = "$") -> tuple[list[str], list[str]]:
    """(differences, notes) between what the SDK holds and what the server sent, field by field.

    A field only one side has is a difference unless its value is null (an SDK that declares a field the
    answer lacked, or drops one the server sent as null): those are notes, reported but not failed.
    """
    diffs: list[str] = []
    notes: list[str] = []
    if isinstance(got, Mapping) and isinstance(sent, Mapping):
        for key in sent:
            if key not in got:
                (notes if sent[key] is None else diffs).append(f"{path}.{key} missing" +
                                                              (" (sent null)" if sent[key] is None else ""))
        for key in got:
            if key not in sent:
                (notes if got[key] is None else diffs).append(f"{path}.{key} added" +
                                                             (" as null" if got[key] is None else f": {got[key]!r}"))
            else:
                d, n = message_differences(got[key], sent[key], f"{path}.{key}")
                diffs += d
                notes += n
        return diffs, notes
    if isinstance(got, list) and isinstance(sent, list):
        if len(got) != len(sent):
            return [f"{path}: {len(got)} items, the server sent {len(sent)}"], []
        for i, (a, b) in enumerate(zip(got, sent, strict=True)):
            d, n = message_differences(a, b, f"{path}[{i}]")
            diffs += d
            notes += n
        return diffs, notes
    if got != sent or (type(got) is bool and type(sent) is not bool):
        shown_got, shown_sent = repr(got), repr(sent)
        return [f"{path}: {shown_got[:60]} where the server sent {shown_sent[:60]}"], []
    return [], []


def _text_difference(got: str, sent: str) -> str | None:
    if got == sent:
        return None
    at = next((i for i, (a, b) in enumerate(zip(got, sent, strict=False)) if a != b), min(len(got), len(sent)))
    return f"the text surfaced differs from the server's at character {at} ({len(got)} vs {len(sent)} characters)"


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    shown = ", ".join(n.removeprefix("$.") for n in notes[:4])
    return f"; {len(notes)} null-only differences (reported, not failed): {shown}" + (", ..." if len(notes) > 4 else "")


def _finished(obs: Observation, what: str) -> Verdict | None:
    """The verdict unless the call completed: the driver's problem, not exercised, or the error it ended in."""
    result = _outcome_of(obs)
    if isinstance(result, Verdict):
        return result
    if result.outcome != "ok":
        return failed(f"{what} ended in {_shown_result(obs)}")
    return None


def _compared(obs: Observation, what: str) -> Verdict:
    ended = _finished(obs, what)
    if ended is not None:
        return ended
    assert obs.result is not None
    if obs.sent is None or obs.sent.message is None:
        return not_exercised("the server's answer could not be fetched for comparison")
    diffs, notes = message_differences(obs.result.response, obs.sent.message)
    if diffs:
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        return failed(diffs[0] + more)
    if obs.sent.text is not None and obs.result.text is not None:
        wrong = _text_difference(obs.result.text, obs.sent.text)
        if wrong:
            return failed(wrong)
    return passed("equal field by field" + _notes(notes))


def answer_equals_sent(obs: Observation) -> Verdict:
    """``messages.create`` returns the Message the server sent, field by field."""
    return _compared(obs, "the call")


def stream_equals_sent(obs: Observation) -> Verdict:
    """The SDK's accumulated final Message (and the text it surfaced) equals what the server streamed."""
    return _compared(obs, "the stream")


def stream_tolerates(obs: Observation, what: str, present: Collection[str] | None = None,
                     known: Collection[str] | None = None) -> Verdict:
    """A stream carrying ``what`` (event types in ``present``, or any type outside ``known``) completes, and
    with the same final Message as the :attr:`~Scenario.baseline` stream without them (when there is one).

    Equality with what the server sent is ``streaming.final-message``'s to judge: compared with the SDK's own
    result for the plain stream, a mistake in accumulating text fails that check only.
    """
    if obs.sent is not None:
        events = set(obs.sent.events)
        found = events & set(present) if present is not None else events - set(known or ())
        if not found:
            return not_exercised(f"the server's stream carried no {what}")
    ended = _finished(obs, f"a stream with {what}")
    if ended is not None:
        return ended
    assert obs.result is not None
    base = obs.baseline
    if base is None or base.outcome != "ok":
        return passed(f"completed (no {obs.scenario.baseline or 'baseline'} result to compare with)")
    diffs, _ = message_differences(obs.result.response, base.response)
    if diffs:
        return failed(f"differs from the same stream without {what}: {diffs[0]}")
    return passed(f"the same Message as {obs.scenario.baseline}")


def stream_error_surfaces(obs: Observation, error_type: str) -> Verdict:
    """An ``error`` event mid-stream surfaces as an error carrying its type, never as a message."""
    result = _outcome_of(obs)
    if isinstance(result, Verdict):
        return result
    err = result.error
    if result.outcome == "ok" or err is None:
        return failed("swallowed the in-stream error event: returned a message")
    if err.type is None:
        return failed(f"raised {err.cls} without the error's type ({error_type})")
    if err.type != error_type:
        return failed(f"raised {err.cls} with type {err.type}, the event said {error_type}")
    return passed(f"{err.cls} ({err.type})")


def dropped_stream_surfaces(obs: Observation, after: int) -> Verdict:
    """A connection dropped mid-stream surfaces as an error, never as a (truncated) message."""
    result = _outcome_of(obs)
    if isinstance(result, Verdict):
        return result
    if result.outcome == "ok":
        return failed(f"returned a message from a stream cut after {after} events (silently truncated)")
    return passed(_shown_result(obs).removeprefix("error "))


# -- errors, timeouts, strict validation -------------------------------------------------------------------

def error_surfaces(obs: Observation, status: int, error_type: str, message: str) -> Verdict:
    """An error answer surfaces with its status, error type, message and request id readable."""
    if len(obs.attempts) > 1:
        return not_exercised(f"{len(obs.attempts)} attempts with max_retries 0 (see retries.max-attempts)")
    skip = _first_answered(obs, status)
    if skip is not None:
        return skip
    result = _outcome_of(obs)
    if isinstance(result, Verdict):
        return result
    err = result.error
    if result.outcome == "ok" or err is None:
        return failed(f"reported success for a {status} {error_type}")
    wrong = []
    if err.status != status:
        wrong.append(f"status {err.status}")
    if err.type != error_type:
        wrong.append(f"error type {err.type or 'unreadable'}")
    if message not in err.message:
        wrong.append("the server's message is not in its message")
    sent_id = obs.attempts[0].request_id
    if err.request_id is None:
        wrong.append("no request id")
    elif sent_id is not None and err.request_id != sent_id:
        wrong.append(f"request id {err.request_id} (the server sent {sent_id})")
    if wrong:
        return failed(f"{err.cls}: " + ", ".join(wrong))
    return passed(err.cls)


def times_out(obs: Observation, timeout: float) -> Verdict:
    """A stalled answer ends in the SDK's timeout error within its configured timeout (and some slack)."""
    skip = _reached(obs)
    if skip is not None:
        return skip
    if len(obs.attempts) > 1:
        return not_exercised(f"{len(obs.attempts)} attempts with max_retries 0 (see retries.max-attempts)")
    if obs.result is None:
        return failed(f"no timeout: still waiting after {obs.scenario.deadline:g} s on an answer stalled past "
                      f"its {timeout:g} s timeout")
    blocked = _unusable(obs)
    if blocked is not None:
        return blocked
    took = f" after {obs.result.elapsed_ms / 1000:.2f} s" if obs.result.elapsed_ms is not None else ""
    if obs.result.outcome == "ok" or obs.result.error is None:
        return failed(f"waited for the stalled answer{took}, past its {timeout:g} s timeout")
    if obs.result.error.kind != "timeout":
        return failed(f"ended in {obs.result.error.shown()}{took}, not a timeout error")
    if obs.result.elapsed_ms is not None and obs.result.elapsed_ms / 1000 > timeout * 1.5 + 0.5:
        return failed(f"{obs.result.error.cls}{took}, well past its {timeout:g} s timeout")
    return passed(f"{obs.result.error.cls}{took} (timeout {timeout:g} s)")


def strict_accepts(obs: Observation) -> Verdict:
    """With strict response validation, the SDK accepts every answer of the reference server."""
    result = _outcome_of(obs)
    if isinstance(result, Verdict):
        return result
    err = result.error
    if result.outcome == "ok" or err is None:
        return passed()
    if err.kind == "validation":
        return failed(f"rejected the server's answer: {err.message.splitlines()[0][:160]}")
    return failed(f"ended in {err.shown()}")


def beta_header_sent(obs: Observation, betas: Sequence[str]) -> Verdict:
    """Betas asked for through the SDK arrive as ``anthropic-beta`` with exactly those values."""
    blocked = _unusable(obs)
    if blocked is not None and blocked.outcome.value == "not-exercised":
        return blocked
    if not obs.attempts:
        return blocked or failed("no request reached the server")
    values = obs.attempts[0].headers.get_all("anthropic-beta")
    sent = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if not values:
        return failed(f"no anthropic-beta header (asked for {', '.join(betas)})")
    if sorted(sent) != sorted(betas):
        return failed(f"anthropic-beta: {', '.join(values)} (asked for {', '.join(betas)})")
    return passed(f"anthropic-beta: {', '.join(values)}")
