"""Properties: valid streams give no findings; each single mutation fires exactly its rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.accumulate import accumulate_message
from conformance.engine import context
from conformance.exchange import Exchange, Headers, HttpResponse
from conformance.findings import Severity
from conformance.profiles import Profile, load_profiles
from conformance.rules.stream import check_stream_events, stream_grammar
from conformance.strategies.streams import (
    STREAM_MUTATION_NAMES,
    StreamMutation,
    sse_streams,
    stream_events,
    stream_mutations,
    valid_streams,
)

PROFILE: Profile = load_profiles().default
_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                     deadline=None)


@_SETTINGS
@given(valid_streams(PROFILE))
def test_valid_streams_give_no_findings(payloads: list[dict[str, Any]]) -> None:
    findings = check_stream_events(stream_events(payloads), PROFILE)
    assert findings == []


@_SETTINGS
@given(sse_streams(PROFILE), st.data())
def test_rendered_valid_streams_give_no_findings_and_accumulate_like_the_payloads(
        stream: tuple[list[dict[str, Any]], bytes], data: st.DataObject) -> None:
    payloads, body = stream
    ex = Exchange(None, HttpResponse(Headers({"content-type": "text/event-stream"}), body))
    assert list(stream_grammar(ex, context(PROFILE))) == []
    assert ex.events is not None
    assert [e.payload for e in ex.events] == payloads
    assert accumulate_message(ex.events) == accumulate_message(stream_events(payloads))


@_SETTINGS
@given(valid_streams(PROFILE))
def test_accumulated_text_is_the_concatenated_deltas(payloads: list[dict[str, Any]]) -> None:
    message = accumulate_message(stream_events(payloads))
    assert message is not None
    for block_index, block in enumerate(message["content"]):
        deltas = [p["delta"] for p in payloads
                  if p["type"] == "content_block_delta" and p["index"] == block_index]
        if block["type"] == "text":
            assert block["text"] == "".join(d["text"] for d in deltas)
        if block["type"] == "thinking":
            assert block["signature"] == deltas[-1]["signature"]


def _errors(m: StreamMutation) -> set[str]:
    return {f.rule for f in check_stream_events(m.events, PROFILE) if f.severity >= Severity.ERROR}


@pytest.mark.parametrize("name", STREAM_MUTATION_NAMES)
def test_each_mutation_fires_its_rule(name: str) -> None:
    @_SETTINGS
    @given(stream_mutations(PROFILE, names=[name]))
    def check(m: StreamMutation) -> None:
        findings = check_stream_events(m.events, PROFILE)
        fired = {f.rule for f in findings if f.severity == m.severity}
        assert m.rule in fired, (m.name, findings)
        unexpected = _errors(m) - {m.rule} - m.also
        assert not unexpected, (m.name, unexpected, findings)

    check()


def test_unknown_mutation_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known"):
        stream_mutations(PROFILE, names=["nope"])
