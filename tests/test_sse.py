"""SSE decoding per WHATWG: one test per edge case, and chunk-boundary properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.sse import (
    BlockStream,
    IncrementalSSE,
    ServerSentEvent,
    decode_sse,
    iter_sse,
    last_blank_line_end,
    unterminated_event,
)


def both(body: bytes | str) -> list[ServerSentEvent]:
    """Decode with the fast whole-body path and the incremental one; they must agree."""
    fast = decode_sse(body)
    assert list(iter_sse([body])) == fast
    return fast


def datas(body: bytes | str) -> list[str]:
    return [e.data for e in both(body)]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_every_line_ending_dispatches(eol: str) -> None:
    body = f"event: a{eol}data: 1{eol}{eol}data: 2{eol}{eol}"
    assert [(e.event, e.data) for e in both(body)] == [("a", "1"), (None, "2")]


def test_mixed_line_endings_in_one_body() -> None:
    assert datas("data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n") == ["1", "2", "3"]


def test_multi_line_data_joins_with_lf() -> None:
    assert datas("data: a\ndata: b\ndata:\n\n") == ["a\nb\n"]


def test_comment_lines_are_ignored() -> None:
    assert both(": keep-alive\nevent: x\n: another\ndata: 1\n\n") == [ServerSentEvent("1", "x")]


def test_only_one_leading_space_is_stripped() -> None:
    assert datas("data:  two spaces\n\ndata:none\n\n") == [" two spaces", "none"]


def test_field_without_colon_has_empty_value() -> None:
    assert datas("data\n\n") == [""]


def test_unknown_fields_are_ignored() -> None:
    assert both("foo: bar\ndata: 1\n\n") == [ServerSentEvent("1")]


def test_event_without_data_is_not_dispatched_and_its_name_does_not_leak() -> None:
    assert both("event: lonely\n\ndata: 1\n\n") == [ServerSentEvent("1", None)]


def test_id_sets_last_event_id_and_persists() -> None:
    events = both("id: 7\ndata: a\n\ndata: b\n\n")
    assert [e.id for e in events] == ["7", "7"]


def test_id_with_nul_is_ignored() -> None:
    assert [e.id for e in both("id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")] == ["1", "1"]


@pytest.mark.parametrize(("value", "expected"), [("1500", 1500), ("15x", None), ("-1", None), ("", None),
                                                 ("١٢", None)])
def test_retry_counts_only_ascii_digits(value: str, expected: int | None) -> None:
    assert both(f"retry: {value}\ndata: a\n\n")[0].retry == expected


def test_leading_bom_is_ignored_in_bytes_and_text() -> None:
    assert both(b"\xef\xbb\xbfdata: 1\n\n") == [ServerSentEvent("1")]
    assert both("\ufeffevent: e\ndata: 1\n\n") == [ServerSentEvent("1", "e")]


def test_only_one_bom_is_ignored() -> None:
    # A second BOM makes the first field name "\ufeffdata", an unknown field.
    assert both("\ufeff\ufeffdata: 1\n\n") == []


def test_unterminated_last_event_is_discarded_and_exposed() -> None:
    body = b"data: 1\n\nevent: message_stop\ndata: {}"
    assert datas(body) == ["1"]
    dec = IncrementalSSE()
    dec.feed(body)
    dec.close()
    assert dec.discarded == ServerSentEvent("{}", "message_stop")
    assert unterminated_event(body) == ServerSentEvent("{}", "message_stop")


@pytest.mark.parametrize("body", [b"data: 1\n\n", b"data: 1\r\n\r\n", b"data: 1\r\r", b"", b"event: x\n",
                                  b"data: 1\n\n: trailing comment"])
def test_nothing_discarded_when_every_event_is_terminated(body: bytes) -> None:
    assert unterminated_event(body) is None
    dec = IncrementalSSE()
    dec.feed(body)
    dec.close()
    assert dec.discarded is None


def test_unterminated_event_ending_in_a_single_line_end() -> None:
    assert unterminated_event(b"data: 1\n\ndata: 2\r\n") == ServerSentEvent("2")
    assert unterminated_event(b"data: 2\r") == ServerSentEvent("2")


def test_unterminated_event_far_from_the_last_blank_line() -> None:
    body = b"data: 0\n\n" + b"data: " + b"x" * 100_000
    assert unterminated_event(body) == ServerSentEvent("x" * 100_000)


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert [e.data for e in iter_sse([b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n"])] == ["1", "2"]


def test_cr_at_chunk_end_then_data_is_a_line_end() -> None:
    assert [e.data for e in iter_sse(["data: 1\r", "\rdata: 2\r", "\r"])] == ["1", "2"]


def test_multibyte_utf8_split_across_chunks() -> None:
    raw = "data: héllo €\n\n".encode()
    cut = raw.index("€".encode()) + 1
    assert [e.data for e in iter_sse([raw[:cut], raw[cut:]])] == ["héllo €"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert datas(b"data: \xff\n\n") == ["\ufffd"]


def test_unchanged_when_fed_one_byte_at_a_time() -> None:
    raw = "\ufeffevent: a\r\ndata: é\r\n\r\n: c\rdata: 2\r\r".encode()
    assert list(iter_sse([raw[i:i + 1] for i in range(len(raw))])) == decode_sse(raw)


_LINE = st.one_of(
    st.builds(lambda v: f"data:{v}", st.text(alphabet="ab é:\ufeff\x00", max_size=6)),
    st.builds(lambda v: f"data: {v}", st.text(alphabet="ab {}\"", max_size=6)),
    st.builds(lambda v: f"event: {v}", st.sampled_from(["ping", "message_start", ""])),
    st.builds(lambda v: f"id: {v}", st.text(alphabet="1\x00", max_size=3)),
    st.builds(lambda v: f"retry: {v}", st.text(alphabet="12x", max_size=3)),
    st.just(": comment"), st.just(""), st.just("data"), st.just("other: x"),
)
_BODIES = st.builds(
    lambda bom, lines, ends: ("\ufeff" if bom else "") + "".join(a + b for a, b in zip(lines, ends, strict=False)),
    st.booleans(), st.lists(_LINE, max_size=20), st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=20,
                                                          max_size=20))


@given(_BODIES, st.lists(st.integers(min_value=0, max_value=400), max_size=8), st.booleans())
def test_any_split_into_chunks_gives_the_same_events(body: str, cuts: list[int], as_bytes: bool) -> None:
    data: bytes | str = body.encode() if as_bytes else body
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=False)]
    dec = IncrementalSSE()
    events = [e for c in chunks for e in dec.feed(c)] + dec.close()
    assert events == decode_sse(data)
    tail = unterminated_event(data)
    # unterminated_event reads only the tail, so it does not know an earlier id; the rest must agree.
    assert (dec.discarded is None) == (tail is None)
    if dec.discarded is not None and tail is not None:
        assert (tail.data, tail.event) == (dec.discarded.data, dec.discarded.event)


@given(_BODIES, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_decoding_piece_by_piece_at_blank_lines_gives_the_same_events(body: str, cuts: list[int]) -> None:
    # How a file too large to hold is decoded: read a chunk, decode up to its last blank line, carry the rest.
    raw = body.encode()
    points = sorted({c % (len(raw) + 1) for c in cuts})
    stream = BlockStream()
    events = [e for a, b in zip([0, *points], [*points, len(raw)], strict=False) for e in stream.feed(raw[a:b])]
    assert events == decode_sse(raw)
    tail, whole = stream.close(), unterminated_event(raw)
    assert (tail.data, tail.event) == (whole.data, whole.event) if whole is not None else tail is None


def test_last_blank_line_end_searches_only_from_start() -> None:
    assert last_blank_line_end(b"data: 1\n\ndata: 2\n") == 9
    assert last_blank_line_end(b"data: 1\n\ndata: 2\n", 9) == 0
    assert last_blank_line_end(b"data: 1\n\ndata: 2\n\n", 8) == 18
