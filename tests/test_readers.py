"""Recording readers: every format to Exchanges, each quirk undone, bad input as InputError only.

Samples under tests/data/recordings are small hand-written files, one per format and quirk; the
real-traffic test reads every file of the corpus named by CONFORMANCE_CORPUS (skipped, visibly,
when it is not set).
"""

from __future__ import annotations

import base64
import csv
import gzip
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from conformance.cassettes import FORMATS, ReadLimits, Recording, iter_recording_files, read_recording
from conformance.cassettes.detect import claiming_readers, read_document, stream_event_types
from conformance.cassettes.files import SkippedFile, walk_recordings
from conformance.cassettes.streams import MAX_STREAMS, stream_starts
from conformance.errors import InputError
from conformance.exchange import MISSING

DATA = Path(__file__).parent / "data" / "recordings"


def read(name: str) -> Recording:
    return read_recording(DATA / name)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# --- each format ---------------------------------------------------------------------------------


def test_vcrpy_yaml_reads_json_and_stream_exchanges_keeping_the_query() -> None:
    rec = read("vcrpy_plain.yaml")
    assert rec.format == "vcrpy-yaml"
    assert rec.file == str(DATA / "vcrpy_plain.yaml")
    first, second = rec.exchanges
    assert [first.interaction, second.interaction] == [0, 1]
    assert first.file == rec.file
    assert first.request is not None and first.response is not None
    assert first.request.url == "https://api.anthropic.com/v1/messages?beta=true"
    assert first.request.path == "/v1/messages"
    assert first.request.method == "POST"
    assert first.request.json["messages"][0]["content"] == "Hi"
    assert first.response.status == 200
    assert first.response.json["id"] == "msg_01sample"
    assert first.response.headers.get("REQUEST-ID") == "req_sample1"
    assert not first.is_stream
    assert second.is_stream
    assert second.events is not None
    assert [e.type for e in second.events] == ["message_start", "message_stop"]
    # The padded payload is kept byte for byte; parsing it is the validators' business.
    assert second.events[0].data.endswith("}   }")


def test_request_headers_without_auth_are_marked_incomplete() -> None:
    first, second = read("vcrpy_plain.yaml").exchanges
    assert first.request_headers_complete is True
    assert second.request_headers_complete is False


def test_vcrpy_json_serializer() -> None:
    rec = read("vcrpy.json")
    assert rec.format == "vcrpy-json"
    (ex,) = rec.exchanges
    assert ex.response is not None and ex.response.status == 529
    assert ex.response.json["error"]["type"] == "overloaded_error"
    assert ex.request is not None and ex.request.headers.get("authorization") == "Bearer REDACTED"


@pytest.mark.parametrize(
    ("serializer", "fmt", "suffix"), [("yaml", "vcrpy-yaml", ".yaml"), ("json", "vcrpy-json", ".json")])
def test_reads_what_vcrpy_itself_writes(tmp_path: Path, serializer: str, fmt: str, suffix: str) -> None:
    from vcr.request import Request
    from vcr.serialize import serialize
    from vcr.serializers import jsonserializer, yamlserializer

    url = "https://api.anthropic.com/v1/messages?beta=true"
    request = Request("POST", url, b'{"max_tokens":1}', {"content-type": "application/json", "x-api-key": "k"})
    body = b'{"type":"message","id":"msg_v"}'
    # vcrpy's YAML keeps bytes as !!binary; its JSON serializer can only hold text.
    stored = gzip.compress(body) if serializer == "yaml" else body
    response = {"status": {"code": 201, "message": "Created"}, "body": {"string": stored},
                "headers": {"Content-Encoding": ["gzip"], "content-type": ["application/json"]}}
    text = serialize({"requests": [request], "responses": [response]},
                     yamlserializer if serializer == "yaml" else jsonserializer)
    rec = read_recording(write(tmp_path, "c" + suffix, text))
    assert rec.format == fmt
    (ex,) = rec.exchanges
    assert ex.request is not None and ex.request.url == url and ex.request.json == {"max_tokens": 1}
    assert ex.response is not None and ex.response.status == 201 and ex.response.body == body


def test_gzip_base64_binary_body_is_decoded_and_gunzipped() -> None:
    rec = read("vcrpy_gzip_binary.yaml")
    (ex,) = rec.exchanges
    assert ex.request is not None and ex.request.json["max_tokens"] == 8
    assert ex.response is not None
    assert ex.response.body is not None and ex.response.body.startswith(b"event: message_start\n")
    assert ex.events is not None and [e.type for e in ex.events] == ["message_start", "message_stop"]
    assert ex.response.headers.get("content-encoding") == "gzip"  # headers stay as recorded
    assert any("gzip" in n for n in ex.notes)
    assert any("!!binary" in n for n in rec.notes)


def test_parsed_body_is_reserialised_to_json_bytes() -> None:
    rec = read("vcrpy_parsed_body.yaml")
    (ex,) = rec.exchanges
    assert ex.request is not None and ex.response is not None
    assert orjson.loads(ex.request.body or b"") == {
        "max_tokens": 8, "messages": [{"content": "hello", "role": "user"}], "model": "claude-does-not-exist"}
    assert ex.request.url.endswith("/v1/messages/count_tokens?beta=true")
    assert ex.response.status == 404
    assert ex.response.json["error"]["type"] == "not_found_error"
    assert ex.response_headers_complete is False
    assert any("parsed_body" in n for n in rec.notes)


def test_go_vcr_title_case_headers_status_string_and_url() -> None:
    rec = read("govcr.yaml")
    assert rec.format == "go-vcr"
    (ex,) = rec.exchanges
    assert ex.request is not None and ex.response is not None
    assert ex.request.url == "https://api.anthropic.com/v1/messages?beta=true"
    assert ex.request.headers.get("anthropic-version") == "2023-06-01"
    assert ex.response.status == 429
    assert ex.response.headers.get("retry-after") == "7"
    assert ("Retry-After", "7") in list(ex.response.headers)  # original name kept
    assert ex.response.json["id"] == "msg_01go"


def test_go_vcr_status_string_alone_gives_the_code(tmp_path: Path) -> None:
    text = (DATA / "govcr.yaml").read_text().replace("    code: 429\n", "").replace("429 Too Many", "503 Too Many")
    (ex,) = read_recording(write(tmp_path, "g.yaml", text)).exchanges
    assert ex.response is not None and ex.response.status == 503


def test_nock_raw_headers_flat_list_object_response_and_hex_chunks() -> None:
    rec = read("nock.json")
    assert rec.format == "nock"
    first, second, third = rec.exchanges
    assert first.request is not None and first.response is not None
    assert first.request.url == "https://api.anthropic.com:443/v1/messages?beta=true"
    assert first.request.path == "/v1/messages"
    assert first.request.json["max_tokens"] == 4
    assert first.response.headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert first.response.headers.get("request-id") == "req_n1"
    assert first.response.json["id"] == "msg_nock"
    assert first.request_headers_complete is False
    assert second.is_stream and second.events is not None and second.events[0].type == "ping"
    assert second.request is not None and second.request.headers.get("x-api-key") == "k"
    assert second.request_headers_complete is True
    assert third.response is not None and third.response.json["id"] == "msg_nock"


def test_nock_text_chunks_and_single_hex_string(tmp_path: Path) -> None:
    defs = orjson.loads((DATA / "nock.json").read_bytes())
    defs[1]["response"] = ["event: ping\ndata: {\"type\": ", "\"ping\"}\n\n"]
    defs[2]["response"] = "".join(defs[2]["response"])
    _, second, third = read_recording(write(tmp_path, "n.json", orjson.dumps(defs))).exchanges
    assert second.events is not None and [e.type for e in second.events] == ["ping"]
    assert third.response is not None and third.response.json["id"] == "msg_nock"


def test_har_base64_content_query_and_missing_response() -> None:
    rec = read("sample.har")
    assert rec.format == "har"
    first, second = rec.exchanges
    assert first.request is not None and first.response is not None
    assert first.request.url.endswith("/v1/messages?beta=true")
    assert first.request.json == {"max_tokens": 1}
    assert first.response.json["id"] == "msg_nock"
    assert second.request is not None and second.request.method == "GET" and second.request.body is None
    assert second.response is not None and second.response.status is None and second.response.body is None


def test_ddtrace_gzip_header_kept_but_body_decoded() -> None:
    rec = read("ddtrace.json")
    assert rec.format == "ddtrace-json"
    (ex,) = rec.exchanges
    assert ex.response is not None and ex.response.status == 200
    assert ex.response.json["id"] == "msg_dd1"
    assert "Content-Encoding: gzip kept but body stored decoded" in ex.notes


def test_openinference_json_is_a_response_only() -> None:
    rec = read("openinference.json")
    assert rec.format == "openinference-json"
    (ex,) = rec.exchanges
    assert ex.request is None
    assert ex.response is not None and ex.response.status == 200
    assert ex.events is not None and [e.type for e in ex.events] == ["message_start", "message_stop"]


def test_http_snapshot_parsed_and_text_bodies_with_filtered_headers() -> None:
    # The http-snapshot pytest plugin's inline-snapshot JSON (the Anthropic Python SDK's tests/lib).
    rec = read("http_snapshot.json")
    assert rec.format == "http-snapshot"
    limited, streamed = rec.exchanges
    assert [limited.interaction, streamed.interaction] == [0, 1]
    assert limited.request is not None and limited.response is not None
    assert limited.request.method == "POST" and limited.request.path == "/v1/messages"
    assert limited.request.json["messages"][0]["content"] == "1+2?"
    assert limited.request.body is not None and limited.request.body.startswith(b'{"max_tokens":8,')
    assert limited.response.status == 429
    assert limited.response.json["error"]["type"] == "rate_limit_error"
    assert "response body stored parsed; re-serialised as compact JSON (not byte-exact)" in limited.notes
    assert streamed.is_stream and streamed.events is not None
    assert [e.type for e in streamed.events][::5] == ["message_start", "message_stop"]
    # The recorder keeps a few response headers and drops auth: neither side's headers are complete.
    assert not any(ex.response_headers_complete or ex.request_headers_complete for ex in rec.exchanges)
    assert any("filtered by the recorder" in n for n in rec.notes)


def test_http_snapshot_headers_are_not_judged_as_complete() -> None:
    from conformance.lint import lint_paths

    result = lint_paths([DATA / "http_snapshot.json"])
    rules = {f.rule for f in result.findings}
    assert result.interactions == 2 and not result.input_errors
    assert not rules & {"error.request-id-missing", "ratelimit.retry-after-missing", "ratelimit.missing-on-429"}


def _snapshot_item(**response: object) -> dict[str, object]:
    return {"request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages", "headers": {}, "body": "{}"},
            "response": {"status_code": 200, "headers": {}, "body": "", **response}}


def test_http_snapshot_without_the_request_is_a_response_only(tmp_path: Path) -> None:
    item = _snapshot_item(body={"type": "message"})
    del item["request"]
    (ex,) = read_recording(write(tmp_path, "r.json", orjson.dumps([item]))).exchanges
    assert ex.request is None and ex.response is not None and ex.response.status == 200
    assert ex.response.json == {"type": "message"} and not ex.response_headers_complete


@pytest.mark.parametrize(("change", "where"), [
    (lambda item: item.update(response=[]), "[1].response"),
    (lambda item: item.pop("response"), "[1].response"),
    (lambda item: item["response"].update(status_code=True), "[1].response.status_code"),
    (lambda item: item["response"].update(status_code={"x": 1}), "[1].response.status_code"),
    (lambda item: item["response"].pop("status_code"), "[1].response.status_code"),
    (lambda item: item["request"].update(method=7), "[1].request.method"),
    (lambda item: item["request"].pop("url"), "[1].request.url"),
    (lambda item: item.update(request="GET /"), "[1].request"),
    (lambda item: item["request"].update(url="http://[::1/v1"), "[1].request.url"),
], ids=["response-list", "no-response", "bool-status", "mapping-status", "no-status", "method", "no-url",
        "request-string", "bad-url"])
def test_a_damaged_http_snapshot_names_the_place(tmp_path: Path, change: Callable[[dict[str, Any]], None],
                                                 where: str) -> None:
    # The first item decides the format (the detector is strict about it); a later one is read and checked.
    items: list[Any] = [_snapshot_item(), _snapshot_item()]
    change(items[1])
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "bad.json", orjson.dumps(items)))
    assert info.value.where == where and info.value.fix


def test_an_http_snapshot_item_that_is_not_a_mapping_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "bad.json", orjson.dumps([_snapshot_item(), 5])))
    assert info.value.where == "[1]"


def test_an_http_snapshot_body_too_deep_to_reserialise_is_an_input_error(tmp_path: Path) -> None:
    deep = "[" * 300 + "]" * 300
    text = orjson.dumps([_snapshot_item()]).decode().replace('"body":""', f'"body":{deep}')
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "deep.json", text))
    assert info.value.where == "[0].response.body" and "too deep" in str(info.value)


@pytest.mark.parametrize("data", [
    [], [[{"name": "span"}]], [{"request": {}, "response": {"status": 200}}],
    [{"response": {"status_code": 200}, "extra": 1}],
    [{"request": {"method": "GET"}, "response": {"status_code": 200}}],
], ids=["empty", "ddtrace-spans", "no-status-code", "extra-key", "no-url"])
def test_other_json_lists_are_not_http_snapshots(tmp_path: Path, data: object) -> None:
    path = write(tmp_path, "list.json", orjson.dumps(data))
    assert claiming_readers(read_document(path)) == []


def test_bare_message_body() -> None:
    rec = read("message.json")
    assert rec.format == "json-message"
    (ex,) = rec.exchanges
    assert ex.request is None and ex.response is not None and ex.response.status is None
    assert ex.response.json["id"] == "msg_bare"
    assert not ex.is_stream


def test_raw_sse_with_crlf() -> None:
    rec = read("crlf_stream.sse")
    assert rec.format == "sse"
    (ex,) = rec.exchanges
    assert ex.request is None
    assert ex.response is not None and ex.response.status is None
    assert ex.response.content_type == "text/event-stream"
    assert ex.events is not None
    assert [(e.name, e.type) for e in ex.events] == [
        ("message_start", "message_start"), ("ping", "ping"), ("message_stop", "message_stop")]
    assert all(e.parse_error is None for e in ex.events)


def test_raw_sse_with_bom() -> None:
    rec = read("bom_stream.txt")
    assert rec.format == "sse"
    assert "UTF-8 BOM removed" in rec.notes
    (ex,) = rec.exchanges
    assert ex.events is not None and [e.name for e in ex.events] == ["ping", "message_stop"]


def test_json_lines_become_raw_events_without_names() -> None:
    rec = read("sample.chunks.txt")
    assert rec.format == "jsonl-events"
    (ex,) = rec.exchanges
    assert ex.raw_events is not None
    assert [e.event for e in ex.raw_events] == [None, None, None]  # the blank line carries no event
    assert ex.events is not None and [e.type for e in ex.events] == ["message_start", "ping", "message_stop"]


def test_a_bad_json_line_stays_an_event_for_the_rules(tmp_path: Path) -> None:
    path = write(tmp_path, "x.chunks.txt", '{"type":"ping"}\n{"type":"message_stop"\n')
    (ex,) = read_recording(path).exchanges
    assert ex.events is not None
    assert ex.events[0].parse_error is None
    assert ex.events[1].payload is MISSING and ex.events[1].parse_error


# --- several streams stored one after another ----------------------------------------------------------


@pytest.mark.parametrize("name", ["multi_step.chunks.txt", "multi_step.sse"])
def test_streams_stored_one_after_another_are_one_interaction_each(name: str) -> None:
    # A multi-step test's fixture: each message_start after a message_stop begins the next response.
    rec = read(name)
    assert [ex.interaction for ex in rec.exchanges] == [0, 1]
    kinds = [[e.type for e in ex.events or []] for ex in rec.exchanges]
    assert all(k[0] == "message_start" and k[-1] == "message_stop" and len(k) == 6 for k in kinds)
    assert [ex.accumulated["id"] for ex in rec.exchanges if ex.accumulated] == ["msg_step1", "msg_step2"]
    assert [e.index for e in rec.exchanges[1].events or []] == list(range(6))
    assert any("2 streams stored one after another" in n for n in rec.notes)


def test_concatenated_sse_with_crlf_and_comments_is_cut_between_events(tmp_path: Path) -> None:
    raw = (DATA / "multi_step.sse").read_bytes()
    cut = raw.index(b"event: message_start", 1)
    # CR LF line ends, a comment and a blank line between the two streams: each piece is whole events.
    text = (raw[:cut] + b": next step\n\n\n" + raw[cut:]).replace(b"\n", b"\r\n")
    rec = read_recording(write(tmp_path, "two.txt", text))
    first, second = rec.exchanges
    assert first.response is not None and first.response.body is not None
    assert second.response is not None and second.response.body is not None
    assert second.response.body.startswith(b"event: message_start\r\n")
    assert first.response.body + second.response.body == text
    assert [len(ex.events or []) for ex in rec.exchanges] == [6, 6]


@pytest.mark.parametrize("kinds,starts", [
    ([], [0]),
    (["message_start", "ping", "message_stop"], [0]),
    (["message_start", "message_stop", "message_start", "message_stop"], [0, 2]),
    (["message_start", "message_stop", "ping", None, "message_start"], [0, 4]),
    # a second message_start before any message_stop: a spliced or repeated start stays in its stream
    (["message_start", "message_start", "message_stop"], [0]),
    (["message_start", None, "message_start", None, "message_stop"], [0]),
    (["message_start", "message_stop", "message_start", "message_start", "message_stop", "message_start"], [0, 2, 5]),
    (["message_stop", "message_start"], [0, 1]),
])
def test_stream_starts(kinds: list[str | None], starts: list[int]) -> None:
    assert stream_starts(kinds) == starts


@pytest.mark.parametrize("suffix", [".chunks.txt", ".sse"])
def test_a_spliced_or_repeated_message_start_stays_one_stream(tmp_path: Path, suffix: str) -> None:
    lines = (DATA / "multi_step.chunks.txt").read_text().splitlines()
    spliced = lines[:3] + lines[6:]  # the first step cut off mid-block, the second spliced in
    repeated = lines[:1] + lines[6:]  # two message_starts, then one stream's events
    for events in (spliced, repeated):
        if suffix == ".sse":
            text = "".join(f"data: {line}\n\n" for line in events)
        else:
            text = "\n".join(events) + "\n"
        rec = read_recording(write(tmp_path, f"broken{suffix}", text))
        (ex,) = rec.exchanges
        assert ex.events is not None and len(ex.events) == len(events)
        assert not any("streams stored" in n for n in rec.notes)


def test_at_most_max_streams_are_read_out_of_one_file(tmp_path: Path) -> None:
    one = (DATA / "multi_step.chunks.txt").read_text()
    rec = read_recording(write(tmp_path, "many.chunks.txt", one * (MAX_STREAMS // 2 + 5)))
    assert len(rec.exchanges) == MAX_STREAMS
    last = rec.exchanges[-1].events
    assert last is not None and len(last) == 6 * 11
    assert any("10 more streams read as part of the last" in n for n in rec.notes)


def test_bom_before_json(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", b"\xef\xbb\xbf" + (DATA / "message.json").read_bytes())
    rec = read_recording(path)
    assert rec.format == "json-message"
    assert rec.exchanges[0].response is not None and rec.exchanges[0].response.json["id"] == "msg_bare"


def test_detection_is_by_content_not_extension(tmp_path: Path) -> None:
    cassette = (DATA / "vcrpy_plain.yaml").read_text()
    assert read_recording(write(tmp_path, "cassette.txt", cassette)).format == "vcrpy-yaml"
    assert read_recording(write(tmp_path, "stream.json", (DATA / "crlf_stream.sse").read_bytes())).format == "sse"
    assert read_recording(write(tmp_path, "noext", (DATA / "nock.json").read_bytes())).format == "nock"


def test_gzip_magic_wins_over_a_missing_header(tmp_path: Path) -> None:
    body = base64.b64encode(gzip.compress(b'{"type":"message","id":"msg_z"}')).decode()
    text = (DATA / "vcrpy_parsed_body.yaml").read_text().replace(
        "    parsed_body:\n      error:",
        f"    body:\n      string: !!binary |\n        {body}\n    x_old:\n      error:")
    (ex,) = read_recording(write(tmp_path, "z.yaml", text)).exchanges
    assert ex.response is not None and ex.response.json == {"type": "message", "id": "msg_z"}


def _gzip_body_cassette(tmp_path: Path, stored: bytes) -> Path:
    body = base64.b64encode(stored).decode()
    text = (DATA / "vcrpy_parsed_body.yaml").read_text().replace(
        "    parsed_body:\n      error:",
        f"    body:\n      string: !!binary |\n        {body}\n    x_old:\n      error:")
    return write(tmp_path, "z.yaml", text)


def test_every_member_of_a_multi_member_gzip_body_is_read(tmp_path: Path) -> None:
    stored = gzip.compress(b'{"type":"message",') + gzip.compress(b'"id":"msg_z"}')
    (ex,) = read_recording(_gzip_body_cassette(tmp_path, stored)).exchanges
    assert ex.response is not None and ex.response.json == {"type": "message", "id": "msg_z"}


@pytest.mark.parametrize("stored", [gzip.compress(b'{"a": 1}')[:-12], gzip.compress(b'{"a": 1}') + b"junk"],
                         ids=["truncated", "trailing-junk"])
def test_a_damaged_gzip_body_is_kept_as_stored_with_a_note(tmp_path: Path, stored: bytes) -> None:
    rec = read_recording(_gzip_body_cassette(tmp_path, stored))
    assert rec.exchanges[0].response is not None and rec.exchanges[0].response.body == stored
    assert any("does not decompress" in n for n in rec.notes)


def test_a_body_over_the_limit_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = _gzip_body_cassette(tmp_path, gzip.compress(b" " * 5000))
    with pytest.raises(InputError, match=r"response.body: the gzip body decompresses to more than 4096 bytes"):
        read_recording(path, ReadLimits(max_body_bytes=4096))
    assert read_recording(path, ReadLimits(max_body_bytes=5000)).exchanges


def test_formats_constant_lists_every_detected_format() -> None:
    seen = {read_recording(p).format for p in iter_recording_files([DATA])}
    assert seen == set(FORMATS)


# --- bad input: InputError only, naming file, place and fix --------------------------------------


def test_python_tags_are_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = (
        "interactions:\n- request: !!python/object/apply:os.system\n"
        f"  - touch {marker}\n  response: {{}}\nversion: 1\n"
    )
    path = write(tmp_path, "evil.yaml", payload)
    with pytest.raises(InputError) as info:
        read_recording(path)
    assert not marker.exists()
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and "line 2" in message and "python" in message


def test_python_name_tag_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="python"):
        read_recording(write(tmp_path, "evil2.yaml", "interactions: !!python/name:os.system\n"))


def test_multidict_istr_header_names_are_read_as_plain_strings() -> None:
    # vcrpy through aiohttp writes header names as `? !!python/object/apply:multidict._multidict.istr [Name]`.
    rec = read("vcrpy_aiohttp_istr.yaml")
    assert rec.format == "vcrpy-yaml"
    (ex,) = rec.exchanges
    assert ex.request is not None
    assert [name for name, _ in ex.request.headers] == ["Content-Type", "anthropic-version", "Content-Length"]
    assert ex.request.headers.get("content-type") == "application/json"
    assert any("multidict istr" in n for n in rec.notes)
    assert not any("multidict" in n for n in read("vcrpy_plain.yaml").notes)


@pytest.mark.parametrize("module", ["multidict._multidict", "multidict._multidict_py", "multidict"])
def test_every_istr_spelling_is_read(tmp_path: Path, module: str) -> None:
    text = (DATA / "vcrpy_plain.yaml").read_text().replace(
        "      Content-Type:\n      - application/json\n      anthropic-version:",
        f"      ? !!python/object/apply:{module}.istr\n      - Content-Type\n      : - application/json\n"
        "      anthropic-version:", 1)
    assert "istr" in text
    ex = read_recording(write(tmp_path, "istr.yaml", text)).exchanges[0]
    assert ex.request is not None and ex.request.headers.get("content-type") == "application/json"


@pytest.mark.parametrize("value", [
    "[]", "[Accept, Accept-Encoding]", "{{args: [Accept]}}", "Accept", "[[Accept]]", "[1]", "[null]",
    "[!!binary QUJD]",
    "[!!python/object/apply:os.system [touch {marker}]]",
    "[!!python/object/apply:multidict._multidict.istr [Accept]]",
    "[{huge}]",
], ids=["empty", "two", "mapping", "scalar", "nested-list", "int", "null", "binary", "python-inside",
        "istr-inside", "huge"])
def test_an_istr_tag_holding_anything_but_one_string_is_refused(tmp_path: Path, value: str) -> None:
    marker = tmp_path / "pwned"
    value = value.format(marker=marker, huge=", ".join(["x"] * 200_000))
    text = ("interactions:\n- request:\n    headers:\n"
            f"      ? !!python/object/apply:multidict._multidict.istr {value}\n      : [a]\n"
            "    method: POST\n    uri: https://api.anthropic.com/v1/messages\n  response: {}\n")
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "bad-istr.yaml", text))
    assert not marker.exists()
    assert "line 4" in str(info.value) and "istr" in str(info.value) and "\n" not in str(info.value)


def test_other_python_tags_next_to_istr_keys_are_still_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = (DATA / "vcrpy_aiohttp_istr.yaml").read_text().replace(
        "      Content-Length:", f"      ? !!python/object/apply:os.system [touch {marker}]\n      : [x]\n"
        "      Content-Length:", 1)
    with pytest.raises(InputError, match=r"!!python/\.\.\. tag refused"):
        read_recording(write(tmp_path, "evil-istr.yaml", text))
    assert not marker.exists()
    with pytest.raises(InputError, match=r"!!python/\.\.\. tag refused"):
        read_recording(write(tmp_path, "new.yaml", "interactions: !!python/object/new:multidict._multidict.istr [A]\n"))


def test_truncated_yaml_names_the_line(tmp_path: Path) -> None:
    text = (DATA / "vcrpy_plain.yaml").read_text()
    cut = text[: text.index("Hello") + 2]  # inside a quoted scalar
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "cut.yaml", cut))
    err = info.value
    assert err.file == str(tmp_path / "cut.yaml")
    assert err.where is not None and re.match(r"line \d+", err.where)
    assert err.fix


def test_yaml_cut_at_a_line_boundary_names_the_missing_key(tmp_path: Path) -> None:
    text = (DATA / "vcrpy_plain.yaml").read_text()
    second = text.index("- request:", text.index("- request:") + 1)
    cut = text[: text.index("  response:", second)]
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "cut2.yaml", cut))
    assert info.value.where == "interactions[1].response"


@pytest.mark.parametrize("content", [b"", b"  \n\n"], ids=["empty", "blank"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputError, match="empty file"):
        read_recording(write(tmp_path, "e.yaml", content))


def test_truncated_json_names_line_and_column(tmp_path: Path) -> None:
    raw = (DATA / "vcrpy.json").read_bytes()[:200]
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "t.json", raw))
    assert info.value.where is not None and info.value.where.startswith("line ")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", "just some words\nnothing to see"),
        ("package.json", '{"name": "x", "version": "1.0.0"}'),
        ("list.json", "[1, 2, 3]"),
        ("conf.yaml", "a: 1\nb: [2]\n"),
    ],
)
def test_unrecognised_content_lists_the_formats(tmp_path: Path, name: str, content: str) -> None:
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, name, content))
    assert "not a recording this tool can read" in str(info.value)
    assert info.value.fix is not None and "HAR" in info.value.fix and "nock" in info.value.fix


def test_non_utf8_and_compressed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="UTF-8"):
        read_recording(write(tmp_path, "b.txt", b"event: x\n\xff\xfe\xfa"))
    with pytest.raises(InputError, match="gzip"):
        read_recording(write(tmp_path, "c.yaml.gz", gzip.compress(b"interactions: []")))


def test_bad_status_and_structure_name_the_key(tmp_path: Path) -> None:
    text = (DATA / "vcrpy_plain.yaml").read_text().replace("code: 200", "code: two hundred", 1)
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "s.yaml", text))
    assert info.value.where == "interactions[0].response.status"
    with pytest.raises(InputError) as info2:
        read_recording(write(tmp_path, "i.yaml", "interactions:\n- 5\n"))
    assert info2.value.where == "interactions[0]"


def test_bad_har_base64_and_bad_url(tmp_path: Path) -> None:
    har = orjson.loads((DATA / "sample.har").read_bytes())
    har["log"]["entries"][0]["response"]["content"]["text"] = "!!!"
    with pytest.raises(InputError) as info:
        read_recording(write(tmp_path, "b.har", orjson.dumps(har)))
    assert info.value.where == "log.entries[0].response.content.text"
    text = (DATA / "vcrpy.json").read_text().replace("https://api.anthropic.com/v1/messages", "http://[::1/v1")
    with pytest.raises(InputError, match="malformed"):
        read_recording(write(tmp_path, "u.json", text))


def test_a_directory_or_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        read_recording(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_recording(tmp_path / "absent.yaml")


def test_self_referencing_yaml_anchor_is_an_input_error(tmp_path: Path) -> None:
    text = (DATA / "vcrpy_parsed_body.yaml").read_text().replace(
        "    parsed_body:\n      max_tokens: 8", "    parsed_body: &loop\n      self: *loop\n      max_tokens: 8")
    with pytest.raises(InputError):
        read_recording(write(tmp_path, "loop.yaml", text))


# --- iter_recording_files ------------------------------------------------------------------------


def test_iter_recording_files_walks_sorted_and_skips_non_recordings(tmp_path: Path) -> None:
    for rel in ["b/z.yaml", "b/a.json", "a.sse", "README.md", "MANIFEST.tsv", "notes.md", "tool.py",
                ".hidden/x.yaml", "b/.secret.yaml", "c/d/e.chunks.txt", "img.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_recording_files([tmp_path])]
    assert found == ["a.sse", "b/a.json", "b/z.yaml", "c/d/e.chunks.txt"]


def test_iter_recording_files_yields_named_files_as_given(tmp_path: Path) -> None:
    named = tmp_path / "README.md"
    named.write_text("x")
    assert list(iter_recording_files([named, DATA / "message.json"])) == [named, DATA / "message.json"]


def test_iter_recording_files_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InputError) as info:
        list(iter_recording_files([missing]))
    assert info.value.file == str(missing)


def test_walk_recordings_reports_every_path_and_passes_over_special_files(tmp_path: Path) -> None:
    (tmp_path / "a.sse").write_text("x")
    os.mkfifo(tmp_path / "b.sse")
    (tmp_path / "c.yaml").symlink_to(tmp_path / "gone.yaml")
    (tmp_path / "d.yaml").symlink_to(tmp_path / "d.yaml")
    items = list(walk_recordings([tmp_path, tmp_path / "missing", DATA / "message.json"]))
    assert items[0] == tmp_path / "a.sse"
    assert items[1] == SkippedFile(tmp_path / "b.sse", "not a regular file (a FIFO)")
    dangling, loop, missing = items[2:5]
    assert isinstance(dangling, InputError) and "dangling symlink" in str(dangling)
    assert isinstance(loop, InputError) and "symlink loop" in str(loop) and loop.file == str(tmp_path / "d.yaml")
    assert isinstance(missing, InputError) and "no such file" in str(missing)
    assert items[5:] == [DATA / "message.json"]


def test_special_files_named_explicitly_are_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match="is a FIFO, not a regular file"):
        read_recording(tmp_path / "pipe")
    with pytest.raises(InputError, match="is a character device"):
        read_recording(Path("/dev/zero"))
    with pytest.raises(InputError, match="is larger than 10 bytes"):
        read_recording(DATA / "message.json", ReadLimits(max_file_bytes=10))


# --- the real corpus -------------------------------------------------------------------------------

CORPUS_ENV = "CONFORMANCE_CORPUS"


def _corpus_rows() -> list[object]:
    root = os.environ.get(CORPUS_ENV)
    if not root:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"{CORPUS_ENV} is not set: point it at ../shared/corpus to read the real recordings"),
            id="corpus-not-configured")]
    with open(Path(root) / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [pytest.param(row, id=f"{row['repo']}:{row['path']}") for row in rows]


def _expected_format(notes: str) -> str:
    first = notes.split(";")[0]
    table = [
        ("go-vcr", "go-vcr"),
        ("nock recorder JSON", "nock"),
        ("dd-trace test-agent JSON", "ddtrace-json"),
        ("openinference JS JSON", "openinference-json"),
        ("raw SSE", "sse"),
        ("one SSE data JSON per line", "jsonl-events"),
        ("non-streaming response body", "json-message"),
        ("vcrpy YAML", "vcrpy-yaml"),
    ]
    for needle, fmt in table:
        if needle in first:
            return fmt
    raise AssertionError(f"MANIFEST notes name no known format: {first!r}")


def _expected_count(path: Path, fmt: str) -> int:
    if fmt in ("vcrpy-yaml", "go-vcr"):
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("- request:"))
    if fmt == "nock":
        return len(orjson.loads(path.read_bytes()))
    return 1


@pytest.mark.corpus
@pytest.mark.parametrize("row", _corpus_rows())
def test_corpus_file_reads(row: dict[str, str]) -> None:
    root = Path(os.environ[CORPUS_ENV])
    path = root / row["repo"].replace("/", "__") / row["path"].replace("/", "__")
    notes = row["notes"]
    rec = read_recording(path)
    fmt = _expected_format(notes)
    assert rec.format == fmt, f"{path}: read as {rec.format}, MANIFEST says {fmt}"
    assert len(rec.exchanges) == _expected_count(path, fmt)
    assert [ex.interaction for ex in rec.exchanges] == list(range(len(rec.exchanges)))

    statuses = {ex.response.status for ex in rec.exchanges if ex.response is not None}
    match = re.search(r"(?:^|; )status ([\d/]+)", notes)
    if match:
        assert statuses == {int(s) for s in match.group(1).split("/")}
    else:
        assert statuses == {None}

    if "streaming" in notes.split("; "):
        assert any(ex.is_stream for ex in rec.exchanges)
    if "gzip-compressed" in notes:
        assert any("gzip-compressed" in n for n in rec.notes)
    if "header/body mismatch" in notes:
        assert "Content-Encoding: gzip kept but body stored decoded" in rec.notes

    for ex in rec.exchanges:
        for part in (ex.request, ex.response):
            if part is None or not part.body or (part is ex.response and ex.is_stream):
                continue
            if part.content_type.endswith("json") or part.body.lstrip()[:1] in (b"{", b"["):
                assert part.json is not MISSING, f"{path} #{ex.interaction}: {part.json_error}"
        if ex.is_stream:
            assert ex.events, f"{path} #{ex.interaction}: a stream with no events"
            bad = [e.index for e in ex.events if e.parse_error]
            assert not bad, f"{path} #{ex.interaction}: events {bad} are not JSON"


# --- one reader per file ---------------------------------------------------------------------------


def _sample_files() -> list[Path]:
    files = sorted(p for p in DATA.iterdir() if p.is_file())
    root = os.environ.get(CORPUS_ENV)
    if root:
        files += list(iter_recording_files([Path(root)]))
    return files


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: p.name)
def test_each_recording_is_claimed_by_exactly_one_reader(path: Path) -> None:
    claimed = [r.name for r in claiming_readers(read_document(path))]
    assert len(claimed) == 1, f"{path}: claimed by {claimed}"
    assert read_recording(path).format in claimed[0]


def test_a_vcrpy_interaction_cut_out_of_a_cassette_is_not_a_ddtrace_cassette(tmp_path: Path) -> None:
    # It holds a request and a response mapping, which was all the dd-trace detector used to ask for.
    interaction = {"request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages", "body": "{}"},
                   "response": {"status": {"code": 200}, "body": {"string": "{}"}}}
    path = write(tmp_path, "one.json", orjson.dumps(interaction))
    assert claiming_readers(read_document(path)) == []
    with pytest.raises(InputError, match="not a recording"):
        read_recording(path)


def test_single_event_types_come_from_the_profiles_schemas() -> None:
    from conformance.profiles import load_profiles

    known = stream_event_types()
    for profile in load_profiles():
        assert profile.stream_event_types <= known
    assert {"message_start", "content_block_delta", "ping"} <= known


@pytest.mark.parametrize(("name", "line", "fmt"), [
    ("one.json", '{"type": "message_stop"}', "jsonl-events"),
    ("one.json", '{"type": "error", "error": {"type": "overloaded_error", "message": "x"}}', "json-message"),
    ("one.jsonl", '{"type": "error", "error": {"type": "overloaded_error", "message": "x"}}', "jsonl-events"),
])
def test_a_lone_json_object_is_an_event_or_a_body_by_its_type_and_name(tmp_path: Path, name: str, line: str,
                                                                        fmt: str) -> None:
    path = write(tmp_path, name, line)
    assert [r.name for r in claiming_readers(read_document(path))] == [fmt]
    assert read_recording(path).format == fmt


_CASSETTE = """interactions:
- request:
    body: '{"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}'
    headers:
      anthropic-version: ['2023-06-01']
      content-type: [application/json]
    method: POST
    uri: https://api.anthropic.com/v1/messages
  response:
    body:
      string: '{"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 8, "output_tokens": 2}}'
    headers:
{headers}
    status: {{code: 200, message: OK}}
version: 1
"""


@pytest.mark.parametrize(("headers", "judged"), [
    ("      Content-Type: [application/json]", False),
    ("      Content-Type: [application/json]\n      Content-Length: ['230']", False),
    ("      Content-Type: [application/json]\n      Date: ['Mon, 30 Nov 2026 08:00:00 GMT']", False),
    ("      Content-Type: [application/json]\n      anthropic-ratelimit-requests-limit: ['50']", True),
    ("      content-type: [application/json]\n      server: [cloudflare]", True),
])
def test_response_headers_cut_down_to_the_bodys_own_are_not_judged(tmp_path: Path, headers: str,
                                                                   judged: bool) -> None:
    """A fixture keeping only Content-Type was stripped or hand-written: no request-id there is not the server's."""
    from conformance.lint import lint_paths

    path = tmp_path / "cassette.yaml"
    path.write_text(_CASSETTE.replace("{headers}", headers).replace("{{", "{").replace("}}", "}"))
    result = lint_paths([path])
    assert result.interactions == 1 and not result.input_errors
    assert ("error.request-id-missing" in {f.rule for f in result.findings}) is judged
    (exchange,) = read_recording(path).exchanges
    assert exchange.response_headers_complete is judged
    assert any("reduced to the body's own" in n for n in exchange.notes) is not judged
