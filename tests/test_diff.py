"""`diff_profiles`: structural schema and profile-data changes, with who each one breaks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.diff import Change, diff_profiles, render_text, to_json
from conformance.profiles import Profile, load_profiles, schemas_root

PROFILES = load_profiles()


def _find(changes: list[Change], area: str, path: str) -> list[Change]:
    return [c for c in changes if c.area == area and c.path == path]


def test_a_profile_has_no_differences_with_itself() -> None:
    for p in PROFILES:
        assert diff_profiles(p, p) == []


def test_2024_01_01_to_2026_10_21_removes_sampling_parameters_breaking_clients() -> None:
    changes = diff_profiles(PROFILES.get("2024-01-01"), PROFILES.get("2026-10-21"))
    for param in ("temperature", "top_p", "top_k"):
        (c,) = _find(changes, "request", f"$.{param}")
        assert c.kind == "removed" and c.breaking_for_clients and not c.breaking_for_servers


def test_2024_01_01_to_2026_10_21_changes_the_rate_limit_family_and_the_error_table() -> None:
    changes = diff_profiles(PROFILES.get("2024-01-01"), PROFILES.get("2026-10-21"))
    (family,) = _find(changes, "rate_limit_headers", "family")
    assert family.kind == "changed" and "x-ratelimit" in family.detail and "anthropic" in family.detail
    assert _find(changes, "rate_limit_headers", "x-ratelimit-remaining-tokens")[0].kind == "removed"
    assert _find(changes, "rate_limit_headers", "anthropic-ratelimit-requests-reset")[0].kind == "added"
    added_errors = {c.path for c in changes if c.area == "errors" and c.kind == "added"}
    assert added_errors == {"billing_error", "conflict_error", "request_too_large", "timeout_error"}
    assert {c.path for c in changes if c.area == "models" and c.kind == "removed"} == {"claude-haiku-3-5-20241022"}


def test_2023_06_01_to_2026_10_21_shows_the_block_rules() -> None:
    changes = diff_profiles(PROFILES.get("2023-06-01"), PROFILES.get("2026-10-21"))
    document = [c for c in changes if c.area == "request" and "role=assistant" in c.path and '"document"' in c.detail]
    assert document and all(c.breaking_for_clients for c in document)
    citations = [c for c in changes if c.area == "request" and c.path.endswith("{type=text}.citations")]
    assert len(citations) == 1 and "not role=assistant" in citations[0].path
    assert not [c for c in changes if c.area in ("errors", "rate_limit_headers", "models", "tiers")]


def test_the_reverse_direction_breaks_servers_instead() -> None:
    changes = diff_profiles(PROFILES.get("2026-10-21"), PROFILES.get("2023-06-01"))
    (c,) = _find(changes, "request", "$.temperature")
    assert c.kind == "added" and c.breaking_for_servers and not c.breaking_for_clients


def test_stop_sequence_required_in_real_profiles_is_a_response_tightening() -> None:
    (c,) = _find(diff_profiles(PROFILES.get("2024-01-01"), PROFILES.get("2023-06-01")), "response", "$.stop_sequence")
    assert c.kind == "tightened" and c.breaking_for_servers and not c.breaking_for_clients


# -- synthetic edits on a copy of the tree ----------------------------------------------------------------------

def _edited(tmp_path: Path, version: str, file: str, edit: Callable[[Any], None]) -> tuple[Profile, Profile]:
    root = tmp_path / "schemas"
    shutil.copytree(schemas_root(), root)
    path = root / version / file
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return PROFILES.get(version), load_profiles(root).get(version)


@pytest.mark.parametrize(("file", "edit", "area", "path", "kind", "clients", "servers"), [
    ("request.schema.json", lambda d: d["properties"]["max_tokens"].update(minimum=16),
     "request", "$.max_tokens", "tightened", True, False),
    ("request.schema.json", lambda d: d["properties"]["max_tokens"].update(maximum=8192),
     "request", "$.max_tokens", "tightened", True, False),
    ("request.schema.json", lambda d: d["required"].remove("max_tokens"),
     "request", "$.max_tokens", "loosened", False, True),
    ("request.schema.json", lambda d: d["properties"]["service_tier"]["enum"].remove("standard_only"),
     "request", "$.service_tier", "removed", True, False),
    ("request.schema.json", lambda d: d["properties"].update(verbosity={"type": "string"}),
     "request", "$.verbosity", "added", False, True),
    ("request.schema.json", lambda d: d["properties"]["stream"].update(type=["boolean", "string"]),
     "request", "$.stream", "loosened", False, True),
    # An unkeyed union branch is named by its keyword and index, one step below the field.
    ("request.schema.json", lambda d: d["properties"]["container"]["anyOf"].pop(2),
     "request", "$.container.anyOf[2]", "removed", True, False),
    ("message.schema.json", lambda d: d["required"].append("container"),
     "response", "$.container", "tightened", False, True),
    ("message.schema.json", lambda d: d["required"].remove("usage"),
     "response", "$.usage", "loosened", True, False),
    ("message.schema.json", lambda d: d["$defs"]["stop_reason"]["x-known-values"].append("hibernating"),
     "response", "$.stop_reason", "added", False, False),
    ("stream-event.schema.json", lambda d: d["allOf"].pop(),
     "stream_event", "${type=error}", "removed", False, False),
    ("profile.json", lambda d: d["models"].pop(0),
     "models", "claude-3-haiku-20240307", "removed", True, False),
    ("profile.json", lambda d: d["models"][5]["accepts"].update(temperature_with_top_p=True),  # unknown -> taken
     "models", "claude-sonnet-4-20250514.accepts.temperature_with_top_p", "changed", False, False),
    ("profile.json", lambda d: d["models"][5]["accepts"].update(temperature_with_top_p=False),
     "models", "claude-sonnet-4-20250514.accepts.temperature_with_top_p", "tightened", True, False),
    ("profile.json", lambda d: d["models"][7]["accepts"]["thinking"].update(adaptive=True),
     "models", "claude-sonnet-4-5-20250929.accepts.thinking.adaptive", "loosened", False, True),
    ("profile.json", lambda d: d["models"][9]["accepts"]["effort"].append("max"),
     "models", "claude-opus-4-5-20251101.accepts.effort.max", "loosened", False, True),
    ("profile.json", lambda d: d["tiers"]["Free"].update(requests_per_minute=3),
     "tiers", "Free.requests_per_minute", "tightened", True, False),
    ("profile.json", lambda d: d["errors"][0].update(status=422),
     "errors", "invalid_request_error", "changed", True, True),
])
def test_each_kind_of_edit_is_reported_with_who_it_breaks(
        tmp_path: Path, file: str, edit: Callable[[Any], None], area: str, path: str, kind: str,
        clients: bool, servers: bool) -> None:
    old, new = _edited(tmp_path, "2023-06-01", file, edit)
    changes = diff_profiles(old, new)
    matching = _find(changes, area, path)
    assert [(c.kind, c.breaking_for_clients, c.breaking_for_servers) for c in matching] == [(kind, clients, servers)], \
        changes


# -- rendering ---------------------------------------------------------------------------------------------------

def test_render_text_groups_by_area_and_marks_breaking_changes() -> None:
    old, new = PROFILES.get("2024-01-01"), PROFILES.get("2026-10-21")
    text = render_text(diff_profiles(old, new), old, new)
    assert text.startswith("API profile diff 2024-01-01 (current) -> 2026-10-21 (newest)")
    assert "\nrequest:\n" in text and "\nrate_limit_headers:\n" in text
    line = next(x for x in text.splitlines() if "$.temperature" in x)
    assert "removed" in line and "BREAKING for clients" in line
    assert render_text([], old, old).endswith("no differences\n")


def test_to_json_is_serialisable_and_counts_match() -> None:
    old, new = PROFILES.get("2024-01-01"), PROFILES.get("2026-10-21")
    changes = diff_profiles(old, new)
    data = json.loads(json.dumps(to_json(changes, old, new)))
    assert (data["old"], data["new"]) == ("2024-01-01", "2026-10-21")
    assert len(data["changes"]) == len(changes)
    assert data["summary"]["breaking_for_clients"] == sum(1 for c in changes if c.breaking_for_clients)
    assert sum(data["summary"][k] for k in ("added", "removed", "tightened", "loosened", "changed")) == len(changes)
    assert set(data["changes"][0]) == {"kind", "area", "path", "detail", "breaking_for_clients",
                                       "breaking_for_servers"}
