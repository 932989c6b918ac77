"""conformance/rules/versions.py: one request under two API versions, judged against what the profiles predict.

Pure: the prediction (each profile's verdict on a body), the diff's words for it (changes matched to a request's
field, their conditions read on the request), and the verdict on hand-made pairs of exchanges.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.engine import check_sequence
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.findings import Severity
from conformance.intent import Intent, RecordingMeta
from conformance.profiles import load_profiles
from conformance.rules.versions import (
    MISSING_CHANGE,
    PAIR,
    PREDICTED,
    REQUEST,
    UNPREDICTED,
    VERSIONS,
    changes_between,
    expected_answer,
    explaining,
    field_named,
    relation,
)

PROFILES = load_profiles()
OLD, NEW = PROFILES.get("2023-06-01"), PROFILES.get("2026-10-21")
MODEL = OLD.model_ids[0]


def body(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}], **extra}


def test_each_profile_predicts_its_own_answer() -> None:
    assert expected_answer(OLD, "messages", body(temperature=0.5)).status == 200
    refused = expected_answer(NEW, "messages", body(temperature=0.5))
    assert (refused.status, refused.error_type) == (400, "invalid_request_error")
    assert refused.reasons[0][0] == "$.temperature"
    unknown = expected_answer(OLD, "messages", body(model="claude-nothing-1"))
    assert (unknown.status, unknown.error_type, unknown.reasons[0][0]) == (404, "not_found_error", "$.model")


@pytest.mark.parametrize(("change", "field", "request_body", "how"), [
    ("$.temperature", "$.temperature", body(temperature=1), "exact"),
    ("$.messages[*]{role=assistant}.content{as array}[*].type", "$.messages[1].content[0].type",
     body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "document"}]}]),
     "exact"),
    # The same place in a user turn: the change's condition does not hold for this request.
    ("$.messages[*]{role=assistant}.content{as array}[*].type", "$.messages[0].content[0].type",
     body(messages=[{"role": "user", "content": [{"type": "document"}]}]), None),
    ("$.messages[*]{not role=assistant}{not role=system}.content{as array}[*]{type=text}.citations",
     "$.messages[0].content[1].citations",
     body(messages=[{"role": "user", "content": [{"type": "image"}, {"type": "text", "citations": []}]}]), "exact"),
    ("$.output_format.anyOf[0].schema", "$.output_format.schema", body(output_format={}), "exact"),
    ("$.output_format", "$.output_format.schema", body(output_format={}), "ancestor"),
    ("$.messages[*].content", "$.messages[0]", body(), "descendant"),
    ("$.top_k", "$.temperature", body(), None),
])
def test_a_diff_path_is_read_on_the_request(change: str, field: str, request_body: Any, how: str | None) -> None:
    assert relation(change, field, request_body) == how


def test_the_changes_that_explain_a_refusal_are_the_diffs_own() -> None:
    changes = changes_between(OLD, NEW)
    temperature = explaining(changes, "$.temperature", body(temperature=0.5))
    assert {(c.area, c.kind, c.path) for c in temperature} == {
        ("request", "removed", "$.temperature"), ("request_rules", "changed", "request_rules.rejected_parameters")}
    cited = body(messages=[{"role": "user", "content": [{"type": "text", "text": "x", "citations": []}]}])
    citations = explaining(changes, "$.messages[0].content[0].citations", cited)
    assert citations and all("citations" in c.path for c in citations)
    assert {c.area for c in citations} == {"request", "request_rules"}  # not count_tokens_request's twin
    model = explaining(changes_between(OLD, PROFILES.get("2024-01-01")), "$.model", body())
    assert [(c.area, c.path) for c in model] == [("models", MODEL)]


@pytest.mark.parametrize(("message", "path"), [
    ("metadata: Extra inputs are not permitted", "$.metadata"),
    ("messages.0.content.1.type: Input should be 'text'", "$.messages[0].content[1].type"),
    ("`top_k` is not supported in API version 2026-10-21", "$.top_k"),
    ("Internal server error", None),
])
def test_the_field_an_error_message_names(message: str, path: str | None) -> None:
    assert field_named(message) == path


def exchange(version: str, request_body: Any, status: int, pair: str = "p1", message: str = "") -> Exchange:
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}} if status == 400 \
        else {"type": "message", "id": "msg_1"}
    intent = Intent("valid", detail={PAIR: pair, REQUEST: "a request", VERSIONS: [OLD.version, NEW.version]})
    return Exchange(HttpRequest(Headers({"anthropic-version": version, "content-type": "application/json"}),
                                json.dumps(request_body).encode(), method="POST",
                                url="http://target.test/v1/messages"),
                    HttpResponse(Headers({"content-type": "application/json"}), json.dumps(error).encode(),
                                 status=status),
                    file="test_versions::check", interaction=0 if version == OLD.version else 1,
                    meta=RecordingMeta(intent))


def verdicts(a: Exchange, b: Exchange) -> list[tuple[str, Severity, bool, str, int | None]]:
    return [(f.rule, f.severity, f.exercised, f.path, f.interaction) for f in check_sequence([a, b], OLD)
            if f.rule.startswith("versions.")]


def test_a_predicted_change_seen_is_reported_as_expected() -> None:
    sent = body(temperature=0.5)
    found = verdicts(exchange(OLD.version, sent, 200), exchange(NEW.version, sent, 400, message="temperature: no"))
    assert found == [(PREDICTED, Severity.INFO, True, "$.temperature", 1)]


def test_temperature_still_accepted_is_a_predicted_change_missing() -> None:
    sent = body(temperature=0.5)
    found = verdicts(exchange(OLD.version, sent, 200), exchange(NEW.version, sent, 200))
    assert found == [(MISSING_CHANGE, Severity.ERROR, True, "$.temperature", 1)]
    refused_early = verdicts(exchange(OLD.version, sent, 400, message="temperature: not here either"),
                             exchange(NEW.version, sent, 400, message="temperature: no"))
    assert refused_early == [(MISSING_CHANGE, Severity.ERROR, True, "$.temperature", 0)]


def test_a_refusal_for_another_reason_is_not_comparable_not_a_verdict() -> None:
    sent = body(temperature=0.5, metadata={"user_id": "u"})
    found = verdicts(exchange(OLD.version, sent, 400, message="metadata: Extra inputs are not permitted"),
                     exchange(NEW.version, sent, 400, message="temperature: no"))
    assert found == [(MISSING_CHANGE, Severity.INFO, False, "$.temperature", 0)]


def test_a_change_no_profile_predicts_is_unpredicted() -> None:
    sent = body(metadata={"user_id": "u"})
    found = check_sequence([exchange(OLD.version, sent, 400, message="metadata: Extra inputs are not permitted"),
                            exchange(NEW.version, sent, 200)], OLD)
    (only,) = [f for f in found if f.rule.startswith("versions.")]
    assert (only.rule, only.path, only.interaction) == (UNPREDICTED, "$.metadata", 0)
    assert "lists no change at $.metadata" in only.message
    assert "400 invalid_request_error under 2023-06-01" in only.message
    assert verdicts(exchange(OLD.version, sent, 200), exchange(NEW.version, sent, 200)) == []


def test_a_busy_answer_is_not_comparable() -> None:
    sent = body()
    found = verdicts(exchange(OLD.version, sent, 200), exchange(NEW.version, sent, 529))
    assert found == [(UNPREDICTED, Severity.INFO, False, "$", 1)]


def test_unpaired_or_unknown_versions_say_nothing() -> None:
    sent = body(temperature=0.5)
    assert verdicts(exchange(OLD.version, sent, 200, pair="p1"), exchange(NEW.version, sent, 200, pair="p2")) == []
    odd = exchange("1999-01-01", sent, 400)
    assert verdicts(exchange(OLD.version, sent, 200), odd) == []
