"""The stream grammar, rule by rule: a passing and a failing example each; the real corpus streams."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from conformance.accumulate import accumulate_message
from conformance.engine import context
from conformance.exchange import Exchange, Headers, HttpResponse
from conformance.findings import Finding, Severity
from conformance.profiles import load_profiles
from conformance.rules import stream as R
from conformance.rules.stream import RULES, check_stream_events, stream_grammar
from conformance.strategies.streams import render_sse, stream_events

PROFILE = load_profiles().default

START: dict[str, Any] = {"type": "message_start", "message": {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514", "content": [],
    "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}


def text_block(i: int, *pieces: str) -> list[dict[str, Any]]:
    return [{"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}},
            *({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": p}} for p in pieces),
            {"type": "content_block_stop", "index": i}]


def tool_block(i: int, *fragments: str, kind: str = "tool_use", stop: bool = True) -> list[dict[str, Any]]:
    block = {"type": kind, "id": "toolu_1", "name": "get_weather", "input": {}}
    out = [{"type": "content_block_start", "index": i, "content_block": block},
           *({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": f}}
             for f in fragments)]
    return [*out, {"type": "content_block_stop", "index": i}] if stop else out


def thinking_block(i: int, *deltas: tuple[str, str]) -> list[dict[str, Any]]:
    field = {"thinking_delta": "thinking", "signature_delta": "signature"}
    return [{"type": "content_block_start", "index": i,
             "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            *({"type": "content_block_delta", "index": i, "delta": {"type": t, field[t]: v}} for t, v in deltas),
            {"type": "content_block_stop", "index": i}]


def end(stop_reason: str = "end_turn", output_tokens: int = 5) -> list[dict[str, Any]]:
    return [{"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
             "usage": {"output_tokens": output_tokens}}, {"type": "message_stop"}]


def stream(*parts: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        out.extend(copy.deepcopy(part) if isinstance(part, list) else [copy.deepcopy(part)])
    return out


GOOD = stream(START, text_block(0, "Hel", "lo"), tool_block(1, "", '{"city": ', '"Paris"}'),
              thinking_block(2, ("thinking_delta", "hm"), ("signature_delta", "sig")), end("tool_use"))


def findings(items: list[Any]) -> list[Finding]:
    return check_stream_events(stream_events(items), PROFILE)


def fired(items: list[Any], severity: Severity = Severity.ERROR) -> set[str]:
    return {f.rule for f in findings(items) if f.severity == severity}


def test_good_stream_has_no_findings_at_all() -> None:
    assert findings(GOOD) == []


def test_catalogue_ids_are_unique_and_named_by_area() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) and all(i.startswith("stream.") for i in ids)


def test_first_event_must_be_message_start_but_ping_and_error_may_precede() -> None:
    assert fired(stream({"type": "ping"}, GOOD)) == set()
    assert fired([{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]) == set()
    assert fired(GOOD[1:]) == {R.FIRST_EVENT}
    assert fired(stream(START, GOOD)) == {R.FIRST_EVENT}
    assert fired([]) == {R.FIRST_EVENT}


def test_event_name_must_equal_data_type() -> None:
    items: list[Any] = [(p["type"], p) for p in GOOD]
    assert fired(items) == set()
    items[1] = ("content_block_delta", items[1][1])
    assert fired(items) == {R.EVENT_NAME}
    # JSON-lines captures carry no names: nothing to compare.
    assert fired([(None, p) for p in GOOD]) == set()


@pytest.mark.parametrize("data", ['{"type": "ping"', "[1]", '"x"', "", "{'type': 'ping'}"])
def test_data_must_be_a_json_object(data: str) -> None:
    items: list[Any] = [*GOOD[:1], ("ping", data), *GOOD[1:]]
    result = findings(items)
    assert {f.rule for f in result} == {R.DATA_JSON}
    assert result[0].event == 1 and result[0].part == "stream"


def test_padded_json_is_fine() -> None:
    assert fired([*GOOD[:1], ("ping", '{"type": "ping"      }'), *GOOD[1:]]) == set()


def test_event_schema_is_checked_with_a_json_path() -> None:
    bad = stream(GOOD)
    bad[1]["content_block"]["text"] = 5
    result = [f for f in findings(bad) if f.rule == R.EVENT_SCHEMA]
    assert result and result[0].event == 1 and result[0].path == "$.content_block.text"


def test_block_indexes_are_contiguous_from_zero() -> None:
    assert fired(stream(START, text_block(1, "a"), end())) == {R.BLOCK_INDEX}
    assert fired(stream(START, text_block(0, "a"), text_block(0, "b"), end())) >= {R.BLOCK_INDEX}


def test_one_block_open_at_a_time() -> None:
    a, b = text_block(0, "a"), text_block(1, "b")
    assert fired(stream(START, a[:-1], b[:1], a[-1:], b[1:], end())) == {R.BLOCK_ORDER}


def test_delta_and_stop_need_a_started_block() -> None:
    delta = {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "x"}}
    assert fired(stream(START, text_block(0), delta, end())) == {R.BLOCK_ORDER}
    assert fired(stream(START, text_block(0), {"type": "content_block_stop", "index": 0}, end())) == {R.BLOCK_ORDER}


def test_no_delta_after_the_block_stopped() -> None:
    late = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}
    assert fired(stream(START, text_block(0, "a"), late, end())) == {R.DELTA_AFTER_STOP}


@pytest.mark.parametrize(("block", "delta"), [
    (text_block(0), {"type": "thinking_delta", "thinking": "x"}),
    (text_block(0), {"type": "input_json_delta", "partial_json": "{}"}),
    (thinking_block(0), {"type": "text_delta", "text": "x"}),
    (tool_block(0), {"type": "text_delta", "text": "x"}),
    (tool_block(0, kind="server_tool_use"), {"type": "thinking_delta", "thinking": "x"}),
])
def test_delta_type_must_belong_to_the_block_type(block: list[dict[str, Any]], delta: dict[str, Any]) -> None:
    wrong = {"type": "content_block_delta", "index": 0, "delta": delta}
    assert R.DELTA_TYPE in fired(stream(START, block[:-1], wrong, block[-1:], end()))


def test_other_tool_use_blocks_take_input_json_and_unknown_types_are_info() -> None:
    assert fired(stream(START, tool_block(0, '{"a": 1}', kind="mcp_tool_use"), end())) == set()
    odd = {"type": "content_block_delta", "index": 0, "delta": {"type": "shiny_delta", "x": 1}}
    items = stream(START, text_block(0, "a")[:-1], odd, text_block(0)[-1:], end(),)
    assert fired(items) == set()
    assert fired(items, Severity.INFO) == {R.UNKNOWN_EVENT}
    newblock = [{"type": "content_block_start", "index": 0, "content_block": {"type": "hologram"}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
                {"type": "content_block_stop", "index": 0}]
    assert fired(stream(START, newblock, end())) == set()
    assert fired(stream(START, {"type": "brand_new_event"}, GOOD[1:]), Severity.INFO) == {R.UNKNOWN_EVENT}


def test_signature_delta_comes_last_in_a_thinking_block() -> None:
    late = thinking_block(0, ("signature_delta", "sig"), ("thinking_delta", "more"))
    assert fired(stream(START, late, end()), Severity.WARNING) == {R.SIGNATURE_ORDER}
    assert fired(stream(START, late, end())) == set()


def test_message_delta_after_every_block_stopped() -> None:
    block = text_block(0, "a")
    assert fired(stream(START, block[:-1], end()[:1], block[-1:], end()[1:])) == {R.MESSAGE_DELTA_ORDER}
    assert fired(stream(START, block, end()[1:]), Severity.WARNING) == {R.MESSAGE_DELTA_ORDER}


def test_message_start_that_already_stopped_needs_no_message_delta() -> None:
    # Recorded (programmatic tool calling): message_start carries the tool_use called from code execution,
    # stop_reason tool_use and zero usage; message_stop follows at once.
    whole = copy.deepcopy(START)
    whole["message"].update(stop_reason="tool_use", usage={"input_tokens": 0, "output_tokens": 0}, content=[
        {"type": "tool_use", "id": "toolu_1", "name": "roll", "input": {"player": "p2"},
         "caller": {"type": "code_execution_20250825", "tool_id": "srvtoolu_1"}}])
    assert findings(stream(whole, {"type": "message_stop"})) == []
    # Without a stop_reason in message_start, a missing message_delta is still a warning.
    assert fired(stream(START, {"type": "message_stop"}), Severity.WARNING) == {R.MESSAGE_DELTA_ORDER}


def test_tool_block_cut_by_max_tokens_is_a_warning_not_an_error() -> None:
    cut = stream(START, tool_block(0, '{"a": [1, ', stop=False), end("max_tokens"))
    assert fired(cut) == set()
    assert fired(cut, Severity.WARNING) == {R.MESSAGE_DELTA_ORDER, R.TOOL_INPUT_JSON}
    not_max = stream(START, tool_block(0, '{"a": 1}', stop=False), end("end_turn"))
    assert fired(not_max) == {R.MESSAGE_DELTA_ORDER}


def test_usage_never_decreases() -> None:
    assert fired(stream(START, text_block(0), end(output_tokens=1))) == set()
    assert fired(stream(START, text_block(0), end(output_tokens=0))) == {R.USAGE_MONOTONIC}
    two = stream(START, text_block(0), end(output_tokens=9)[:1], end(output_tokens=8))
    assert fired(two) == {R.USAGE_MONOTONIC}
    refusal = stream(START, text_block(0), end("refusal", output_tokens=0))
    assert fired(refusal) == set() and fired(refusal, Severity.WARNING) == {R.USAGE_MONOTONIC}


def _iteration(kind: str, input_tokens: int, cache_read: int, output_tokens: int) -> dict[str, Any]:
    return {"type": kind, "input_tokens": input_tokens, "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": 0}


def _compacted(*iterations: dict[str, Any]) -> list[dict[str, Any]]:
    """message_start with the first iteration's counts, message_delta with the last one's at the top level (as in
    a recorded compaction stream: cache reads 55096 at the start, 0 at the end)."""
    first, last = iterations[0], iterations[-1]
    start = copy.deepcopy(START)
    start["message"]["usage"] = {"input_tokens": first["input_tokens"], "output_tokens": 7,
                                 "cache_read_input_tokens": first["cache_read_input_tokens"],
                                 "cache_creation_input_tokens": 0}
    delta, stop = end(output_tokens=last["output_tokens"])
    delta["usage"] = {"input_tokens": last["input_tokens"], "output_tokens": last["output_tokens"],
                      "cache_read_input_tokens": last["cache_read_input_tokens"], "cache_creation_input_tokens": 0,
                      "iterations": list(iterations)}
    compaction = [{"type": "content_block_start", "index": 0, "content_block": {"type": "compaction", "content": None}},
                  {"type": "content_block_delta", "index": 0, "delta": {"type": "compaction_delta", "content": "sum"}},
                  {"type": "content_block_stop", "index": 0}]
    return stream(start, compaction, text_block(1, "Hello"), delta, stop)


def test_after_a_compaction_usage_is_compared_summed_over_the_iterations() -> None:
    compacted = _compacted(_iteration("compaction", 100, 55096, 83), _iteration("message", 181, 0, 8))
    assert findings(compacted) == []
    # The same drop without a compaction among the iterations is still a drop.
    plain = _compacted(_iteration("message", 100, 55096, 83), _iteration("message", 181, 0, 8))
    assert fired(plain) == {R.USAGE_MONOTONIC}
    # Totals that fall below message_start's counts are a drop even after a compaction.
    short = _compacted(_iteration("compaction", 100, 55096, 83), _iteration("message", 181, 0, 8))
    short[0]["message"]["usage"]["cache_read_input_tokens"] = 60000
    (f,) = [f for f in findings(short) if f.rule == R.USAGE_MONOTONIC]
    assert (f.severity, f.path, f.actual) == (Severity.ERROR, "$.usage.cache_read_input_tokens", 55096)
    assert "summed over usage.iterations" in f.message


def test_message_stop_last_and_once() -> None:
    assert fired(GOOD[:-1]) == {R.MESSAGE_STOP}
    assert fired(stream(GOOD, {"type": "ping"})) == {R.MESSAGE_STOP}
    assert fired(stream(GOOD, {"type": "message_stop"})) == {R.MESSAGE_STOP}


def test_error_event_ends_the_stream_with_a_known_error_type() -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "details": None}
    assert fired(stream(GOOD[:3], overloaded)) == set()
    assert fired(stream(GOOD[:3], overloaded, GOOD[3:])) == {R.ERROR_EVENT}
    not_error = {"type": "error", "error": {"type": "message", "message": "x"}}
    assert R.ERROR_EVENT in fired(stream(GOOD[:3], not_error))
    # An error type the version does not list: a warning (newer than the profile, or a gateway's own).
    newer = {"type": "error", "error": {"type": "quota_exceeded_error", "message": "x"}}
    assert fired(stream(GOOD[:3], newer)) == set()
    assert fired(stream(GOOD[:3], newer), Severity.WARNING) == {R.ERROR_EVENT}


@pytest.mark.parametrize("fragments", [("",), (), ('{"a"', ': 1}'), ("  ",)])
def test_tool_input_fragments_join_into_an_object(fragments: tuple[str, ...]) -> None:
    assert fired(stream(START, tool_block(0, *fragments), end("tool_use"))) == set()


@pytest.mark.parametrize("fragments", [('{"a": ',), ("[1, 2]",), ('"s"',)])
def test_tool_input_fragments_that_are_not_an_object(fragments: tuple[str, ...]) -> None:
    assert R.TOOL_INPUT_JSON in fired(stream(START, tool_block(0, *fragments), end("tool_use")))


def test_accumulated_message_must_be_a_valid_message() -> None:
    bad_start = copy.deepcopy(START)
    del bad_start["message"]["usage"]
    result = [f for f in findings(stream(bad_start, text_block(0, "a"), end())) if f.rule == R.ACCUMULATED_MESSAGE]
    assert result and result[0].part == "message" and result[0].path.startswith("$")


def test_unterminated_last_event_is_recovered_with_a_warning() -> None:
    body = render_sse(GOOD)
    ex = Exchange(None, HttpResponse(Headers({"content-type": "text/event-stream"}), body.rstrip(b"\n")))
    result = list(stream_grammar(ex, context(PROFILE)))
    assert [(f.rule, f.severity) for f in result] == [(R.UNTERMINATED_EVENT, Severity.WARNING)]
    whole = Exchange(None, HttpResponse(Headers({"content-type": "text/event-stream"}), body))
    assert list(stream_grammar(whole, context(PROFILE))) == []


def test_non_stream_exchange_is_not_judged() -> None:
    ex = Exchange(None, HttpResponse(Headers({"content-type": "application/json"}), b"{}"))
    assert list(stream_grammar(ex, context(PROFILE))) == []


def test_accumulate_builds_the_message_like_the_sdks() -> None:
    cite = {"type": "content_block_delta", "index": 0,
            "delta": {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}}}
    items = stream(START, text_block(0, "Hel", "lo")[:-1], cite, text_block(0)[-1:],
                   tool_block(1, '{"city": ', '"Paris"}'), thinking_block(2, ("thinking_delta", "a"),
                                                                         ("thinking_delta", "b"),
                                                                         ("signature_delta", "S")),
                   end("tool_use", 42))
    message = accumulate_message(stream_events(items))
    assert message is not None
    assert message["content"] == [
        {"type": "text", "text": "Hello", "citations": [cite["delta"]["citation"]]},  # type: ignore[index]
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "thinking", "thinking": "ab", "signature": "S"},
    ]
    assert message["stop_reason"] == "tool_use" and message["usage"] == {"input_tokens": 10, "output_tokens": 42}


@pytest.mark.parametrize("items", [[], [{"type": "ping"}], [("x", "not json")], [{"type": "message_start"}],
                                   [START, {"type": "content_block_delta", "index": "0", "delta": None}],
                                   [START, {"type": "message_delta", "delta": [], "usage": 3}]])
def test_accumulate_never_raises(items: list[Any]) -> None:
    accumulate_message(stream_events(items))


@pytest.mark.corpus
def test_every_real_stream_has_no_error_findings(corpus: Path) -> None:
    from conformance.cassettes import iter_recording_files, read_recording
    from conformance.engine import context, endpoint_of, profile_for

    profiles = load_profiles()
    failures, streams = [], 0
    for path in iter_recording_files([corpus]):
        for ex in read_recording(path).exchanges:
            if ex.events is None or endpoint_of(ex) != "messages":
                continue
            streams += 1
            for version in {profile_for(ex, profiles).version, *profiles.versions}:
                judged = stream_grammar(ex, context(profiles.get(version)))
                failures += [f"{path.name} #{ex.interaction} [{version}] {f.rule} event={f.event} {f.message}"
                             for f in judged if f.severity == Severity.ERROR]
    assert streams > 0
    assert not failures, "\n".join(failures)
