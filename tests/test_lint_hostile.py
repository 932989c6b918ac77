"""`conformance lint` does bounded work for any input: each test here is an input that once took it down.

Every lint runs in a child process under an address-space limit and a timeout (tests/hostile.py), so
a regression fails the test instead of exhausting the machine. The assertions are about behaviour:
the exit code, one clear line, what is (and is not) printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile import (
    SSE_DELTA,
    alias_bomb,
    binary_body_cassette,
    cassette,
    deflate_bomb,
    gzip_bomb,
    lint_bounded,
    write_long_stream,
)
from tests.test_cli import VALID_STREAM

DATA = Path(__file__).parent / "data" / "recordings"


def one_error_line(stderr: str, *needles: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr[:2000]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- YAML alias bombs --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["body", "header"])
@pytest.mark.parametrize("levels", [7, 9])
def test_alias_bomb_is_one_input_error(tmp_path: Path, where: str, levels: int) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(alias_bomb(levels, where))
    out = lint_bounded(path)
    assert out.code == 2
    one_error_line(out.stderr, str(path), "alias")
    assert len(out.stdout) < 2000


def test_aliases_a_cassette_writer_produces_are_read(tmp_path: Path) -> None:
    # PyYAML's dumper writes an anchor for an object it meets twice (vcrpy shares header lists).
    path = tmp_path / "shared.yaml"
    path.write_text(cassette("    body: {string: '{}'}\n", prelude="shared: &h [application/json]\n",
                             extra_response_headers="      x-also: *h\n"))
    out = lint_bounded(path)
    assert "alias" not in out.stderr and out.code in (0, 1), out.stderr


# --- several streams in one capture ---------------------------------------------------------------------


STOP_START = ('{"type":"message_stop"}\n{"type":"message_start","message":{"id":"msg_1","type":"message",'
              '"role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,'
              '"usage":{"input_tokens":1,"output_tokens":1}}}\n')


@pytest.mark.parametrize(("suffix", "count", "interactions"), [
    (".chunks.txt", 50_000, 1000),
    (".sse", 20_000, 1000),
    # a capture too large to hold is read from disk a chunk at a time, as one stream
    (".sse", 50_000, 1),
])
def test_many_tiny_streams_cost_what_one_long_stream_costs(tmp_path: Path, suffix: str, count: int,
                                                           interactions: int) -> None:
    # Each message_start after a message_stop begins a stream: at most MAX_STREAMS are read out of a file.
    text = STOP_START * count
    if suffix == ".sse":
        text = "".join(f"data: {line}\n\n" for line in text.splitlines())
    path = tmp_path / f"tiny{suffix}"
    path.write_text(text)
    out = lint_bounded("--format", "json", path)
    assert out.code == 1, out.stderr[-2000:]
    assert len(out.stdout) < 5_000_000
    assert json.loads(out.stdout)["summary"]["interactions"] == interactions


def test_a_huge_event_between_two_streams_is_read_in_bounded_work(tmp_path: Path) -> None:
    # Finding where streams begin decodes only the blocks that may be a message_start or message_stop.
    stop, start = STOP_START.splitlines()
    big = json.dumps({"type": "ping", "pad": "message_st" * 700_000})
    path = tmp_path / "big.sse"
    path.write_text(f"data: {start}\n\ndata: {stop}\n\ndata: {big}\n\ndata: {start}\n\ndata: {stop}\n\n")
    out = lint_bounded(path)
    assert out.code == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "2 interactions" in out.stdout


# --- multidict istr header names (vcrpy through aiohttp) ----------------------------------------------


ISTR = "!!python/object/apply:multidict._multidict.istr"


def test_a_hundred_thousand_istr_header_names_are_read_in_bounded_work(tmp_path: Path) -> None:
    names = "".join(f"      ? {ISTR}\n      - x-h{i}\n      : ['v']\n" for i in range(100_000))
    path = tmp_path / "many-istr.yaml"
    path.write_text(cassette("    body: {string: '{}'}\n", extra_response_headers=names))
    out = lint_bounded(path)
    assert out.code in (0, 1), out.stderr[-2000:]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("value", [
    "[" * 999 + "a" + "]" * 999,
    "[" * 5000 + "a" + "]" * 5000,
    "[" + ", ".join(["a"] * 500_000) + "]",
    "{a: " + "{a: " * 500 + "b" + "}" * 501,
    "[!!python/object/apply:os.system [touch {marker}]]",
    "[12345]",
], ids=["deep", "deeper-than-libyaml", "huge", "deep-mapping", "python-inside", "int"])
def test_an_istr_tag_holding_a_hostile_value_is_one_input_error(tmp_path: Path, value: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "hostile-istr.yaml"
    path.write_text(cassette("    body: {string: '{}'}\n", extra_response_headers=(
        f"      ? {ISTR} {value.replace('{marker}', str(marker))}\n      : ['v']\n")))
    out = lint_bounded(path)
    assert out.code == 2
    line = one_error_line(out.stderr, str(path))
    assert "istr tag refused" in line or "nesting depth" in line or "invalid YAML" in line, line
    assert not marker.exists()


# --- http-snapshot JSON (a list of request/response pairs) ---------------------------------------------


def _snapshot_item(response_body: object = None, **response: object) -> dict[str, object]:
    return {"request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages",
                        "headers": {"anthropic-version": "2023-06-01", "content-type": "application/json"},
                        "body": {"model": "claude-sonnet-4-5-20250929", "max_tokens": 8,
                                 "messages": [{"role": "user", "content": "Hi"}]}},
            "response": {"status_code": 200, "headers": {"content-type": "application/json"},
                         "body": response_body, **response}}


def test_ten_thousand_http_snapshot_exchanges_are_linted_in_bounded_work(tmp_path: Path) -> None:
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "x" * 200}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}
    path = tmp_path / "many.json"
    path.write_text(json.dumps([_snapshot_item(body)] * 10_000))
    out = lint_bounded("--min-severity", "warning", path)
    assert out.code == 0, out.stderr[-2000:]
    assert "10000 interactions, 0 errors" in out.stdout


@pytest.mark.parametrize(("text", "needle"), [
    ("[" * 300 + "]" * 300, "nested too deep to re-serialise"),
    ("[" * 100_000 + "]" * 100_000, "invalid JSON"),
    (json.dumps({"x": "y" * 50_000_000}), None),
    ("12", None),
    ('{"k": ' * 200 + "1" + "}" * 200, None),
], ids=["deep", "deeper-than-orjson", "huge", "number", "deep-but-serialisable"])
def test_an_http_snapshot_with_a_hostile_body_is_bounded(tmp_path: Path, text: str, needle: str | None) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps([_snapshot_item()]).replace('"body": null', f'"body": {text}'))
    out = lint_bounded(path)
    assert "Traceback" not in out.stderr
    if needle is None:
        assert out.code in (0, 1), out.stderr[-2000:]
        assert len(out.stdout) < 20_000
    else:
        assert out.code == 2
        one_error_line(out.stderr, str(path), needle)


@pytest.mark.parametrize("response", [
    {"status_code": 200.5}, {"status_code": [200]}, {"status_code": "abc"}, {"status_code": None},
    {"headers": [["request-id", "req_1"]] * 10_000}, {"headers": "content-type: application/json"},
    {"headers": {"x": {"y": [1, {"z": None}]}}},
], ids=["float-status", "list-status", "text-status", "null-status", "header-pairs", "header-text", "nested-headers"])
def test_an_http_snapshot_with_wrongly_typed_fields_is_read_or_one_input_error(tmp_path: Path,
                                                                                response: dict[str, object]) -> None:
    path = tmp_path / "typed.json"
    path.write_text(json.dumps([_snapshot_item({"type": "message"}), _snapshot_item({"type": "message"}, **response)]))
    out = lint_bounded(path)
    assert "Traceback" not in out.stderr
    if "status_code" in response:
        assert out.code == 2
        one_error_line(out.stderr, str(path), "[1].response.status_code")
    else:
        assert out.code in (0, 1), out.stderr[-2000:]


# --- what one finding may quote -----------------------------------------------------------------------


def test_a_huge_wrong_value_is_quoted_in_a_few_hundred_characters(tmp_path: Path) -> None:
    # A 3 MB response body of the wrong type: every finding quotes it, none may print all of it.
    huge = json.dumps([{"type": "text", "text": "x" * 1000}] * 3000)
    path = tmp_path / "huge.json"
    path.write_text(cassette(f"    body: {{string: '{huge}'}}\n"))
    for fmt in ("text", "json"):
        out = lint_bounded("--format", fmt, path)
        assert out.code == 1, out.stderr
        assert len(out.stdout) < 20_000
        if fmt == "json":
            findings = json.loads(out.stdout)["findings"]
            assert findings
            for f in findings:
                assert len(json.dumps(f)) < 2_000


def test_a_body_with_a_hundred_thousand_wrong_items_lists_a_hundred(tmp_path: Path) -> None:
    # Every block lacks its text: listing (and walking) all of them took minutes and printed megabytes.
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text"}] * 100_000, "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}
    path = tmp_path / "blocks.json"
    path.write_text(json.dumps(body))
    out = lint_bounded("--format", "json", path)
    assert out.code == 1, out.stderr
    findings = [f for f in json.loads(out.stdout)["findings"] if f["rule"] == "body.response-schema"]
    assert 100 <= len(findings) <= 101
    assert "more violations than the 100 listed" in findings[-1]["message"]


# --- decompression bombs ------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/event-stream"])
def test_gzip_bomb_is_refused_as_too_large(tmp_path: Path, content_type: str) -> None:
    unit = SSE_DELTA if content_type == "text/event-stream" else b"\0"
    path = tmp_path / "gzip-bomb.yaml"
    path.write_text(binary_body_cassette(gzip_bomb(2048, unit), content_type=content_type))
    out = lint_bounded(path)
    assert out.code == 2
    one_error_line(out.stderr, str(path), "interactions[0].response", "64 MB", "--max-body-bytes")


def test_many_small_bombs_in_one_file_are_refused_together(tmp_path: Path) -> None:
    # Each body alone is far under the limit; a hundred of them are 6 GB.
    one = binary_body_cassette(gzip_bomb(64))
    head, interaction = one.split("interactions:\n", 1)
    interaction = interaction.rsplit("version: 1\n", 1)[0]
    path = tmp_path / "many.yaml"
    path.write_text(head + "interactions:\n" + interaction * 100 + "version: 1\n")
    out = lint_bounded(path)
    assert out.code == 2
    one_error_line(out.stderr, str(path), "interactions[1].response.body",
                   "takes the file's decompressed bodies past 64 MB")


def test_deflate_bomb_is_refused_as_too_large(tmp_path: Path) -> None:
    path = tmp_path / "deflate-bomb.yaml"
    path.write_text(binary_body_cassette(deflate_bomb(200), encoding="deflate"))
    out = lint_bounded("--max-body-bytes", "100000000", path)
    assert out.code == 2
    one_error_line(out.stderr, str(path), "100000000 bytes")


def test_max_body_bytes_applies_to_ordinary_gzip_bodies(tmp_path: Path) -> None:
    sample = DATA / "vcrpy_gzip_binary.yaml"
    assert lint_bounded(sample).code in (0, 1)
    out = lint_bounded("--max-body-bytes", "100", sample)
    assert out.code == 2
    one_error_line(out.stderr, str(sample), "100 bytes")


# --- files that are not files -------------------------------------------------------------------------


def test_a_fifo_in_a_directory_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "ok.sse").write_text(VALID_STREAM)
    os.mkfifo(tmp_path / "pipe.sse")
    out = lint_bounded(tmp_path, timeout=30)
    assert out.code == 0, out.stderr
    assert "1 file," in out.stdout
    assert "pipe.sse" in out.stdout and "not a regular file" in out.stdout


def test_an_explicit_fifo_is_refused_in_one_line(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.sse"
    os.mkfifo(pipe)
    out = lint_bounded(pipe, timeout=30)
    assert out.code == 2
    one_error_line(out.stderr, str(pipe), "FIFO", "not a regular file")


def test_dev_zero_is_refused_in_one_line() -> None:
    out = lint_bounded("/dev/zero")
    assert out.code == 2
    one_error_line(out.stderr, "/dev/zero", "character device")


def test_a_file_over_max_file_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ok.sse"
    path.write_text(VALID_STREAM)
    out = lint_bounded("--max-file-bytes", "100", path)
    assert out.code == 2
    one_error_line(out.stderr, str(path), "100 bytes", "--max-file-bytes")


# --- one bad path must not hide the rest ---------------------------------------------------------------


def test_good_inputs_are_reported_then_the_unreadable_ones(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "ok.sse").write_text(VALID_STREAM)
    (good / "bad.sse").write_text(VALID_STREAM.replace('"text_delta"', '"thinking_delta"', 1)
                                  .replace('"text":"Hello"', '"thinking":"Hello"'))
    missing = tmp_path / "nonexistent"
    out = lint_bounded(good, missing)
    assert out.code == 2
    assert "stream.delta-type" in out.stdout and str(good / "bad.sse") in out.stdout
    assert "2 files" in out.stdout and "1 unreadable" in out.stdout
    assert out.stdout.index("stream.delta-type") < out.stdout.index(str(missing))
    one_error_line(out.stderr, str(missing), "no such file or directory")


def test_a_symlink_loop_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    out = lint_bounded(tmp_path / "a")
    assert out.code == 2
    one_error_line(out.stderr, str(tmp_path / "a"), "symlink loop")
    walked = lint_bounded(tmp_path)
    assert walked.code == 2
    assert "symlink loop" in walked.stderr and "Traceback" not in walked.stderr


# --- large captures: read from disk a chunk at a time ---------------------------------------------------


def test_a_large_capture_is_linted_in_bounded_memory(tmp_path: Path) -> None:
    # Held whole, a 40 MB capture took ~470 MB; read a chunk at a time it fits in far less than 300 MB
    # of address space (the Python process itself included).
    path = tmp_path / "long.sse"
    write_long_stream(path, 40)
    out = lint_bounded(path, memory=300 << 20)
    assert out.code == 0, out.stderr[-2000:]
    assert "1 interaction, 0 errors, 0 warnings" in out.stdout


def test_a_large_capture_is_judged_event_by_event(tmp_path: Path) -> None:
    path = tmp_path / "long.sse"
    events = write_long_stream(path, 12, last_delta="thinking_delta", terminated=False)
    out = lint_bounded("--format", "json", path)
    assert out.code == 1, out.stderr
    found = {(f["rule"], f.get("event")) for f in json.loads(out.stdout)["findings"]}
    # The delta is numbered across every chunk of the file; the last event, missing its blank line,
    # is recovered after the pass and judged too.
    assert ("stream.delta-type", events - 4) in found
    assert ("stream.unterminated-event", events - 1) in found
    assert not any(rule == "stream.message-stop" for rule, _ in found)


def test_a_large_capture_of_another_apis_stream_is_skipped_after_its_first_events(tmp_path: Path) -> None:
    chunk = ('data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"'
             + "x" * 200 + '"}}]}\n\n')
    path = tmp_path / "openai.sse"
    with path.open("w") as fh:
        for _ in range(8):
            fh.write(chunk * 25_000)  # 8 x 5 MB, read from disk a chunk at a time
        fh.write('data: {"type":"message_start"' + "[" * 100_000 + "\n\ndata: [DONE]\n\n")
    out = lint_bounded(path, memory=300 << 20, timeout=20)
    assert out.code == 0, out.stderr[-2000:]
    assert "not a Messages API stream (OpenAI chat.completion.chunk events)" in out.stdout
    assert "0 interactions" in out.stdout


def test_an_event_larger_than_max_body_bytes_in_a_large_capture_is_one_input_error(tmp_path: Path) -> None:
    path = tmp_path / "one-event.sse"
    path.write_bytes(b"data: " + b"x" * (10 << 20))
    out = lint_bounded("--max-body-bytes", "2000000", path)
    assert out.code == 2
    one_error_line(out.stderr, str(path), "an event is larger than 2000000 bytes")


def test_a_long_text_is_accumulated_whole_whatever_the_batches() -> None:
    from conformance.accumulate import MessageAccumulator, accumulate_message
    from conformance.exchange import StreamEvent

    def event(i: int, payload: dict[str, object]) -> StreamEvent:
        return StreamEvent(i, None, "", payload)

    pieces = [f"w{i} " for i in range(10_000)]
    events = [event(0, {"type": "message_start", "message": {"id": "msg_1", "content": []}}),
              event(1, {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "<"}}),
              *(event(2 + i, {"type": "content_block_delta", "index": 0,
                              "delta": {"type": "text_delta", "text": p}}) for i, p in enumerate(pieces))]
    whole = accumulate_message(events)
    batched = MessageAccumulator()
    for start in range(0, len(events), 777):
        batched.feed(events[start:start + 777])
    assert whole is not None and whole["content"][0]["text"] == "<" + "".join(pieces)
    assert batched.result() == whole


def test_a_stream_of_broken_events_reports_a_bounded_number_of_findings() -> None:
    from conformance.exchange import StreamEvent
    from conformance.profiles import load_profiles
    from conformance.rules.stream import MAX_FINDINGS_PER_RULE, StreamValidator

    validator = StreamValidator(load_profiles().default)
    for start in range(0, 10_000, 1_000):
        validator.feed([StreamEvent(i, None, "x", None, "not JSON") for i in range(start, start + 1_000)])
    findings = validator.finish(lambda: None)
    data_json = [f for f in findings if f.rule == "stream.data-json"]
    assert len(data_json) == MAX_FINDINGS_PER_RULE + 1
    assert data_json[-1].message.startswith(f"{10_000 - MAX_FINDINGS_PER_RULE} more stream.data-json findings")


# --- secrets in output --------------------------------------------------------------------------------


def _key() -> str:
    import secrets

    # built at run time so no key-shaped literal sits in the repository
    return "-".join(("sk", "ant", "api03", secrets.token_urlsafe(64)))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_keys_in_recordings_are_never_printed(tmp_path: Path, fmt: str) -> None:
    key, given = _key(), "given" + _key()[6:]
    # In a finding's actual value, a file name, a malformed URL of an unreadable file, and as the key
    # the user has in the environment (no key shape).
    body = json.dumps({"type": "message", "role": key, "id": given})
    (tmp_path / "rec.yaml").write_text(cassette(f"    body: {{string: '{body}'}}\n"))
    (tmp_path / f"x{key}.yaml").write_text(cassette("    body: {string: '{}'}\n")
                                           .replace("status: {code: 200", "status: {code: true"))
    out = lint_bounded("--format", fmt, tmp_path, env={"ANTHROPIC_API_KEY": given})
    printed = out.stdout + out.stderr
    assert out.code == 2, printed
    assert "REDACTED" in out.stdout and "REDACTED" in out.stderr
    for secret in (key, given):
        assert secret not in printed
        assert secret[-20:] not in printed
