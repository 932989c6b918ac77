"""requests.py: request_problems / header_problems (the API's own wording) and the request Checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conformance.engine import context
from conformance.exchange import Headers
from conformance.findings import Finding
from conformance.profiles import Profile, load_profiles
from conformance.rules.requests import (
    header_problems,
    request_headers_are_valid,
    request_obeys_cross_field_rules,
    request_problems,
    server_rejects_invalid_requests,
)
from conformance.strategies.responses import Case, example_message_case

PROFILES = load_profiles()
P = PROFILES.get("2023-06-01")
NEWEST = PROFILES.get("2026-10-21")
DOC = PROFILES.get("2024-01-01")


def body(**changes: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"model": "claude-sonnet-4-20250514", "max_tokens": 2048,
                         "messages": [{"role": "user", "content": "Hello"}]}
    b.update(changes)
    return b


TOOL_TURNS: list[dict[str, Any]] = [
    {"role": "user", "content": "weather?"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
]
TOOLS = [{"name": "get_weather", "input_schema": {"type": "object"}}]


@pytest.mark.parametrize("version", sorted(PROFILES.versions))
def test_valid_requests_have_no_problems(version: str) -> None:
    profile = PROFILES.get(version)
    assert request_problems(body(), profile) == []
    assert request_problems(body(messages=TOOL_TURNS, tools=TOOLS, tool_choice={"type": "tool", "name": "get_weather"}),
                            profile) == []
    assert request_problems(body(thinking={"type": "enabled", "budget_tokens": 1024}), profile) == []
    assert request_problems({"model": "m", "messages": [{"role": "user", "content": "x"}]}, profile,
                            "count_tokens") == []


def test_schema_violations_are_worded_like_the_api_with_dotted_paths() -> None:
    problems = request_problems(body(messages=[{"role": "robot", "content": "hi"}]), P)
    assert [(v.path, v.message) for v in problems] == [
        ("$.messages[0].role", "messages.0.role: Input should be 'user', 'assistant' or 'system'")]
    (v,) = request_problems({"model": "m", "messages": [{"role": "user", "content": "x"}]}, P)
    assert (v.path, v.message) == ("$.max_tokens", "max_tokens: Field required")
    (v,) = request_problems(body(max_tokens="many"), P)
    assert v.message == "max_tokens: Input should be a valid integer"
    (v,) = request_problems(body(surprise=1), P)
    assert (v.path, v.message) == ("$.surprise", "surprise: Extra inputs are not permitted")


def test_most_useful_first() -> None:
    problems = request_problems({"messages": [{"role": "robot", "content": 1}]}, P)
    assert problems[0].path in ("$.max_tokens", "$.model")  # missing top-level fields before deep detail
    assert problems[-1].path.startswith("$.messages[0]")


def _first_role(profile: Profile, role: str | None) -> Profile:
    return dataclasses.replace(profile, request_rules=dataclasses.replace(profile.request_rules,
                                                                          first_message_role=role))


def test_first_message_from_the_user_only_where_the_version_requires_it() -> None:
    opening = body(messages=[{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Go on"}])
    # The API has accepted an assistant turn first since about December 2024 (a recording answered 200), and
    # the reference document is silent: no shipped profile requires the user's.
    for profile in PROFILES:
        assert profile.request_rules.first_message_role is None
        assert request_problems(opening, profile) == []
    strict = _first_role(P, "user")
    (v,) = request_problems(opening, strict)
    assert (v.path, v.message) == ("$.messages[0].role", 'messages.0.role: first message must use the "user" role')
    assert request_problems(body(), strict) == []
    # A role the schema refuses is the schema's finding, not also this rule's.
    (v,) = request_problems(body(messages=[{"role": "robot", "content": "Hi"}]), strict)
    assert v.schema_path != ""


def test_empty_messages() -> None:
    (v,) = request_problems(body(messages=[]), P)
    assert v.path == "$.messages"


def test_tool_result_must_answer_a_tool_use_of_the_previous_turn() -> None:
    turns: list[dict[str, Any]] = [dict(t) for t in TOOL_TURNS]
    turns[2] = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}
    (v,) = request_problems(body(messages=turns), P)
    assert v.path == "$.messages[2].content[0].tool_use_id"
    assert "toolu_9" in v.message and v.message.startswith("messages.2.content.0.tool_use_id: unexpected `tool_use_id`")


def _use(tool_id: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {}}]}


def _results(*tool_ids: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": t, "content": "x"} for t in tool_ids]}


def test_tool_results_answer_the_whole_previous_assistant_turn_of_consecutive_messages() -> None:
    # The API merges consecutive messages of one role: one assistant turn split in two (a recorded replay,
    # answered 200), and one user turn split in two, are single turns.
    split = [{"role": "user", "content": "q"}, _use("call_a"), _use("auto_load_b"), _results("call_a", "auto_load_b")]
    assert request_problems(body(messages=split, tools=TOOLS), P) == []
    both = {"role": "assistant", "content": [*_use("toolu_a")["content"], *_use("toolu_b")["content"]]}
    answers_split = [{"role": "user", "content": "q"}, both, _results("toolu_a"), _results("toolu_b")]
    assert request_problems(body(messages=answers_split, tools=TOOLS), P) == []
    # Only the turn just before counts: an id of an earlier assistant turn is still a mismatch.
    earlier = [{"role": "user", "content": "q"}, _use("toolu_a"), _results("toolu_a"), _use("toolu_b"),
               _results("toolu_a")]
    (v,) = request_problems(body(messages=earlier, tools=TOOLS), P)
    assert (v.path, v.expected, v.actual) == ("$.messages[4].content[0].tool_use_id", ["toolu_b"], "toolu_a")
    # A turn of another role between them ends the assistant turn.
    apart = [{"role": "user", "content": "q"}, _use("toolu_a"), {"role": "system", "content": "note"},
             _results("toolu_a")]
    (v,) = request_problems(body(messages=apart, tools=TOOLS), P)
    assert (v.path, v.expected) == ("$.messages[3].content[0].tool_use_id", [])


def test_tool_choice_must_name_a_tool() -> None:
    (v,) = request_problems(body(tools=TOOLS, tool_choice={"type": "tool", "name": "nope"}), P)
    assert (v.path, v.actual) == ("$.tool_choice.name", "nope")
    (v,) = request_problems(body(tool_choice={"type": "any"}), P)
    assert v.path == "$.tool_choice"


def test_thinking_budget() -> None:
    problems = request_problems(body(thinking={"type": "enabled", "budget_tokens": 500}), P)
    assert [v.path for v in problems] == ["$.thinking.budget_tokens"]
    problems = request_problems(body(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 4096}), P)
    assert [v.path for v in problems] == ["$.max_tokens"]
    assert "`max_tokens` must be greater than `thinking.budget_tokens`" in problems[0].message


def test_newest_version_rejections() -> None:
    assert request_problems(body(temperature=0.5), P) == []
    (v,) = request_problems(body(temperature=0.5), NEWEST)
    assert v.path == "$.temperature"
    doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    turns = [{"role": "user", "content": "x"}, {"role": "assistant", "content": [doc]}]
    assert request_problems(body(messages=turns), P) == []
    first = request_problems(body(messages=turns), NEWEST)[0]
    assert first.path.startswith("$.messages[1].content[0]")
    cited = [{"role": "user", "content": [{"type": "text", "text": "x", "citations": []}]}]
    assert [v.path for v in request_problems(body(messages=cited), NEWEST)] == ["$.messages[0].content[0].citations"]


# -- what the named model refuses (``accepts`` in the catalogue) -----------------------------------------------

def _said(found: list[Any]) -> list[tuple[str, str, str]]:
    return [(v.dotted, v.keyword, v.message) for v in found]


@pytest.mark.parametrize(("model", "thinking", "message"), [
    ("claude-3-haiku-20240307", {"type": "enabled", "budget_tokens": 1024},
     "'claude-3-haiku-20240307' does not support thinking."),
    ("claude-3-5-haiku-latest", {"type": "adaptive"}, "'claude-3-5-haiku-latest' does not support thinking."),
    ("claude-sonnet-4-5", {"type": "adaptive"}, "adaptive thinking is not supported on this model"),
    ("claude-opus-4-7", {"type": "enabled", "budget_tokens": 1024},
     '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
     '"output_config.effort" to control thinking behavior.'),
    ("claude-fable-5", {"type": "disabled"}, '"thinking.type.disabled" is not supported for this model. Thinking '
     'defaults to adaptive mode when not specified; use "thinking.type.enabled" with "budget_tokens" for extended '
     'thinking.'),
])
def test_a_thinking_type_the_model_refuses(model: str, thinking: dict[str, Any], message: str) -> None:
    for profile in (P, NEWEST):
        assert _said(request_problems(body(model=model, thinking=thinking), profile)) == [
            ("thinking.type", "thinking-unsupported-model", f"thinking.type: {message}")]
    # Only the Messages endpoint is judged: nothing says count_tokens refuses it.
    counted = {"model": model, "messages": [{"role": "user", "content": "x"}], "thinking": thinking}
    assert request_problems(counted, P, "count_tokens") == []


@pytest.mark.parametrize(("model", "thinking"), [
    ("claude-3-haiku-20240307", {"type": "disabled"}),  # a model that does not think takes "disabled"
    ("claude-sonnet-4-5-20250929", {"type": "enabled", "budget_tokens": 1024}),
    ("claude-sonnet-4-6", {"type": "adaptive"}), ("claude-opus-4-6", {"type": "enabled", "budget_tokens": 1024}),
    ("claude-fable-5", {"type": "adaptive"}),
    ("claude-opus-4-7", {"type": "disabled"}),  # unknown (the sources disagree): never judged
    ("claude-fable-5-2", {"type": "enabled", "budget_tokens": 1024}),  # unknown
    ("claude-does-not-exist", {"type": "adaptive"}),  # not in the catalogue: the 404 is another rule's
])
def test_a_thinking_type_the_model_takes_or_the_profile_does_not_know(model: str, thinking: dict[str, Any]) -> None:
    assert request_problems(body(model=model, thinking=thinking), P) == []


def test_temperature_with_top_p() -> None:
    pair = {"temperature": 0.5, "top_p": 0.9}
    for model in ("claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-1-20250805", "claude-sonnet-4-6"):
        assert _said(request_problems(body(model=model, **pair), P)) == [
            ("top_p", "temperature-with-top-p", "top_p: `temperature` and `top_p` cannot both be specified for this "
             "model. Please use only one.")]
        assert request_problems(body(model=model, temperature=0.5, top_k=5), P) == []
        assert request_problems(body(model=model, top_p=0.9), P) == []
    for model in ("claude-3-haiku-20240307", "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514"):
        assert request_problems(body(model=model, **pair), P) == []  # taken, or unknown (Sonnet 4)
    found = request_problems(body(model="claude-opus-4-5-20251101", **pair), DOC)
    assert [v.keyword for v in found] == ["temperature-with-top-p"]
    # A broken value is the schema's to report, alone.
    assert [v.dotted for v in request_problems(body(model="claude-haiku-4-5", temperature=3, top_p=0.9), P)] == [
        "temperature"]


def test_sampling_the_model_refuses() -> None:
    found = request_problems(body(model="claude-opus-4-7", temperature=0.5, top_p=0.9), P)
    assert _said(found) == [("temperature", "sampling-unsupported-model", "temperature: `temperature` is deprecated "
                             "for this model."),
                            ("top_p", "sampling-unsupported-model", "top_p: `top_p` is deprecated for this model.")]
    assert request_problems(body(model="claude-opus-4-6", temperature=0.5), P) == []
    assert request_problems(body(model="claude-fable-5", temperature=0.5), P) == []  # unknown
    # 2026-10-21 refuses the field for every model: one problem, the version's.
    assert len(request_problems(body(model="claude-opus-4-7", temperature=0.5), NEWEST)) == 1


def test_speed_only_where_the_model_has_fast_mode() -> None:
    assert _said(request_problems(body(model="claude-3-haiku-20240307", speed="standard"), P)) == [
        ("speed", "speed-unsupported-model", "speed: 'claude-3-haiku-20240307' does not support the `speed` "
         "parameter.")]
    assert request_problems(body(model="claude-opus-5-5", speed="fast"), P) == []
    assert request_problems(body(model="claude-opus-4-8", speed="fast"), P) == []  # with its beta header: unknown
    assert request_problems(body(model="claude-3-haiku-20240307", speed=None), P) == []
    assert [v.keyword for v in request_problems(body(model="claude-3-haiku-20240307", speed="ludicrous"), P)] == [
        "enum"]  # the schema's alone


def test_effort_levels_of_the_model() -> None:
    (v,) = request_problems(body(model="claude-opus-4-5-20251101", output_config={"effort": "max"}), P)
    assert (v.dotted, v.keyword, v.message) == (
        "output_config.effort", "effort-unsupported-level", "output_config.effort: This model does not support "
        "effort level 'max'. Supported levels: high, low, medium.")
    assert request_problems(body(model="claude-sonnet-4-6", output_config={"effort": "max"}), P) == []
    assert request_problems(body(model="claude-sonnet-4-5", output_config={"effort": "low"}), P) == []  # no wording
    assert request_problems(body(model="claude-opus-4-7", output_config={"effort": "xhigh"}), P) == []


def test_a_server_that_accepts_what_a_model_refuses_is_warned_not_failed() -> None:
    # An old recording, from before a model refused the pair (or a model that since lost fast mode): the API may
    # have enforced it only later, so accepting it is a warning on both sides.
    case = example_message_case(P)
    assert case.request_body is not None
    case.request_body.update(model="claude-sonnet-4-5-20250929", temperature=0.5, top_p=0.9)
    got = [(f.rule, str(f.severity)) for f in findings(case.copy(), recorded=True)]
    assert sorted(got) == [("request.accepted-invalid", "warning"), ("request.cross-field", "warning")]
    case.status = 400
    case.response_body = {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}
    assert [(f.rule, str(f.severity)) for f in findings(case)] == [("request.cross-field", "error")]


def test_request_problems_rejects_an_unknown_endpoint_name() -> None:
    with pytest.raises(ValueError, match="endpoint must be one of"):
        request_problems(body(), P, "completions")


@pytest.mark.parametrize(("headers", "messages"), [
    ({"x-api-key": "k", "anthropic-version": "2023-06-01"}, []),
    ({"authorization": "Bearer k", "anthropic-version": "2026-10-21"}, []),
    ({"x-api-key": "k"}, ["anthropic-version: header is required"]),
    ({"x-api-key": "k", "anthropic-version": "2099-01-01"}, ['anthropic-version: "2099-01-01" is not a valid version']),
    ({"x-api-key": "k", "anthropic-version": "2023-06-01, 2023-06-01"},
     ['anthropic-version: "2023-06-01, 2023-06-01" is not a valid version']),
    ([("x-api-key", "k"), ("anthropic-version", "2023-06-01"), ("anthropic-version", "2023-06-01")],
     ['anthropic-version: "2023-06-01, 2023-06-01" is not a valid version']),
    ({"anthropic-version": "2023-06-01"}, ["x-api-key header is required"]),
    ({"authorization": "Bearer k", "anthropic-version": "2024-01-01"}, ["x-api-key header is required"]),
])
def test_header_problems(headers: Any, messages: list[str]) -> None:
    assert [v.message for v in header_problems(Headers(headers), PROFILES)] == messages


def findings(case: Case, recorded: bool = False) -> list[Finding]:
    if recorded:
        case.file = "cassette.yaml"
    ex = case.exchange()
    return [f for check in (request_headers_are_valid, request_obeys_cross_field_rules,
                            server_rejects_invalid_requests) for f in check(ex, context(P))]


def test_a_valid_request_gives_no_findings() -> None:
    assert findings(example_message_case(P)) == []


def test_missing_auth_is_an_error_live_and_info_in_a_recording() -> None:
    case = example_message_case(P)
    del case.request_headers["x-api-key"]
    assert [(f.rule, str(f.severity)) for f in findings(case.copy())] == [("request.auth", "error")]
    assert [(f.rule, str(f.severity)) for f in findings(case, recorded=True)] == [("request.auth", "info")]


def test_version_problems_and_acceptance() -> None:
    case = example_message_case(P)
    case.request_headers["anthropic-version"] = "2023-06-01, 2023-06-01"
    assert sorted(f.rule for f in findings(case)) == ["request.accepted-invalid", "request.version-duplicated"]
    case.request_headers["anthropic-version"] = "1999-01-01"
    assert sorted(f.rule for f in findings(case)) == ["request.accepted-invalid", "request.version-unknown"]
    del case.request_headers["anthropic-version"]
    assert [(f.rule, str(f.severity)) for f in findings(case.copy(), recorded=True)] == [
        ("request.version-missing", "info")]


def test_content_type() -> None:
    case = example_message_case(P)
    case.request_headers["content-type"] = "application/x-www-form-urlencoded"
    assert [f.rule for f in findings(case)] == ["request.content-type"]


def test_cross_field_problem_with_a_400_is_the_clients_alone() -> None:
    case = example_message_case(P)
    assert case.request_body is not None
    case.request_body.update(tools=TOOLS, tool_choice={"type": "tool", "name": "no_such_tool"})
    case.status = 400
    case.response_body = {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}
    assert [f.rule for f in findings(case.copy())] == ["request.cross-field"]
    case.status = 200
    assert sorted(f.rule for f in findings(case)) == ["request.accepted-invalid", "request.cross-field"]
