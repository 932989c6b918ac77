"""semantics.py: invariants of a Message, as pure functions and through the Check wrappers."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.engine import context
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.profiles import load_profiles
from conformance.rules.semantics import count_tokens_is_valid, message_problems, message_semantics_hold
from conformance.strategies.responses import example_message_case

P = load_profiles().get("2023-06-01")
CTX = context(P)


def message(**changes: Any) -> dict[str, Any]:
    msg: dict[str, Any] = example_message_case(P).response_body
    msg.update(changes)
    return msg


REQUEST = {"model": "m", "max_tokens": 100, "stop_sequences": ["END", "###"], "messages": []}


def rules_of(msg: dict[str, Any], request: dict[str, Any] | None = REQUEST) -> list[str]:
    return [f.rule for f in message_problems(msg, request, P)]


def test_a_plain_message_passes() -> None:
    assert rules_of(message()) == []


def test_stop_sequence_reason_with_a_requested_sequence_passes() -> None:
    assert rules_of(message(stop_reason="stop_sequence", stop_sequence="###")) == []


@pytest.mark.parametrize("changes", [
    {"stop_reason": "end_turn", "stop_sequence": "END"},
    {"stop_reason": "stop_sequence", "stop_sequence": None},
    {"stop_reason": "stop_sequence", "stop_sequence": "STOP"},
])
def test_inconsistent_stop_sequence_fails(changes: dict[str, Any]) -> None:
    assert rules_of(message(**changes)) == ["message.stop-sequence"]


def test_stop_sequence_without_the_request_is_checked_only_for_presence() -> None:
    assert rules_of(message(stop_reason="stop_sequence", stop_sequence="anything"), None) == []


def test_output_tokens_above_max_tokens_fails() -> None:
    found = message_problems(message(usage={"input_tokens": 1, "output_tokens": 101}), REQUEST, P)
    assert [(f.rule, f.path, f.actual) for f in found] == [("message.max-tokens", "$.usage.output_tokens", 101)]


def test_max_tokens_stop_at_the_limit_passes_and_below_it_warns() -> None:
    assert rules_of(message(stop_reason="max_tokens", usage={"input_tokens": 1, "output_tokens": 100})) == []
    (f,) = message_problems(message(stop_reason="max_tokens", usage={"input_tokens": 1, "output_tokens": 7}),
                            REQUEST, P)
    assert (f.rule, str(f.severity)) == ("message.max-tokens", "warning")


def test_tool_use_stop_needs_a_tool_use_block_not_necessarily_last() -> None:
    tool = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    text = {"type": "text", "text": "x"}
    search = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "tool_search_tool_bm25", "input": {"query": "q"}}
    with_tools = {**REQUEST, "tools": [{"name": "f", "input_schema": {"type": "object"}}]}
    assert rules_of(message(stop_reason="tool_use", content=[text, tool]), with_tools) == []
    # Recorded (claude-sonnet-4-5, tool search): a client tool_use, then a server tool call, stop_reason tool_use.
    assert rules_of(message(stop_reason="tool_use", content=[text, tool, search]), with_tools) == []
    found = message_problems(message(stop_reason="tool_use", content=[text, search]), with_tools, P)
    assert [(f.rule, f.path, f.actual) for f in found] == [
        ("message.tool-use-last", "$.content", "text, server_tool_use")]
    assert rules_of(message(stop_reason="tool_use", content=[]), with_tools) == ["message.tool-use-last"]


@pytest.mark.parametrize("mid", ["msg_01XFDUDYJgAACzvnptvVoYEL", "msg_fixture_0001", "msg_4QpJur2dWWDjF6C758FbBw5vm"])
def test_message_ids_with_the_prefix_pass(mid: str) -> None:
    assert rules_of(message(id=mid)) == []


def test_identity_violations_fail() -> None:
    assert rules_of(message(id="chatcmpl-123")) == ["message.id-prefix"]
    assert rules_of(message(type="completion")) == ["message.type"]
    assert rules_of(message(role="user")) == ["message.role"]


def test_usage_counts_must_be_non_negative_integers() -> None:
    ok = {"input_tokens": 0, "output_tokens": 3, "cache_creation_input_tokens": None, "cache_read_input_tokens": 0}
    assert rules_of(message(usage=ok)) == []
    bad = {"input_tokens": -1, "output_tokens": 2.5, "cache_read_input_tokens": True}
    found = message_problems(message(usage=bad), REQUEST, P)
    assert sorted(f.path for f in found) == ["$.usage.cache_read_input_tokens", "$.usage.input_tokens",
                                             "$.usage.output_tokens"]
    assert {f.rule for f in found} == {"message.usage"}


def _exchange(path: str, status: int, body: bytes, content_type: str = "application/json",
              request: dict[str, Any] | None = None) -> Exchange:
    import orjson
    req = HttpRequest(Headers({"content-type": "application/json"}), orjson.dumps(request or REQUEST),
                      url="https://api.anthropic.com" + path)
    return Exchange(req, HttpResponse(Headers({"content-type": content_type}), body, status=status))


def test_check_wrapper_reads_the_request_and_skips_errors() -> None:
    import orjson
    bad = message(usage={"input_tokens": 1, "output_tokens": 500})
    assert [f.rule for f in message_semantics_hold(_exchange("/v1/messages", 200, orjson.dumps(bad)), CTX)] == [
        "message.max-tokens"]
    err = {"type": "error", "error": {"type": "api_error", "message": "x"}}
    assert list(message_semantics_hold(_exchange("/v1/messages", 500, orjson.dumps(err)), CTX)) == []


def test_check_wrapper_checks_the_accumulated_stream_message() -> None:
    stream = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
        b'"role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,'
        b'"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
        b'"stop_sequence":"END"},"usage":{"output_tokens":5}}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    found = list(message_semantics_hold(_exchange("/v1/messages", 200, stream, "text/event-stream"), CTX))
    assert [(f.rule, f.part) for f in found] == [("message.stop-sequence", "message")]


def test_count_tokens_input_tokens() -> None:
    assert list(count_tokens_is_valid(_exchange("/v1/messages/count_tokens", 200, b'{"input_tokens": 14}'), CTX)) == []
    (f,) = count_tokens_is_valid(_exchange("/v1/messages/count_tokens", 200, b'{"input_tokens": -2}'), CTX)
    assert (f.rule, f.path, f.actual) == ("count-tokens.input-tokens", "$.input_tokens", -2)


# -- a tool_use input validates against its tool's input_schema ---------------------------------------------

ORDER_TOOL = {"name": "lookup_order", "input_schema": {
    "type": "object", "properties": {"order_id": {"type": "string", "pattern": "^ord_[0-9]{6}$"}},
    "required": ["order_id"], "additionalProperties": False}}


def tool_call(value: Any, name: str = "lookup_order") -> dict[str, Any]:
    return message(stop_reason="tool_use", content=[
        {"type": "tool_use", "id": "toolu_01", "name": name, "input": value}])


def tool_findings(value: Any, tool: dict[str, Any], name: str = "lookup_order") -> list[tuple[str, str, str]]:
    request = {**REQUEST, "tools": [tool]}
    return [(f.rule, str(f.severity), f.path) for f in message_problems(tool_call(value, name), request, P)]


def test_a_tool_input_that_matches_its_schema_passes() -> None:
    assert tool_findings({"order_id": "ord_123456"}, ORDER_TOOL) == []


@pytest.mark.parametrize(("value", "path"), [({"order_id": "123456"}, "$.content[0].input.order_id"),
                                             ({}, "$.content[0].input"),
                                             ({"order_id": "ord_123456", "extra": 1}, "$.content[0].input")])
def test_a_strict_tool_input_that_breaks_its_schema_is_an_error(value: Any, path: str) -> None:
    assert tool_findings(value, {**ORDER_TOOL, "strict": True}) == [("message.tool-input-schema", "error", path)]


def test_a_non_strict_tool_is_only_asked_to_follow_its_schema_so_a_mismatch_is_a_warning() -> None:
    assert tool_findings({"order_id": 7}, ORDER_TOOL) == [
        ("message.tool-input-schema", "warning", "$.content[0].input.order_id")]


@pytest.mark.parametrize("schema", [{"type": "no-such-type"}, {"$ref": "#"}, {"$ref": "https://example.com/s.json"},
                                    {"type": "object", "properties": {"a": {"minLength": "x"}}}])
def test_an_unusable_or_hostile_input_schema_gives_no_finding_and_no_crash(schema: dict[str, Any]) -> None:
    assert tool_findings({"a": 1}, {"name": "t", "input_schema": schema}, name="t") == []


def test_server_tools_and_unknown_names_are_not_this_rules_business() -> None:
    assert tool_findings({"query": 1}, ORDER_TOOL, name="web_search") == []


@pytest.mark.parametrize(("reason", "request_gave", "fires"), [
    ("tool_use", {}, True), ("tool_use", {"tools": [{"name": "t", "input_schema": {}}]}, False),
    ("stop_sequence", {}, True), ("stop_sequence", {"stop_sequences": ["END"]}, False),
    ("end_turn", {}, False), ("max_tokens", {}, False)])
def test_a_stop_reason_needs_what_the_request_gave(reason: str, request_gave: dict[str, Any], fires: bool) -> None:
    msg = message(stop_reason=reason, stop_sequence="END" if reason == "stop_sequence" else None)
    if reason == "tool_use":
        msg["content"] = [{"type": "tool_use", "id": "toolu_01", "name": "t", "input": {}}]
    request = {"model": "m", "max_tokens": 100, "messages": [], **request_gave}
    assert ("message.stop-reason" in rules_of(msg, request)) is fires
    assert "message.stop-reason" not in rules_of(msg, None)  # the request body is not known: nothing to say
