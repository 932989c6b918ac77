"""ratelimit.py: per-response header checks and the within-window sequence check."""

from __future__ import annotations

import pytest

from conformance.engine import context
from conformance.findings import Finding
from conformance.profiles import Profile, load_profiles
from conformance.rules.ratelimit import (
    is_redacted,
    is_rfc3339,
    rate_limit_headers_are_well_formed,
    remaining_does_not_rise_within_a_window,
)
from conformance.strategies.responses import Case, example_error_case, example_message_case

PROFILES = load_profiles()
P = PROFILES.get("2023-06-01")
CTX = context(P)
DOC = PROFILES.get("2024-01-01")
TOKENS = next(r for r in P.rate_limits.resources if r.name == "tokens")


def check(case: Case, profile: Profile = P) -> list[Finding]:
    return list(rate_limit_headers_are_well_formed(case.exchange(), context(profile)))


def rules(case: Case, profile: Profile = P) -> list[str]:
    return [f.rule for f in check(case, profile)]


@pytest.mark.parametrize("value", ["2026-01-01T00:00:30Z", "2024-06-05T16:28:54.123+02:00", "2025-12-01t06:05:47z"])
def test_rfc3339_accepts(value: str) -> None:
    assert is_rfc3339(value)


@pytest.mark.parametrize("value", ["in 60 seconds", "1717604934", "2026-13-01T00:00:00Z", "2026-01-01",
                                   "Wed, 05 Jun 2024 16:28:54 GMT", "2026-01-01T25:00:00Z"])
def test_rfc3339_rejects(value: str) -> None:
    assert not is_rfc3339(value)


@pytest.mark.parametrize(("value", "redacted"), [
    ("ANTHROPIC-RATELIMIT-TOKENS-LIMIT-XXX", True), ("REQUEST-ID-XXX", True), ("***", True),
    ("<REDACTED>", True), ("4000", False), ("2026-01-01T00:00:30Z", False), ("req_011CVEA3SF7rnb3DuBZytqQa", False),
])
def test_is_redacted(value: str, redacted: bool) -> None:
    assert is_redacted(value) is redacted


@pytest.mark.parametrize("version", ["2023-06-01", "2024-01-01", "2026-10-21"])
def test_valid_headers_pass(version: str) -> None:
    profile = PROFILES.get(version)
    assert check(example_message_case(profile), profile) == []
    assert check(example_error_case(profile, 429), profile) == []


def test_a_200_without_any_rate_limit_header_passes_and_retry_after_on_200_is_fine() -> None:
    case = example_message_case(P)
    case.response_headers = {"request-id": "req_1", "retry-after": "13"}
    assert check(case) == []


def test_non_integer_count_fails() -> None:
    case = example_message_case(P)
    case.response_headers[TOKENS.limit] = "4k"
    (f,) = check(case)
    assert (f.rule, f.path, f.part, f.actual) == ("ratelimit.integer", f"$['{TOKENS.limit}']", "response.headers", "4k")


def test_remaining_above_limit_fails() -> None:
    case = example_message_case(P)
    case.response_headers[TOKENS.remaining] = "1001"
    assert rules(case) == ["ratelimit.remaining-above-limit"]


def test_reset_not_rfc3339_fails() -> None:
    case = example_message_case(P)
    assert TOKENS.reset is not None
    case.response_headers[TOKENS.reset] = "30s"
    assert rules(case) == ["ratelimit.reset-format"]


def test_retry_after_must_be_non_negative_seconds() -> None:
    case = example_error_case(P, 429)
    case.response_headers["retry-after"] = "1.5"
    assert rules(case) == []
    case.response_headers["retry-after"] = "-1"
    assert rules(case) == ["ratelimit.retry-after-format"]


def test_429_without_retry_after_fails_unless_headers_were_stripped() -> None:
    case = example_error_case(P, 429)
    del case.response_headers["retry-after"]
    ex = case.exchange()
    assert [f.rule for f in rate_limit_headers_are_well_formed(ex, CTX)] == ["ratelimit.retry-after-missing"]
    ex.response_headers_complete = False
    assert list(rate_limit_headers_are_well_formed(ex, CTX)) == []


def test_429_without_rate_limit_headers_fails() -> None:
    case = example_error_case(P, 429)
    case.response_headers = {"request-id": "req_1", "retry-after": "3"}
    assert rules(case) == ["ratelimit.missing-on-429"]


def test_partial_resource_warns() -> None:
    case = example_message_case(P)
    del case.response_headers[TOKENS.remaining]
    (f,) = check(case)
    assert (f.rule, str(f.severity)) == ("ratelimit.partial", "warning")


def test_scrubbed_values_are_info_not_violations() -> None:
    case = example_message_case(P)
    for name in list(case.response_headers):
        if name.startswith("anthropic-ratelimit"):
            case.response_headers[name] = name.upper() + "-XXX"
    (f,) = check(case)
    assert (f.rule, str(f.severity)) == ("ratelimit.redacted", "info")
    assert len(f.actual) == sum(1 for n in case.response_headers if n.startswith("anthropic-ratelimit"))


def test_other_familys_headers_are_info() -> None:
    case = example_message_case(P)  # anthropic-ratelimit-* judged by the x-ratelimit profile
    found = check(case, DOC)
    assert [(f.rule, str(f.severity)) for f in found] == [("ratelimit.other-family", "info")]


def _sequence(remaining: list[int], resets: list[str]) -> list[Case]:
    out = []
    for i, (r, reset) in enumerate(zip(remaining, resets, strict=True)):
        case = example_message_case(P)
        case.file, case.interaction = "c.yaml", i
        case.response_headers[TOKENS.remaining] = str(r)
        assert TOKENS.reset is not None
        case.response_headers[TOKENS.reset] = reset
        out.append(case)
    return out


def test_remaining_falling_within_a_window_and_rising_in_a_new_one_passes() -> None:
    w1, w2 = "2026-01-01T00:00:30Z", "2026-01-01T00:01:30Z"
    seq = _sequence([900, 800, 800, 990], [w1, w1, w1, w2])
    assert list(remaining_does_not_rise_within_a_window([c.exchange() for c in seq], CTX)) == []


def test_remaining_rising_within_a_window_fails_at_the_later_exchange() -> None:
    w1 = "2026-01-01T00:00:30Z"
    seq = _sequence([900, 950], [w1, w1])
    (f,) = remaining_does_not_rise_within_a_window([c.exchange() for c in seq], CTX)
    assert (f.rule, f.part, f.interaction, f.file, f.actual) == (
        "ratelimit.remaining-rises", "sequence", 1, "c.yaml", 950)


def test_different_keys_are_different_sequences() -> None:
    w1 = "2026-01-01T00:00:30Z"
    seq = _sequence([900, 950], [w1, w1])
    seq[1].request_headers["x-api-key"] = "sk-ant-another"
    assert list(remaining_does_not_rise_within_a_window([c.exchange() for c in seq], CTX)) == []
