"""The schema data and the validators over it: real traffic, exact paths, fast/slow agreement, x-known-values,
and the meta-check of the schema tree."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cassettes import iter_recording_files, read_recording
from conformance.exchange import MISSING, Exchange
from conformance.profiles import load_profiles, schemas_root
from conformance.schemacheck import check_schema_tree
from conformance.schemas import SHAPES, SchemaSet, Violation, split_profile_lag
from conformance.strategies.jsonschema import json_values, profile_shape
from conformance.strategies.streams import stream_mutations, valid_streams
from tests.conftest import corpus_dir

PROFILES = load_profiles()
VERSIONS = PROFILES.versions

_CORPUS = corpus_dir()
_FILES = sorted(iter_recording_files([_CORPUS])) if _CORPUS is not None and _CORPUS.is_dir() else []


def _request() -> dict[str, Any]:
    return {"model": "claude-sonnet-4-20250514", "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Hello"}]}


def _message() -> dict[str, Any]:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 2}}


# One valid instance per shape: the seeds of the agreement property and sanity checks of the data.
SAMPLES: dict[str, Any] = {
    "request": {**_request(), "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
                "stop_sequences": ["\n\nHuman:"], "stream": True, "metadata": {"user_id": "u1"},
                "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}},
                          {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
                "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
                "thinking": {"type": "enabled", "budget_tokens": 1024}},
    "count_tokens_request": {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
    "count_tokens_response": {"input_tokens": 12},
    "message": _message(),
    "error": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_1"},
    "stream_event": {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    "model": {"type": "model", "id": "claude-sonnet-4-20250514", "display_name": "Claude Sonnet 4",
              "created_at": "2025-05-14T00:00:00Z"},
    "models_list": {"data": [{"type": "model", "id": "m", "display_name": "M", "created_at": "2025-05-14T00:00:00Z"}],
                    "has_more": False, "first_id": "m", "last_id": "m"},
    "models_list_query": {"limit": 20, "after_id": "claude-sonnet-4-20250514"},
    "response_headers": {"request-id": "req_1", "retry-after": "3", "content-type": "application/json"},
    "request_headers": {"x-api-key": "sk-test", "content-type": "application/json"},
}


def _sample(shape: str, version: str) -> Any:
    value = copy.deepcopy(SAMPLES[shape])
    if shape == "request_headers":
        value["anthropic-version"] = version
    if shape == "request" and version == "2026-10-21":
        value.pop("temperature", None)
    return value


# -- the data is sound -----------------------------------------------------------------------------------------

def test_schema_tree_passes_the_meta_check() -> None:
    assert check_schema_tree(schemas_root()) == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_sample_is_valid_in_every_profile(version: str, shape: str) -> None:
    schemas = PROFILES.get(version).schemas
    assert schemas.violations(shape, _sample(shape, version)) == []


# -- real traffic (ground truth) ---------------------------------------------------------------------------------

def _shape_of_response(ex: Exchange) -> str | None:
    assert ex.response is not None
    path = ex.path if ex.request is not None else "/v1/messages"
    body = ex.response.json
    if body is MISSING or not isinstance(body, dict):
        return None
    if (isinstance(ex.response.status, int) and ex.response.status >= 400) or body.get("type") == "error":
        return "error"
    if path.endswith("/count_tokens"):
        return "count_tokens_response"
    return "message" if path.endswith("/v1/messages") or ex.request is None else None


def _corpus_bodies(path: Path) -> list[tuple[str, str, str, Any]]:
    """(version, shape, where, instance) for every request, response body and stream event in one file."""
    out: list[tuple[str, str, str, Any]] = []
    for n, ex in enumerate(read_recording(path).exchanges):
        version = PROFILES.default_version
        if ex.request is not None:
            sent = ex.request.headers.get("anthropic-version")
            version = sent if sent in PROFILES else version
            if not ex.path.endswith(("/v1/messages", "/v1/messages/count_tokens")):
                continue  # other endpoints (legacy /v1/complete, tracing) are not ours to validate
            if isinstance(ex.request.json, dict):
                shape = "count_tokens_request" if ex.path.endswith("/count_tokens") else "request"
                out.append((version, shape, f"interaction {n} request", ex.request.json))
        if ex.response is None:
            continue
        events = ex.events
        if events is not None:
            for ev in events:
                if ev.parse_error is None:
                    out.append((version, "stream_event", f"interaction {n} event {ev.index}", ev.payload))
            continue
        shape = _shape_of_response(ex)
        if shape is not None:
            out.append((version, shape, f"interaction {n} response", ex.response.json))
    return out


@pytest.mark.corpus
def test_corpus_yields_every_kind_of_body(corpus: Path) -> None:
    shapes = {shape for p in _FILES for _, shape, _, _ in _corpus_bodies(p)}
    assert {"request", "message", "error", "stream_event"} <= shapes


@pytest.mark.corpus
@pytest.mark.parametrize("path", _FILES, ids=[p.name for p in _FILES])
def test_real_recording_validates_against_the_version_it_sent(path: Path) -> None:
    problems = []
    for version, shape, where, instance in _corpus_bodies(path):
        for v in PROFILES.get(version).schemas.violations(shape, instance):
            problems.append(f"{where} ({shape}, {version}) {v.path}: {v.message}")
    assert not problems, "\n".join(problems)


@pytest.mark.corpus
@pytest.mark.parametrize("version", VERSIONS)
def test_every_real_response_validates_in_every_profile(corpus: Path, version: str) -> None:
    # Responses are forward-compatible in every profile, so all real ones pass everywhere.
    schemas = PROFILES.get(version).schemas
    problems = [f"{p.name} {where}: {v.path} {v.message}"
                for p in _FILES for _, shape, where, inst in _corpus_bodies(p) if "request" not in shape
                for v in schemas.violations(shape, inst)]
    assert not problems, "\n".join(problems[:20])


# -- exact paths ------------------------------------------------------------------------------------------------

def test_violations_point_at_the_exact_nested_path() -> None:
    body = _request()
    body["messages"] = [{"role": "user", "content": [{"type": "text", "text": "ok"}, {"type": "text", "text": 7}]}]
    (v,) = PROFILES.default.schemas.violations("request", body)
    assert v.path == "$.messages[0].content[1].text"
    assert v.dotted == "messages.0.content.1.text"
    assert v.keyword == "type"


def test_violations_report_every_problem_not_just_the_first() -> None:
    body = {**_request(), "max_tokens": 0, "temperature": 1.5, "frobnicate": True}
    paths = {v.path for v in PROFILES.default.schemas.violations("request", body)}
    # An unexpected key is reported at its own path, not at the object holding it.
    assert paths == {"$.frobnicate", "$.max_tokens", "$.temperature"}


def test_each_unexpected_key_is_its_own_violation() -> None:
    body = {**_request(), "frobnicate": True, "n": 2, "tools": [{"name": "t", "input_schema": {}, "colour": 1}]}
    extra = {(v.path, v.actual) for v in PROFILES.default.schemas.violations("request", body)
             if v.keyword == "additionalProperties"}
    assert extra == {("$.frobnicate", "frobnicate"), ("$.n", "n"), ("$.tools[0].colour", "colour")}


@pytest.mark.parametrize(("field", "value"), [("max_tokens", 0), ("temperature", -0.1), ("temperature", 1.01),
                                              ("top_p", 2), ("top_k", -1), ("stream", "yes"),
                                              ("service_tier", "premium"), ("tool_choice", {"type": "tool"}),
                                              ("thinking", {"type": "enabled", "budget_tokens": 1023}),
                                              ("metadata", {"user_id": "u", "extra": 1})])
def test_request_ranges_and_types_are_strict(field: str, value: Any) -> None:
    schemas = PROFILES.default.schemas
    assert schemas.is_valid("request", _request())
    assert not schemas.is_valid("request", {**_request(), field: value})


def test_request_content_block_rules() -> None:
    schemas = PROFILES.default.schemas
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    bad_media = {"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "AAAA"}}
    tool_result = {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
                   "content": [{"type": "text", "text": "boom"}]}
    for block, ok in [(image, True), (bad_media, False), (tool_result, True), ({"type": "hologram"}, False),
                      ({"type": "text", "text": "x", "surprise": 1}, False)]:
        body = {**_request(), "messages": [{"role": "user", "content": [block]}]}
        assert schemas.is_valid("request", body) is ok, block


# -- version differences -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("param", ["temperature", "top_p", "top_k"])
def test_2026_10_21_rejects_sampling_parameters_that_2023_06_01_accepts(param: str) -> None:
    body = {**_request(), param: 1}
    assert PROFILES.get("2023-06-01").schemas.is_valid("request", body)
    (v,) = PROFILES.get("2026-10-21").schemas.violations("request", body)
    assert v.keyword == "additionalProperties" and param in v.message


def test_2026_10_21_rejects_document_blocks_in_assistant_turns_only() -> None:
    doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hi"}}
    user = {**_request(), "messages": [{"role": "user", "content": [doc]}]}
    assistant = {**_request(), "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": [doc]}]}
    new, old = PROFILES.get("2026-10-21").schemas, PROFILES.get("2023-06-01").schemas
    assert new.is_valid("request", user) and old.is_valid("request", assistant)
    assert [v.path for v in new.violations("request", assistant)] == ["$.messages[1].content[0].type"]


def test_2026_10_21_rejects_citations_on_user_text_blocks_only() -> None:
    cited = {"type": "text", "text": "x", "citations": [{"type": "char_location", "cited_text": "x"}]}
    user = {**_request(), "messages": [{"role": "user", "content": [cited]}]}
    assistant = {**_request(), "messages": [{"role": "user", "content": "q"},
                                            {"role": "assistant", "content": [cited]}]}
    new, old = PROFILES.get("2026-10-21").schemas, PROFILES.get("2023-06-01").schemas
    assert old.is_valid("request", user)
    assert new.is_valid("request", assistant)
    assert [v.path for v in new.violations("request", user)] == ["$.messages[0].content[0].citations"]


_REAL = [v for v in VERSIONS if v != "2024-01-01"]


def _tool_change(kind: str, tool: dict[str, Any]) -> dict[str, Any]:
    """A request whose third turn is a role "system" message with one tool_addition/tool_removal block."""
    return {**_request(), "tools": [{"name": "lookup", "input_schema": {"type": "object"}, "defer_loading": True}],
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                         {"role": "system", "content": [{"type": kind, "tool": tool}]}]}


@pytest.mark.parametrize("version", _REAL)
def test_system_turns_take_tool_addition_and_tool_removal_blocks(version: str) -> None:
    schemas = PROFILES.get(version).schemas
    by_name = {"type": "tool_reference", "name": "lookup"}
    for shape in ("request", "count_tokens_request"):
        bodies = [_tool_change("tool_addition", by_name),
                  _tool_change("tool_removal", {"type": "mcp_toolset_reference", "server_name": "crm"}),
                  _tool_change("tool_addition", {"type": "tool_definition", "definition": {
                      "name": "later", "input_schema": {"type": "object"}}})]
        for body in bodies:
            if shape == "count_tokens_request":
                del body["max_tokens"]
            assert schemas.is_valid(shape, body), (shape, body)
    # A removal names a tool, never defines one; a reference names its tool; the blocks belong to system turns.
    defined = _tool_change("tool_removal", {"type": "tool_definition", "definition": {
        "name": "x", "input_schema": {"type": "object"}}})
    assert [v.path for v in schemas.violations("request", defined)] == ["$.messages[2].content[0].tool.type"]
    nameless = _tool_change("tool_addition", {"type": "tool_reference"})
    assert [v.path for v in schemas.violations("request", nameless)] == ["$.messages[2].content[0].tool"]
    in_user_turn = _tool_change("tool_addition", by_name)
    in_user_turn["messages"][2]["role"] = "user"
    assert [v.path for v in schemas.violations("request", in_user_turn)] == ["$.messages[2].content[0].type"]


def test_the_reference_document_version_keeps_system_turns_out() -> None:
    body = _tool_change("tool_addition", {"type": "tool_reference", "name": "lookup"})
    assert not PROFILES.get("2024-01-01").schemas.is_valid("request", body)


@pytest.mark.parametrize("version", _REAL)
def test_assistant_turns_echo_advisor_tool_results(version: str) -> None:
    schemas = PROFILES.get(version).schemas

    def replay(content: dict[str, Any]) -> dict[str, Any]:
        return {**_request(), "tools": [{"type": "advisor_20260301", "name": "advisor", "model": "claude-opus-4-8"}],
                "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "advisor", "input": {}},
                    {"type": "advisor_tool_result", "tool_use_id": "srvtoolu_1", "content": content},
                    {"type": "text", "text": "4"}]}, {"role": "user", "content": "and +1?"}]}

    for content in ({"type": "advisor_result", "text": "4.", "stop_reason": "end_turn"},
                    {"type": "advisor_redacted_result", "encrypted_content": "b64"},
                    {"type": "advisor_tool_result_error", "error_code": "overloaded"}):
        assert schemas.is_valid("request", replay(content)), content
    broken = replay({"type": "advisor_result"})
    assert [v.path for v in schemas.violations("request", broken)] == ["$.messages[1].content[1].content"]


def test_a_lagging_profile_explains_unknown_keys_and_block_types_and_nothing_inside_such_blocks() -> None:
    known = PROFILES.get("2023-06-01").schemas.type_values("request")
    assert {"text", "tool_use", "advisor_tool_result", "tool_addition", "tool_reference"} <= known
    unknown_type = Violation("$.messages[1].content[2].type", "", "s", "enum", ["text"], "oracle_result")
    inside = Violation("$.messages[1].content[2].verdict", "", "s", "additionalProperties", None, "verdict")
    deeper = Violation("$.messages[1].content[2].content[0].text", "", "s", "type", "string", 3)
    unknown_key = Violation("$.speculative_decoding", "", "s", "additionalProperties", None, "speculative_decoding")
    known_elsewhere = Violation("$.messages[3].content[0].type", "", "s", "const", "text", "image")
    not_a_block = Violation("$.thinking.type", "", "s", "enum", ["enabled"], "pondering")
    next_block = Violation("$.messages[1].content[20].text", "", "s", "type", "string", 3)
    lag, rest = split_profile_lag([unknown_type, inside, deeper, unknown_key, known_elsewhere, not_a_block,
                                   next_block], known)
    # An unknown key here is listed once (by its key): what is inside a block of an unknown type, not at all.
    assert lag == [unknown_type, unknown_key]
    assert rest == [known_elsewhere, not_a_block, next_block]


@pytest.mark.parametrize("version", _REAL)
def test_usage_iterations_are_counts_per_sampling_iteration(version: str) -> None:
    schemas = PROFILES.get(version).schemas
    entry = {"type": "compaction", "input_tokens": 100, "output_tokens": 83, "cache_read_input_tokens": 55096,
             "cache_creation_input_tokens": 0, "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                                                  "ephemeral_1h_input_tokens": 0}}
    usage = {"input_tokens": 181, "output_tokens": 8, "iterations": [entry, {**entry, "type": "message"}]}
    assert schemas.is_valid("message", {**_message(), "usage": usage})
    assert schemas.is_valid("stream_event", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                             "usage": usage})
    broken = {**usage, "iterations": [{**entry, "input_tokens": -1}]}
    assert [v.path for v in schemas.violations("message", {**_message(), "usage": broken})] == [
        "$.usage.iterations[0].input_tokens"]


def test_request_headers_pin_the_profile_version_and_auth_styles() -> None:
    real, ref = PROFILES.get("2023-06-01").schemas, PROFILES.get("2024-01-01").schemas
    bearer = {"authorization": "Bearer sk-1", "content-type": "application/json"}
    assert real.is_valid("request_headers", {**bearer, "anthropic-version": "2023-06-01"})
    assert not ref.is_valid("request_headers", {**bearer, "anthropic-version": "2024-01-01"})
    dup = {"x-api-key": "k", "content-type": "application/json", "anthropic-version": "2023-06-01, 2023-06-01"}
    (v,) = real.violations("request_headers", dup)
    assert (v.path, v.dotted) == ("$['anthropic-version']", "anthropic-version")
    assert not real.is_valid("request_headers", {"content-type": "application/json", "anthropic-version": "2023-06-01"})


def test_message_requires_stop_sequence_in_real_profiles_but_not_in_the_reference_document() -> None:
    msg = _message()
    del msg["stop_sequence"]
    assert PROFILES.get("2024-01-01").schemas.is_valid("message", msg)
    assert not PROFILES.get("2023-06-01").schemas.is_valid("message", msg)


# -- forward compatibility and x-known-values ------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_responses_tolerate_unknown_fields_types_and_values(version: str) -> None:
    schemas = PROFILES.get(version).schemas
    msg = {**_message(), "stop_reason": "future_reason", "brand_new": {"x": 1},
           "content": [{"type": "hologram", "payload": 1}, {"type": "text", "text": "x", "extra": True}]}
    assert schemas.violations("message", msg) == []
    for event in ({"type": "brand_new_event", "x": 1},
                  {"type": "content_block_delta", "index": 0, "delta": {"type": "hologram_delta"}},
                  {"type": "error", "error": {"type": "teapot_error", "message": "short", "details": None}}):
        assert schemas.violations("stream_event", event) == []


def test_known_event_types_are_still_checked() -> None:
    schemas = PROFILES.default.schemas
    bad = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 5}}
    assert [v.path for v in schemas.violations("stream_event", bad)] == ["$.delta.text"]
    assert [v.path for v in schemas.violations("stream_event", {"type": "content_block_stop", "index": -1})] == \
        ["$.index"]


def test_unknown_values_lists_each_unlisted_value_with_its_path() -> None:
    schemas = PROFILES.default.schemas
    event = {"type": "message_start", "message": {**_message(), "stop_reason": "future_reason",
                                                  "content": [{"type": "hologram"}, {"type": "text", "text": "x"}]}}
    found = {(u.path, u.value) for u in schemas.unknown_values("stream_event", event)}
    assert found == {("$.message.stop_reason", "future_reason"), ("$.message.content[0].type", "hologram")}
    (u,) = schemas.unknown_values("stream_event", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "hologram_delta"}})
    assert u.path == "$.delta.type" and "text_delta" in u.known


def test_unknown_values_is_empty_for_known_values_and_differs_by_profile() -> None:
    body = {"type": "error", "error": {"type": "billing_error", "message": "m"}}
    assert PROFILES.get("2023-06-01").schemas.unknown_values("error", body) == []
    (u,) = PROFILES.get("2024-01-01").schemas.unknown_values("error", body)
    assert (u.path, u.value) == ("$.error.type", "billing_error")


# -- the fast path (jsonschema-rs) agrees with the detailed one (jsonschema) ----------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2000) | st.floats(-2, 2, allow_nan=False)
    | st.sampled_from(["", "text", "user", "assistant", "message", "error", "text_delta", "end_turn",
                       "2023-06-01", "application/json", "Bearer k", "2025-05-14T00:00:00Z"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "text", "id", "role", "content", "index", "delta", "usage", "input_tokens",
                         "model", "messages", "max_tokens", "error", "message", "x"]), inner, max_size=4),
    max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def _mutated_samples(draw: st.DrawFn) -> tuple[str, str, Any]:
    """A valid sample with one subtree replaced or deleted: data on both sides of the schema's boundary."""
    version = draw(st.sampled_from(VERSIONS))
    shape = draw(st.sampled_from(list(SHAPES)))
    value = _sample(shape, version)
    path = draw(st.sampled_from(_paths(value)))
    if not path:
        return version, shape, draw(_JSON)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(_JSON)
    return version, shape, value


def _slow_is_valid(schemas: SchemaSet, shape: str, instance: Any) -> bool:
    validator = jsonschema.Draft202012Validator(schemas.schema(shape), registry=schemas.registry)
    return bool(validator.is_valid(instance))


@given(_mutated_samples())
def test_fast_and_detailed_validators_agree(case: tuple[str, str, Any]) -> None:
    version, shape, instance = case
    schemas = PROFILES.get(version).schemas
    fast = schemas.is_valid(shape, instance)
    assert fast == _slow_is_valid(schemas, shape, instance), json.dumps(instance)
    violations = schemas.violations(shape, instance)
    assert (violations == []) == fast
    assert all(v.keyword != "disagreement" and v.path.startswith("$") for v in violations)


# -- the meta-check fails, naming the file, on a broken tree ------------------------------------------------------

@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(schemas_root(), root)
    return root


def _edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_meta_check_names_a_dangling_ref(tree: Path) -> None:
    target = tree / "2023-06-01" / "stream-event.schema.json"
    _edit(target, lambda d: d["allOf"][0]["then"]["properties"]["message"].update({"$ref": "gone.schema.json"}))
    problems = check_schema_tree(tree)
    assert any(p.startswith(f"{target}#/allOf/0/then/properties/message/$ref") for p in problems), problems


def test_meta_check_names_an_invalid_schema_keyword(tree: Path) -> None:
    target = tree / "2024-01-01" / "request.schema.json"
    _edit(target, lambda d: d["properties"]["max_tokens"].update({"minimum": "one"}))
    problems = check_schema_tree(tree)
    assert f"{target}#/properties/max_tokens/minimum" in " ".join(problems), problems


def test_meta_check_names_a_malformed_model_accepts(tree: Path) -> None:
    target = tree / "2023-06-01" / "profile.json"
    _edit(target, lambda d: d["models"][3]["accepts"].update({"speed": "sometimes"}))
    assert [p for p in check_schema_tree(tree) if p.startswith(f"{target}#/models/3/accepts: ")]


def test_meta_check_rejects_closed_response_schemas(tree: Path) -> None:
    target = tree / "2026-10-21" / "message.schema.json"
    _edit(target, lambda d: d.update({"additionalProperties": False}))
    assert [p for p in check_schema_tree(tree) if p.startswith(f"{target}#/additionalProperties")]


def test_meta_check_names_unlisted_directories_missing_shapes_and_bad_profiles(tree: Path) -> None:
    (tree / "2099-01-01").mkdir()
    (tree / "2023-01-01" / "model.schema.json").unlink()
    _edit(tree / "2023-06-01" / "profile.json", lambda d: d.pop("tiers"))
    (tree / "2024-01-01" / "error.schema.json").write_text("{not json")
    text = "\n".join(check_schema_tree(tree))
    assert "'2099-01-01' is not listed" in text
    assert f"{tree / '2023-01-01' / 'model.schema.json'}#: missing" in text
    assert f"{tree / '2023-06-01' / 'profile.json'}#/tiers: missing" in text
    assert f"{tree / '2024-01-01' / 'error.schema.json'}#: not valid JSON" in text


# --- the per-type shortcut on the stream hot path equals the whole schema --------------------------------




@st.composite
def _corrupted_events(draw: st.DrawFn, profile: Any) -> list[dict[str, Any]]:
    """Valid events with one field (at the top or one level down) replaced by an arbitrary JSON value."""
    events = [dict(e) for e in draw(valid_streams(profile))]
    event = draw(st.sampled_from(events))
    keys = [k for k in event if k != "type"]
    if keys:
        key = draw(st.sampled_from(keys))
        inner = event[key]
        if isinstance(inner, dict) and inner and draw(st.booleans()):
            event[key] = {**inner, draw(st.sampled_from(sorted(inner))): draw(json_values())}
        else:
            event[key] = draw(json_values())
    return events


def _event_payloads(profile: Any) -> Any:
    """Valid events, broken streams, corrupted events and schema-generated events."""
    mutated = stream_mutations(profile).map(lambda m: [p for p in m.events if isinstance(p, dict)])
    return st.one_of(valid_streams(profile), mutated, _corrupted_events(profile),
                     st.lists(profile_shape(profile, "stream_event"), max_size=3))


@pytest.mark.parametrize("version", ["2023-06-01", "2024-01-01", "2026-10-21"])
def test_dispatched_event_checks_agree_with_the_whole_schema(version: str) -> None:
    profile = load_profiles().get(version)
    checks = profile.schemas.dispatched_checks("stream_event")
    assert {"message_start", "content_block_delta", "message_delta", "error"} <= set(checks)

    deltas = profile.schemas.nested_dispatched_checks("stream_event", "content_block_delta", "delta")
    assert {"text_delta", "input_json_delta", "thinking_delta", "signature_delta"} <= set(deltas)

    @settings(max_examples=300)
    @given(_event_payloads(profile))
    def agree(payloads: list[Any]) -> None:
        for p in payloads:
            t = p.get("type")
            whole = profile.schemas.is_valid("stream_event", p)
            if isinstance(t, str) and t in checks:
                assert checks[t](p) == whole, p
            d = p.get("delta")
            if t == "content_block_delta" and isinstance(d, dict) and isinstance(d.get("type"), str) \
                    and d["type"] in deltas:
                assert deltas[d["type"]](p) == whole, p

    agree()
