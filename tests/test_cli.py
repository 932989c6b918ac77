"""The `conformance` command line: exit codes, output formats and bad input (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main

VALID_STREAM = (
    'event: message_start\n'
    'data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",'
    '"model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,'
    '"usage":{"input_tokens":10,"output_tokens":1}}}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    'event: ping\n'
    'data: {"type": "ping"}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\n\n'
    'event: content_block_stop\n'
    'data: {"type":"content_block_stop","index":0}\n\n'
    'event: message_delta\n'
    'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
    '"usage":{"output_tokens":5}}\n\n'
    'event: message_stop\n'
    'data: {"type":"message_stop"}\n\n'
)

# The same stream with a thinking_delta sent into the text block (a real gateway bug).
MISMATCHED_DELTA = VALID_STREAM.replace(
    '"delta":{"type":"text_delta","text":"Hello"}', '"delta":{"type":"thinking_delta","thinking":"Hello"}')


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_stream_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.sse").write_text(VALID_STREAM)
    code, out, _ = run(capsys, "lint", str(tmp_path))
    assert code == 0, out
    assert "0 errors" in out


def test_violation_exits_1_and_names_rule_file_and_event(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.sse"
    bad.write_text(MISMATCHED_DELTA)
    code, out, _ = run(capsys, "lint", str(bad))
    assert code == 1
    assert str(bad) in out
    assert "stream.delta-type" in out
    assert "event 3" in out


def test_json_output_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.sse").write_text(MISMATCHED_DELTA)
    (tmp_path / "ok.sse").write_text(VALID_STREAM)
    code, out, _ = run(capsys, "lint", "--format", "json", str(tmp_path))
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"]["files"] == 2
    assert doc["summary"]["interactions"] == 2
    assert doc["summary"]["errors"] >= 1
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert {f["rule"] for f in errors} == {"stream.delta-type"}
    first = errors[0]
    assert {"rule", "severity", "message", "file", "interaction", "path"} <= set(first)
    assert first["file"].endswith("bad.sse")
    assert first["interaction"] == 0


def test_min_severity_hides_findings_but_not_the_exit_code(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.sse").write_text(MISMATCHED_DELTA)
    code, out, _ = run(capsys, "lint", "--format", "json", "--min-severity", "error", str(tmp_path))
    assert code == 1
    assert all(f["severity"] == "error" for f in json.loads(out)["findings"])


def test_select_keeps_only_that_area(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.sse").write_text(MISMATCHED_DELTA)
    code, out, _ = run(capsys, "lint", "--format", "json", "--select", "ratelimit", str(tmp_path))
    assert code == 0
    assert all(f["rule"].startswith("ratelimit.") for f in json.loads(out)["findings"])


def test_python_yaml_tag_is_an_input_error_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    cassette = tmp_path / "evil.yaml"
    cassette.write_text(
        "interactions:\n"
        "- request: !!python/object/apply:os.system\n"
        f"    - 'touch {marker}'\n"
        "  response: {}\n"
        "version: 1\n"
    )
    proc = subprocess.run([sys.executable, "-m", "conformance", "lint", str(cassette)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert not marker.exists()
    assert "Traceback" not in proc.stderr
    assert str(cassette) in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1


def test_missing_path_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "lint", str(tmp_path / "nope"))
    assert code == 2
    assert "nope" in err


def test_unknown_api_version_names_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.sse").write_text(VALID_STREAM)
    code, _, err = run(capsys, "lint", "--api-version", "1999-01-01", str(tmp_path))
    assert code == 2
    assert "1999-01-01" in err and "2023-06-01" in err


def test_bad_severity_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "lint", "--min-severity", "loud", str(tmp_path))
    assert code == 2
    assert "loud" in err


@pytest.mark.parametrize(("args", "says"), [
    (["run", "--max-examples", "0"], "0: give at least 1"),
    (["run", "--max-requests", "-3"], "-3: give at least 1"),
    (["run", "--max-tokens", "0"], "0: give at least 1"),
    (["run", "--shrink-requests", "-1"], "-1: give at least 0"),
    (["run", "--max-wait", "-1"], "-1 seconds: give a finite number of 0 or more"),
    (["run", "--timeout", "0"], "0 seconds: give a finite number above 0"),
    (["run", "--stream-timeout", "nan"], "nan seconds"),
    (["run", "--timeout", "1e400"], "seconds: give a finite number"),
    (["run", "--max-requests", "many"], "'many' is not a whole number"),
    (["proxy", "--upstream", "reference", "--max-requests", "0"], "0: give at least 1"),
    (["serve", "--header-timeout", "-5"], "give a finite number above 0"),
    (["serve", "--log-max-bytes", "0"], "0 bytes: give at least 1"),
    (["lint", "--max-body-bytes", "0", "x"], "0 bytes: give at least 1"),
    (["drift", "--sdk", "python", "--sdk-path", "/nowhere"], "--sdk-path is where @anthropic-ai/sdk is installed"),
])
def test_a_number_that_cannot_work_is_refused_before_anything_runs(
        args: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A cap of 0 examples would report every generated check passed without sending anything."""
    code, _, err = run(capsys, *args)
    assert code == 2 and says in err and "Traceback" not in err


def test_other_endpoints_are_skipped_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = tmp_path / "legacy.yaml"
    cassette.write_text(
        "interactions:\n"
        "- request:\n"
        "    body: '{\"prompt\": \"\\\\n\\\\nHuman: hi\\\\n\\\\nAssistant:\", \"model\": \"claude-2\"}'\n"
        "    headers: {anthropic-version: ['2023-06-01']}\n"
        "    method: POST\n"
        "    uri: https://api.anthropic.com/v1/complete\n"
        "  response:\n"
        "    body: {string: '{\"completion\": \"hello\", \"stop_reason\": \"stop_sequence\"}'}\n"
        "    headers: {content-type: [application/json]}\n"
        "    status: {code: 200, message: OK}\n"
        "version: 1\n"
    )
    code, out, _ = run(capsys, "lint", str(cassette))
    assert code == 0
    assert "skipped" in out and "/v1/complete" in out
    assert "0 interactions" in out


DATA = Path(__file__).parent / "data" / "recordings"
RESPONSES_API = ('event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1"}}\n\n'
                 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}\n\n')


@pytest.mark.parametrize(("name", "content", "why"), [
    ("openai.sse", (DATA / "openai_chat_chunks.sse").read_text(),
     "OpenAI chat.completion.chunk events, a data: [DONE] sentinel"),
    ("openai.chunks.txt", '{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n' * 2,
     "OpenAI chat completion chunks"),
    ("responses.sse", RESPONSES_API, "OpenAI Responses API events"),
    ("gemini.sse", 'data: {"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}\n\n', "Gemini"),
    ("done.sse", "data: [DONE]\n\n", "a data: [DONE] sentinel"),
])
def test_another_apis_stream_is_skipped_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                                    content: str, why: str) -> None:
    (tmp_path / name).write_text(content)
    code, out, _ = run(capsys, "lint", str(tmp_path / name))
    assert code == 0, out
    assert f"skipped, not a Messages API stream ({why}" in out
    assert "0 interactions" in out and "1 skipped" in out


@pytest.mark.parametrize("content", [
    VALID_STREAM + "data: [DONE]\n\n",  # a Messages stream with a sentinel appended: judged, and the extra reported
    'data: {"type":"message_start","message":{}}\n\n' + (DATA / "openai_chat_chunks.sse").read_text(),
    'event: ping\ndata: {"type":"ping"}\n\n' + RESPONSES_API,
    'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\ndata: [DONE]\n\n',
    'data: {"type":"a_future_event","choices":[]}\n\ndata: {"type":"another_one"}\n\n',
    'data: {"object":5,"choices":"x","type":7,"candidates":{}}\n\n',
], ids=["done-appended", "openai-after-start", "responses-after-ping", "error-then-done", "unknown-types",
        "wrongly-typed"])
def test_a_stream_with_messages_events_or_no_foreign_sign_is_judged(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    content: str) -> None:
    (tmp_path / "s.sse").write_text(content)
    code, out, _ = run(capsys, "lint", str(tmp_path / "s.sse"))
    assert "not a Messages API stream" not in out
    assert "1 interaction," in out and code == 1, out


def test_another_apis_stream_answered_to_a_messages_request_is_judged(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.hostile import cassette

    # A gateway answering /v1/messages with OpenAI chunks is the deviation the rules are for.
    chunks = (DATA / "openai_chat_chunks.sse").read_text()
    (tmp_path / "gw.yaml").write_text(cassette(f"    body: {{string: {json.dumps(chunks)}}}\n",
                                               content_type="text/event-stream"))
    code, out, _ = run(capsys, "lint", str(tmp_path / "gw.yaml"))
    assert "not a Messages API stream" not in out and "1 interaction," in out, out
    assert code == 1


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2
    assert "lint" in err
