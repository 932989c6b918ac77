"""Whose fault is it: every finding names its party, and a rejected mistake is the client's warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.findings import CLIENT, SERVER
from conformance.rules import CATALOGUE

MESSAGE = {"id": "msg_01XYZ", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
           "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 3, "output_tokens": 1}}
REJECTION = {"type": "error", "error": {"type": "invalid_request_error",
                                        "message": "frequency_penalty: Extra inputs are not permitted"},
             "request_id": "req_01"}


def cassette(tmp_path: Path, request_body: dict[str, Any], status: int, response_body: dict[str, Any]) -> Path:
    """A plain vcrpy cassette with one exchange, as a recorder writes it."""
    interaction = {
        "request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages",
                    "body": json.dumps(request_body),
                    "headers": {"content-type": ["application/json"], "anthropic-version": ["2023-06-01"],
                                "x-api-key": ["REDACTED"]}},
        "response": {"status": {"code": status, "message": "x"},
                     "headers": {"content-type": ["application/json"], "request-id": ["req_01"]},
                     "body": {"string": json.dumps(response_body)}},
    }
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump({"interactions": [interaction], "version": 1}))
    return path


def lint_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["lint", "--format", "json", *argv])
    doc = json.loads(capsys.readouterr().out)
    return code, doc["findings"]


INVALID = {"model": "claude-sonnet-4-20250514", "max_tokens": 10, "frequency_penalty": 0.5,
           "messages": [{"role": "user", "content": "Hi"}]}
BROKEN = {"model": "claude-sonnet-4-20250514", "max_tokens": -5, "messages": [{"role": "user", "content": "Hi"}]}


def test_every_rule_names_one_party() -> None:
    assert {r.party for r in CATALOGUE} == {CLIENT, SERVER}
    assert {r.party for r in CATALOGUE if r.id.startswith(("request.", "body.request"))} - {CLIENT} == {SERVER}
    # Only request.accepted-invalid (the server let an invalid request through) is a server rule among them.
    assert [r.id for r in CATALOGUE if r.id.startswith("request.") and r.party == SERVER] == [
        "request.accepted-invalid"]


def test_an_invalid_request_rejected_as_documented_is_a_client_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cassette(tmp_path, INVALID, 400, REJECTION)
    code, findings = lint_json(capsys, str(path))
    assert code == 0
    rejected = [f for f in findings if f["rule"] == "request.rejected-as-expected"]
    assert rejected and all(f["party"] == CLIENT and f["severity"] == "warning" for f in rejected)
    assert "body.request-schema" in rejected[0]["message"] and "frequency_penalty" in rejected[0]["path"]
    assert not [f for f in findings if f["severity"] == "error"]
    # The gateway view: nothing to say about this exchange.
    code, findings = lint_json(capsys, "--party", "server", str(path))
    assert code == 0 and [f for f in findings if f["severity"] != "info"] == []


def test_an_invalid_request_answered_200_is_an_error_of_both_parties(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cassette(tmp_path, BROKEN, 200, MESSAGE)
    code, findings = lint_json(capsys, "--party", "server", str(path))
    assert code == 1
    assert {f["rule"] for f in findings if f["severity"] == "error"} == {"request.accepted-invalid"}
    code, findings = lint_json(capsys, "--party", "client", str(path))
    assert code == 1
    assert {(f["rule"], f["party"]) for f in findings if f["severity"] == "error"} == {
        ("body.request-schema", CLIENT)}


def test_a_wrong_rejection_does_not_excuse_the_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 400 carrying a 404's error type: the server's answer is wrong, so the client's mistake stays an error.
    wrong = {**REJECTION, "error": {"type": "not_found_error", "message": "x"}}
    code, findings = lint_json(capsys, "--party", "client", str(cassette(tmp_path, INVALID, 400, wrong)))
    assert code == 1
    assert "body.request-schema" in {f["rule"] for f in findings if f["severity"] == "error"}


def test_text_output_and_rules_listing_show_the_party(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lint", str(cassette(tmp_path, BROKEN, 200, MESSAGE))])
    out = capsys.readouterr().out
    assert "error   server request.accepted-invalid" in out
    assert "error   client body.request-schema" in out
    main(["rules"])
    listing = capsys.readouterr().out
    assert any(line.split()[:3] == ["body.request-schema", "error", "client"] for line in listing.splitlines())


def test_a_bad_party_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--party", "gateway", str(tmp_path)])
    assert exc.value.code == 2


# -- forward and backward compatibility: what the server accepted may be newer than the profile -------------


def test_an_unknown_field_the_server_accepted_is_a_warning_that_the_profile_lags(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newer = {**BROKEN, "max_tokens": 10, "speculative_decoding": {"enabled": True}}
    code, findings = lint_json(capsys, str(cassette(tmp_path, newer, 200, MESSAGE)))
    assert code == 0
    (f,) = [f for f in findings if f["severity"] != "info"]
    assert (f["rule"], f["severity"], f["path"]) == (
        "schema.unknown-request-field", "warning", "$.speculative_decoding")
    assert "2023-06-01" in f["message"]


def test_a_known_field_with_a_broken_value_stays_an_error_even_when_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrong_type = {**BROKEN, "max_tokens": "ten"}
    code, findings = lint_json(capsys, str(cassette(tmp_path, wrong_type, 200, MESSAGE)))
    assert code == 1
    assert {f["rule"] for f in findings if f["severity"] == "error"} == {
        "body.request-schema", "request.accepted-invalid"}


def _turns(*blocks: dict[str, Any], role: str = "assistant") -> dict[str, Any]:
    """A request whose second turn (``role``) holds ``blocks`` after a text block."""
    return {**BROKEN, "max_tokens": 10, "messages": [
        {"role": "user", "content": "Hi"}, {"role": role, "content": [{"type": "text", "text": "x"}, *blocks]},
        {"role": "user", "content": "and?"}]}


def test_an_unknown_block_type_the_server_accepted_is_a_warning_that_the_profile_lags(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Judged against no schema, the block's own fields are not findings either.
    newer = _turns({"type": "oracle_tool_result", "tool_use_id": "srvtoolu_1", "content": {"verdict": 1}})
    code, findings = lint_json(capsys, str(cassette(tmp_path, newer, 200, MESSAGE)))
    assert code == 0
    (f,) = [f for f in findings if f["severity"] != "info"]
    assert (f["rule"], f["severity"], f["path"], f["actual"]) == (
        "schema.unknown-request-field", "warning", "$.messages[1].content[1].type", "oracle_tool_result")
    assert "type 'oracle_tool_result' is not in profile 2023-06-01's request schema" in f["message"]
    # A block held where only one type is listed (a system turn's text), or a tool change's target, alike.
    for newer in (_turns({"type": "tool_swap", "tool": {"type": "tool_reference", "name": "x"}}, role="system"),
                  _turns({"type": "tool_addition", "tool": {"type": "skill_reference", "skill": "x"}}, role="system")):
        code, findings = lint_json(capsys, str(cassette(tmp_path, newer, 200, MESSAGE)))
        assert (code, [(f["rule"], f["severity"]) for f in findings if f["severity"] != "info"]) == (
            0, [("schema.unknown-request-field", "warning")])


def test_a_known_block_type_out_of_place_or_broken_stays_an_error_even_when_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    for broken in (_turns(image, role="system"),  # a type the profile knows, where it does not belong
                   _turns({"type": "advisor_tool_result", "tool_use_id": "srvtoolu_1"})):  # no content
        code, findings = lint_json(capsys, str(cassette(tmp_path, broken, 200, MESSAGE)))
        assert code == 1
        assert {f["rule"] for f in findings if f["severity"] == "error"} == {
            "body.request-schema", "request.accepted-invalid"}
    # An unknown type next to a broken known field: the lag is a warning, the broken field still an error.
    both = {**_turns({"type": "oracle_tool_result"}), "max_tokens": "ten"}
    code, findings = lint_json(capsys, str(cassette(tmp_path, both, 200, MESSAGE)))
    assert code == 1
    assert sorted((f["rule"], f["path"]) for f in findings if f["severity"] != "info") == [
        ("body.request-schema", "$.max_tokens"), ("request.accepted-invalid", "$.max_tokens"),
        ("schema.unknown-request-field", "$.messages[1].content[1].type")]
    # Rejected, an unknown type is the client's mistake as before.
    code, findings = lint_json(capsys, str(cassette(tmp_path, _turns({"type": "oracle_tool_result"}), 400, REJECTION)))
    assert {f["rule"] for f in findings if f["severity"] != "info"} == {"request.rejected-as-expected"}


def test_a_cross_field_rule_the_server_did_not_enforce_is_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A tool_result answering no tool_use: recordings from 2024 show the API answering 200 to it.
    stray = {**BROKEN, "max_tokens": 10, "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a", "name": "w", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_b", "content": "sunny"}]}]}
    code, findings = lint_json(capsys, str(cassette(tmp_path, stray, 200, MESSAGE)))
    assert code == 0
    assert {(f["rule"], f["severity"]) for f in findings if f["severity"] != "info"} == {
        ("request.cross-field", "warning"), ("request.accepted-invalid", "warning")}
    # Answered 400, the same request is the client's mistake, rejected as the API does.
    code, findings = lint_json(capsys, str(cassette(tmp_path, stray, 400, REJECTION)))
    assert code == 0
    assert {f["rule"] for f in findings if f["severity"] != "info"} == {"request.rejected-as-expected"}
