"""errors.py: status <-> error.type, request ids."""

from __future__ import annotations

import pytest

from conformance.engine import context
from conformance.profiles import load_profiles
from conformance.rules.base import Check
from conformance.rules.errors import (
    TypeMatch,
    error_type_agrees_with_status,
    error_type_matches_status,
    request_ids_agree,
)
from conformance.strategies.responses import Case, example_error_case, example_message_case

PROFILES = load_profiles()
P = PROFILES.get("2023-06-01")
CTX = context(P)
DOC = PROFILES.get("2024-01-01")


def rules(case: Case, *checks: Check) -> list[str]:
    ex = case.exchange()
    return [f.rule for check in checks for f in check(ex, CTX)]


@pytest.mark.parametrize(("status", "etype", "expected"), [
    (400, "invalid_request_error", TypeMatch.MATCH),
    (529, "overloaded_error", TypeMatch.MATCH),
    (429, "overloaded_error", TypeMatch.WRONG_STATUS),
    (500, "not_found_error", TypeMatch.WRONG_STATUS),
    (400, "brand_new_error", TypeMatch.UNKNOWN_TYPE),
    (503, "api_error", TypeMatch.UNKNOWN_STATUS),
    (None, "overloaded_error", TypeMatch.MATCH),
    (None, "brand_new_error", TypeMatch.UNKNOWN_TYPE),
])
def test_error_type_matches_status(status: int | None, etype: str, expected: TypeMatch) -> None:
    assert error_type_matches_status(P, status, etype) is expected


def test_the_real_table_knows_billing_error_but_the_documents_does_not() -> None:
    assert error_type_matches_status(P, 402, "billing_error") is TypeMatch.MATCH
    assert error_type_matches_status(DOC, 402, "billing_error") is TypeMatch.UNKNOWN_TYPE


@pytest.mark.parametrize("status", sorted({e.status for e in P.errors}))
def test_every_status_of_the_table_with_its_type_passes(status: int) -> None:
    assert rules(example_error_case(P, status), error_type_agrees_with_status, request_ids_agree) == []


def test_wrong_type_for_status_fails() -> None:
    case = example_error_case(P, 429)
    case.response_body["error"]["type"] = "invalid_request_error"
    ex = case.exchange()
    (f,) = list(error_type_agrees_with_status(ex, CTX))
    assert (f.rule, f.path, f.part, f.actual, f.expected) == (
        "error.status-type", "$.error.type", "response.body", "invalid_request_error", ["rate_limit_error"])


def test_error_envelope_on_a_success_status_fails() -> None:
    case = example_error_case(P, 400)
    case.status = 200
    assert rules(case, error_type_agrees_with_status) == ["error.status-type"]


def test_unknown_type_and_unknown_status_are_info() -> None:
    case = example_error_case(P, 400)
    case.response_body["error"]["type"] = "quota_error"
    found = list(error_type_agrees_with_status(case.exchange(), CTX))
    assert [(f.rule, str(f.severity)) for f in found] == [("error.unknown-type", "info")]
    case = example_error_case(P, 400)
    case.status, case.raw_response = 503, b"upstream connect error"
    found = list(error_type_agrees_with_status(case.exchange(), CTX))
    assert [(f.rule, str(f.severity)) for f in found] == [("error.unknown-status", "info")]


def test_request_id_mismatch_fails_and_redacted_ids_are_not_compared() -> None:
    case = example_error_case(P, 404)
    case.response_body["request_id"] = "req_other"
    assert rules(case, request_ids_agree) == ["error.request-id-match"]
    case.response_headers["request-id"] = "REQUEST-ID-XXX"
    assert rules(case, request_ids_agree) == []


def test_missing_request_id_header_fails_only_when_headers_are_complete() -> None:
    case = example_message_case(P)
    del case.response_headers["request-id"]
    ex = case.exchange()
    assert [f.rule for f in request_ids_agree(ex, CTX)] == ["error.request-id-missing"]
    ex.response_headers_complete = False
    assert list(request_ids_agree(ex, CTX)) == []


def test_error_body_without_request_id_is_info() -> None:
    case = example_error_case(P, 401)
    del case.response_body["request_id"]
    found = list(request_ids_agree(case.exchange(), CTX))
    assert [(f.rule, str(f.severity)) for f in found] == [("error.body-request-id-missing", "info")]
