"""``conformance drift``: the comparison of profiles with SDK types, the allow list, the readers and the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.drift import run_drift
from conformance.drift.allow import AllowList, load_allow_list
from conformance.drift.compare import Difference, compare
from conformance.drift.nodes import Ref
from conformance.drift.sdks import SdkMissing, typescript_types
from conformance.errors import InputError
from conformance.profiles import load_profiles, schemas_root

ROOT = Path(__file__).resolve().parent.parent


def _ref(schema: dict[str, Any]) -> Ref:
    defs = schema.get("$defs", {})

    def resolve(ref: str) -> Ref:
        return Ref(defs[ref.rsplit("/", 1)[-1]], resolve)

    return Ref(schema, resolve)


def _diff(sdk: dict[str, Any], profile: dict[str, Any], *, request: bool, ts: bool = False) -> list[Difference]:
    return compare("shape", _ref(sdk), _ref(profile), request_side=request, numbers_alike=ts, validates=not ts)


def _kinds(found: list[Difference]) -> list[tuple[str, str, str]]:
    return [(d.path, d.kind, d.blame) for d in found]


def _obj(props: dict[str, Any], required: tuple[str, ...] = (), closed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "required": list(required)}
    if closed:
        out["additionalProperties"] = False
    return out


STR = {"type": "string"}
NULLABLE_STR = {"anyOf": [{"type": "string"}, {"type": "null"}]}


# -- the comparison, one kind at a time: a passing and a failing example each ------------------------------------

def test_a_request_field_the_strict_profile_lacks_is_the_profiles_lag():
    sdk = _obj({"model": STR, "cache_control": {"type": "object"}}, ("model",))
    assert _diff(sdk, _obj({"model": STR, "cache_control": {"type": "object"}}, ("model",), closed=True),
                 request=True) == []
    found = _diff(sdk, _obj({"model": STR}, ("model",), closed=True), request=True)
    assert _kinds(found) == [("$.cache_control", "sdk-only-field", "profile")]
    # An open profile object accepts the field: nothing to report on a request.
    assert _diff(sdk, _obj({"model": STR}, ("model",)), request=True) == []


def test_a_response_field_the_sdk_requires_and_the_profile_does_not_promise_is_the_sdks_drift():
    profile = _obj({"id": STR, "lifecycle": {"type": "string", "x-known-values": ["active"]}}, ("id",))
    assert _diff(_obj({"id": STR, "lifecycle": {"enum": ["active"]}}, ("id",)), profile, request=False) == []
    found = _diff(_obj({"id": STR, "lifecycle": {"enum": ["active"]}}, ("id", "lifecycle")), profile, request=False)
    assert _kinds(found) == [("$.lifecycle", "sdk-requires", "sdk")]
    # Declared present-or-null (TypeScript's `T | null`) is its own kind.
    nullable = _obj({"id": STR, "lifecycle": {"type": ["string", "null"]}}, ("id",))
    ts = _diff(_obj({"id": STR, "lifecycle": NULLABLE_STR}, ("id", "lifecycle")), nullable, request=False, ts=True)
    assert _kinds(ts) == [("$.lifecycle", "sdk-requires-nullable", "sdk")]


def test_a_field_only_the_profile_has_is_the_sdks():
    found = _diff(_obj({"a": STR}), _obj({"a": STR, "beta": STR}), request=True)
    assert _kinds(found) == [("$.beta", "profile-only-field", "sdk")]
    # A parameter the SDK sends as a header is not a body field it lacks.
    sdk = {**_obj({"a": STR, "beta": STR}), "x-param-location": {"beta": "header"}}
    assert _kinds(_diff(sdk, _obj({"a": STR}, closed=True), request=True)) == []


def test_enum_values_differ_in_both_directions():
    sdk = _obj({"effort": {"enum": ["low", "xhigh"]}})
    found = _diff(sdk, _obj({"effort": {"enum": ["low", "max"]}}, closed=True), request=True)
    assert _kinds(found) == [("$.effort", "sdk-only-value", "profile"), ("$.effort", "profile-only-value", "sdk")]
    assert _diff(sdk, _obj({"effort": {"enum": ["low", "xhigh"]}}), request=True) == []
    # In an answer, a value the SDK's closed Literal lacks fails strict validation: the SDK's drift.
    answer = _diff(_obj({"stop": {"enum": ["end_turn"]}}),
                   _obj({"stop": {"type": "string", "x-known-values": ["end_turn", "refusal"]}}), request=False)
    assert _kinds(answer) == [("$.stop", "profile-only-value", "sdk")]


def test_nullability_and_types_compare_by_direction():
    assert _kinds(_diff(_obj({"x": NULLABLE_STR}), _obj({"x": STR}), request=True)) == [("$.x", "type", "profile")]
    assert _diff(_obj({"x": STR}), _obj({"x": NULLABLE_STR}), request=True) == []  # the SDK sends less: fine
    assert _kinds(_diff(_obj({"x": STR}), _obj({"x": NULLABLE_STR}), request=False)) == [("$.x", "type", "sdk")]
    # TypeScript has one number type.
    assert _diff(_obj({"n": {"type": "number"}}), _obj({"n": {"type": "integer"}}), request=True, ts=True) == []
    assert _diff(_obj({"n": {"type": "number"}}), _obj({"n": {"type": "integer"}}), request=True) != []


def _union(*members: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": list(members)}


def _block(kind: str, **props: Any) -> dict[str, Any]:
    return _obj({"type": {"const": kind}, **props}, ("type",))


def _dispatch(values: list[str], branches: dict[str, dict[str, Any]], *, closed_enum: bool) -> dict[str, Any]:
    prop = {"enum": values} if closed_enum else {"type": "string", "x-known-values": values}
    return {"type": "object", "required": ["type"], "properties": {"type": prop},
            "allOf": [{"if": {"properties": {"type": {"const": k}}, "required": ["type"]}, "then": v}
                      for k, v in branches.items()]}


def test_variants_by_type_are_compared_member_by_member():
    sdk = _obj({"content": {"type": "array", "items": _union(_block("text", text=STR, citations=NULLABLE_STR),
                                                              _block("browser_state", tabs={"type": "array"}))}})
    text = _obj({"type": True, "text": STR}, ("text",), closed=True)
    profile = _obj({"content": {"type": "array", "items": _dispatch(["text"], {"text": text}, closed_enum=True)}})
    found = _kinds(_diff(sdk, profile, request=True))
    assert ("$.content[*]{type=browser_state}", "sdk-only-variant", "profile") in found
    assert ("$.content[*]{type=text}.citations", "sdk-only-field", "profile") in found
    assert ("$.content[*]{type=text}.text", "profile-requires", "sdk") in found


def test_a_type_the_profile_only_names_is_reported_untyped_in_answers():
    sdk = _union(_block("web_fetch_tool_result", tool_use_id=STR, content={"type": "object"}))
    profile = _dispatch(["web_fetch_tool_result"], {}, closed_enum=False)
    assert _kinds(_diff(sdk, profile, request=False)) == [("${type=web_fetch_tool_result}", "untyped", "profile")]


# -- the allow list ---------------------------------------------------------------------------------------------

def _allow(tmp_path: Path, *entries: dict[str, Any]) -> AllowList:
    path = tmp_path / "drift-allow.json"
    path.write_text(json.dumps({"allow": list(entries)}))
    return load_allow_list(path)


def test_allow_paths_are_literal_but_for_star(tmp_path: Path):
    allow = _allow(tmp_path, {"sdk": "python", "profiles": ["2023-06-01"], "shape": "request",
                              "path": "$.messages[*].role", "reason": "r"},
                   {"sdk_versions": "1.*", "shape": "*", "path": "$.top_*", "kind": "profile-only-field",
                    "reason": "sampling"})
    role = Difference("request", "$.messages[*].role", "sdk-only-value", "profile", "")
    assert allow.explain("python", "2.14.0", "2023-06-01", role) is not None
    assert allow.explain("python", "2.14.0", "2026-10-21", role) is None
    assert allow.explain("typescript", "1.14.0", "2023-06-01", role) is None
    assert allow.explain("python", "2.14.0", "2023-06-01", Difference("request", "$.messagesX*].role",
                                                                       "sdk-only-value", "profile", "")) is None
    top = Difference("request", "$.top_k", "profile-only-field", "sdk", "")
    assert allow.explain("typescript", "1.14.0", "x", top) is not None
    assert allow.explain("typescript", "0.71.2", "x", top) is None


@pytest.mark.parametrize(("entry", "message"), [
    ({"shape": "request", "path": "$.x"}, "'reason' must be a non-empty string"),
    ({"shape": "request", "path": "$.x", "reason": "r", "kind": "odd"}, "kind 'odd' is unknown"),
    ({"shape": "request", "path": "$.x", "reason": "r", "sdk": "go"}, "sdk 'go' is not"),
    ({"shape": "request", "path": "$.x", "reason": "r", "because": "x"}, "unknown keys"),
])
def test_a_broken_allow_entry_names_the_file_and_entry(tmp_path: Path, entry: dict[str, Any], message: str):
    with pytest.raises(InputError) as info:
        _allow(tmp_path, {"shape": "*", "path": "*", "reason": "fine"}, entry)
    assert "drift-allow.json:allow[1]" in str(info.value) and message in str(info.value)


def test_the_shipped_allow_list_loads_and_every_entry_has_a_reason():
    allow = load_allow_list(schemas_root() / "drift-allow.json")
    assert allow.entries and all(len(e.reason) > 20 for e in allow.entries)


# -- the installed Python SDK against the shipped profiles ------------------------------------------------------

def test_the_installed_python_sdk_has_no_unexplained_drift_and_lifecycle_is_reported():
    pytest.importorskip("anthropic", reason="the anthropic Python SDK is not installed (pip install .[test])")
    run = run_drift("python")
    assert run.unexplained == 0, [d for p in run.profiles for d in p.unexplained]
    if "lifecycle" in run.sdk.schemas["model"]["properties"]:  # anthropic >= 1.12
        lifecycle = [r for p in run.profiles for r in p.results if r.difference.path == "$.lifecycle"]
        assert lifecycle and all(r.difference.kind == "sdk-requires" and r.difference.blame == "sdk"
                                 and r.allowed is not None for r in lifecycle)


def test_a_lagging_profile_is_caught(tmp_path: Path):
    """Take top-level cache_control out of a profile's request schema: the SDK's valid request would be rejected."""
    pytest.importorskip("anthropic", reason="the anthropic Python SDK is not installed (pip install .[test])")
    root = tmp_path / "schemas"
    shutil.copytree(schemas_root(), root)
    path = root / "2023-06-01" / "request.schema.json"
    doc = json.loads(path.read_text())
    del doc["properties"]["cache_control"]
    path.write_text(json.dumps(doc))
    run = run_drift("python", ["2023-06-01"], profiles=load_profiles(root), allow=load_allow_list(
        root / "drift-allow.json"))
    (lag,) = run.profiles[0].unexplained
    assert (lag.shape, lag.path, lag.kind, lag.blame) == ("request", "$.cache_control", "sdk-only-field", "profile")
    assert run.exit_code == 1


# -- the command line -------------------------------------------------------------------------------------------

def test_a_missing_sdk_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    assert cli.main(["drift", "--sdk", "typescript", "--sdk-path", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "@anthropic-ai/sdk is not installed" in err[0] and "Traceback" not in err[0]


def test_a_missing_python_sdk_is_one_line_and_exit_2():
    code = ("import sys; sys.modules['anthropic'] = None\n"
            "from conformance import cli; raise SystemExit(cli.main(['drift']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Python SDK is not installed" in done.stderr


def test_json_output_lists_differences_with_their_explanations(capsys: pytest.CaptureFixture[str]):
    pytest.importorskip("anthropic", reason="the anthropic Python SDK is not installed (pip install .[test])")
    assert cli.main(["drift", "--profile", "2026-10-21", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    diffs = data["profiles"]["2026-10-21"]["differences"]
    assert data["unexplained"] == 0 and diffs and all(d["explained"] for d in diffs)
    assert data["sdk"]["sources"]["message"].startswith("anthropic/types/message.py:")


# -- the TypeScript reader, on a small declaration package ------------------------------------------------------

DTS = """
import * as Shared from '../shared';
/**
 * A message.
 */
export interface Message {
    id: string;
    content: Array<ContentBlock>;
    stop_details: RefusalStopDetails | null;
    model: Model;
    usage: Shared.Usage;
}
export type Model = 'claude-a' | 'claude-b' | (string & {});
export type ContentBlock = TextBlock | ToolUseBlock;
export interface TextBlock { text: string; type: 'text'; citations?: Array<unknown> | null; }
export interface ToolUseBlock { id: string; input: unknown; type: 'tool_use'; }
export interface RefusalStopDetails { type: 'refusal'; category?: 'cyber' | 'bio' | null; }
export declare namespace Outer { interface Inner { x: number } }
export interface MessageCreateParamsBase {
    /**
     * Body param: the model.
     */
    model: Model;
    /**
     * Header param: the workspace.
     */
    workspace_id?: string;
    readonly tags?: string[];
    extra?: { [key: string]: Outer.Inner };
}
export interface MessageCreateParamsStreaming extends MessageCreateParamsBase { stream: true; }
export type MessageCreateParams = MessageCreateParamsBase | MessageCreateParamsStreaming;
export declare class Messages { create(body: MessageCreateParams): Promise<Message>; private _x; }
"""


@pytest.fixture
def dts_package(tmp_path: Path) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: the TypeScript declaration reader needs Node >= 18")
    pkg = tmp_path / "node_modules" / "@anthropic-ai" / "sdk"
    (pkg / "resources" / "messages").mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": "@anthropic-ai/sdk", "version": "9.9.9"}))
    (pkg / "client.js").write_text("const h = {'anthropic-version': '2026-10-21'};")
    (pkg / "resources" / "messages" / "messages.d.ts").write_text(DTS)
    (pkg / "resources" / "shared.d.ts").write_text(
        "export interface Usage { input_tokens: number; output_tokens: number; service_tier: 'standard' | null; }")
    return tmp_path


def test_the_declaration_reader_types_interfaces_unions_namespaces_and_param_locations(dts_package: Path):
    types = typescript_types(str(dts_package))
    assert (types.version, types.sends_version) == ("9.9.9", "2026-10-21")
    assert types.model_ids == {"claude-a", "claude-b"}
    message = types.schemas["message"]
    root = message["$defs"][message["$ref"].rsplit("/", 1)[-1]]
    assert root["required"] == ["id", "content", "stop_details", "model", "usage"]
    usage = message["$defs"][root["properties"]["usage"]["$ref"].rsplit("/", 1)[-1]]
    assert usage["properties"]["service_tier"] == {"anyOf": [{"const": "standard"}, {"type": "null"}]}
    request = types.schemas["request"]
    base = request["$defs"]["resources.messages.messages:MessageCreateParamsBase"]
    assert base["x-param-location"] == {"workspace_id": "header"}
    assert base["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    inner = base["properties"]["extra"]["additionalProperties"]["$ref"]
    assert inner.endswith(":Inner")
    streaming = request["$defs"]["resources.messages.messages:MessageCreateParamsStreaming"]
    assert set(streaming["properties"]) >= {"model", "workspace_id", "stream"} and "stream" in streaming["required"]
    assert types.missing["error"] == "ErrorResponse not declared in resources/shared.d.ts"


def test_the_typescript_pin_of_nox_is_the_one_the_sdk_tests_install():
    lock = json.loads((ROOT / "conformance" / "sdk" / "drivers" / "typescript" / "package-lock.json").read_text())
    installed = lock["packages"]["node_modules/@anthropic-ai/sdk"]["version"]
    pins = re.search(r"TYPESCRIPT_SDK_PINS = \(([^)]*)\)", (ROOT / "noxfile.py").read_text())
    assert pins is not None and f'"{installed}"' in pins.group(1)


def test_sdk_missing_is_an_input_error():
    assert issubclass(SdkMissing, InputError)
