"""Profiles load from schemas/ and carry each version's known facts (DESIGN.md §4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.errors import ProfileError
from conformance.profiles import get_profile, load_profiles, schemas_root

PROFILES = load_profiles()


def test_the_version_table_lists_four_versions_in_date_order_with_2023_06_01_default() -> None:
    assert PROFILES.versions == ("2023-01-01", "2023-06-01", "2024-01-01", "2026-10-21")
    assert PROFILES.default.version == "2023-06-01"
    assert get_profile().version == "2023-06-01"
    assert get_profile("2026-10-21").version == "2026-10-21"
    assert "2024-01-01" in PROFILES and "1999-01-01" not in PROFILES


def test_statuses_and_sources() -> None:
    assert {p.version: p.status for p in PROFILES} == {
        "2023-01-01": "deprecated", "2023-06-01": "supported", "2024-01-01": "current", "2026-10-21": "newest"}
    assert PROFILES.get("2024-01-01").source == "reference-document"
    assert {p.source for p in PROFILES if p.version != "2024-01-01"} == {"real-api"}
    entries = {e["version"]: e for e in PROFILES.table["versions"]}
    assert all(entries[v]["differences"] for v in PROFILES.versions)


def test_unknown_version_is_a_profile_error_listing_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="2023-06-01"):
        PROFILES.get("2025-13-01")


@pytest.mark.parametrize("version", [p.version for p in PROFILES if p.source == "real-api"])
def test_real_api_error_table(version: str) -> None:
    p = PROFILES.get(version)
    assert {(e.status, e.type) for e in p.errors} == {
        (400, "invalid_request_error"), (401, "authentication_error"), (402, "billing_error"),
        (403, "permission_error"), (404, "not_found_error"), (409, "conflict_error"), (413, "request_too_large"),
        (429, "rate_limit_error"), (500, "api_error"), (504, "timeout_error"), (529, "overloaded_error")}
    too_large = p.error_for_type("request_too_large")
    assert too_large is not None and too_large.envelope is False
    assert p.error_types_for_status(529) == {"overloaded_error"}
    assert {429, 500, 529, 409} <= p.retryable_statuses and 400 not in p.retryable_statuses


def test_reference_document_has_its_seven_error_types() -> None:
    p = PROFILES.get("2024-01-01")
    assert sorted((e.status, e.type) for e in p.errors) == [
        (400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
        (404, "not_found_error"), (429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error")]
    assert p.error_for_type("billing_error") is None
    assert p.retryable_statuses == {429, 500, 529}


def test_rate_limit_header_families() -> None:
    real, ref = PROFILES.get("2023-06-01").rate_limits, PROFILES.get("2024-01-01").rate_limits
    assert real.family == "anthropic"
    assert {r.name for r in real.resources} == {"requests", "tokens", "input-tokens", "output-tokens"}
    assert "anthropic-ratelimit-output-tokens-reset" in real.all_names()
    assert ref.family == "x-ratelimit"
    assert ref.all_names() == {"retry-after", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
                               "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens"}
    assert all(r.reset is None for r in ref.resources)


@pytest.mark.parametrize("version", ["2023-06-01", "2024-01-01"])
def test_tiers_use_the_reference_numbers_with_tpm_for_input_and_output(version: str) -> None:
    p = PROFILES.get(version)
    assert [(t.name, t.requests_per_minute, t.input_tokens_per_minute, t.output_tokens_per_minute)
            for t in p.tiers] == [("Free", 5, 20000, 20000), ("Build", 50, 100000, 100000),
                                  ("Scale", 1000, 400000, 400000)]
    assert p.tier("build").requests_per_minute == 50
    with pytest.raises(ProfileError, match="Free, Build, Scale"):
        p.tier("Enterprise")


def test_models() -> None:
    ref, real = PROFILES.get("2024-01-01"), PROFILES.get("2023-06-01")
    assert ref.model_ids == ("claude-opus-4-5-20251101", "claude-sonnet-4-20250514", "claude-haiku-3-5-20241022")
    assert {"claude-3-5-haiku-20241022", "claude-sonnet-4-20250514", "claude-opus-4-5-20251101"} <= set(real.model_ids)
    assert "claude-haiku-3-5-20241022" not in real.model_ids  # the document's id is not the real one
    assert real.knows_model("claude-sonnet-4-5") and not real.knows_model("claude-does-not-exist")
    for p in PROFILES:
        assert all(p.schemas.is_valid("model", m) for m in p.models)


def test_what_each_model_accepts_is_profile_data_never_served() -> None:
    real = PROFILES.get("2023-06-01")
    assert all("accepts" not in m for p in PROFILES for m in p.models)  # GET /v1/models serves the rest
    assert set(real.model_accepts) == set(real.model_ids)
    haiku3, sonnet45 = real.accepts("claude-3-haiku-20240307"), real.accepts("claude-sonnet-4-5")  # an alias too
    assert haiku3.thinking == {"enabled": False, "adaptive": False, "disabled": True} and haiku3.thinks() is False
    assert haiku3.temperature_with_top_p is True and sonnet45.temperature_with_top_p is False
    assert sonnet45.thinking["enabled"] is True and sonnet45.thinking["adaptive"] is False and sonnet45.thinks()
    opus47 = real.accepts("claude-opus-4-7")
    assert opus47.sampling == {"temperature": False, "top_p": False, "top_k": False} and opus47.speed is False
    assert "disabled" not in opus47.thinking  # the sources disagree: unknown, so neither sent nor judged
    assert real.accepts("claude-opus-5-5").speed is True and real.accepts("claude-opus-4-6").speed is None
    assert real.accepts("claude-opus-4-5-20251101").effort == ("low", "medium", "high")
    unknown = real.accepts("claude-does-not-exist")
    assert unknown.thinking == {} and unknown.speed is None and unknown.thinks() is None and real.accepts(7) == unknown
    # The real-api versions share one catalogue; the reference document's models mirror its era (no adaptive).
    assert PROFILES.get("2026-10-21").model_accepts == real.model_accepts == PROFILES.get("2023-01-01").model_accepts
    doc = PROFILES.get("2024-01-01")
    assert not any(doc.accepts(m).thinking.get("adaptive") for m in doc.model_ids)
    assert doc.accepts("claude-haiku-3-5-20241022").thinks() is False


@pytest.mark.parametrize("bad", [[], {"speed": "yes"}, {"thinking": {"enabled": 1}}, {"thinking": {"fast": True}},
                                 {"effort": "high"}, {"colour": True}])
def test_a_malformed_accepts_is_a_profile_error(tmp_path: Path, bad: object) -> None:
    root = _copy(tmp_path)
    path = root / "2023-06-01" / "profile.json"
    data = json.loads(path.read_text())
    data["models"][0]["accepts"] = bad
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match="accepts") as info:
        load_profiles(root)
    assert info.value.file == str(path)


def test_request_headers_and_version_errors() -> None:
    assert PROFILES.get("2026-10-21").auth_styles == ("x-api-key", "authorization-bearer")
    assert PROFILES.get("2024-01-01").auth_styles == ("x-api-key",)
    p = PROFILES.default
    assert p.version_error_message(None) == "anthropic-version: header is required"
    assert p.version_error_message("2023-13-01") == 'anthropic-version: "2023-13-01" is not a valid version'


def test_request_rules_as_data() -> None:
    assert PROFILES.get("2026-10-21").data["request_rules"]["rejected_parameters"] == ["temperature", "top_p", "top_k"]
    assert PROFILES.get("2023-06-01").data["request_rules"]["rejected_parameters"] == []
    assert all(p.data["request_rules"]["thinking_budget_tokens_min"] == 1024 for p in PROFILES)


# -- bad profile data is a ProfileError naming the file ----------------------------------------------------------

def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(schemas_root(), root)
    return root


def test_malformed_profile_names_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "2023-06-01" / "profile.json"
    data = json.loads(path.read_text())
    data["rate_limit_headers"] = {"resources": {}}
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError) as info:
        load_profiles(root)
    assert info.value.file == str(path)


def test_default_must_be_listed(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    table = json.loads((root / "versions.json").read_text())
    table["default"] = "2030-01-01"
    (root / "versions.json").write_text(json.dumps(table))
    with pytest.raises(ProfileError, match="2030-01-01"):
        load_profiles(root)
