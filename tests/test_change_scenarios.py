"""CONTRIBUTING.md's change scenarios stay true: a new API version is a change to schema files only.

A throwaway profile (a copy of the newest one) gains a request field and a stream event type in its
schema files, and nothing else; the suite then generates the field, the reference server accepts it,
the rules judge it, and a stream carrying the new event has that event checked by its schema.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, find, settings

from conformance.engine import check_exchange
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.profiles import Profiles, load_profiles, schemas_root
from conformance.rules.stream import UNKNOWN_EVENT, check_stream_events
from conformance.schemacheck import check_schema_tree
from conformance.server import ServerConfig, running_server
from conformance.strategies.invalid import constraints_for
from conformance.strategies.requests import valid_requests
from conformance.strategies.streams import stream_events

NEW = "2099-01-01"
FIELD = "reasoning_effort"
EVENT = "content_block_checkpoint"
ROOT = Path(__file__).resolve().parent.parent


def _edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def _add_event(doc: dict[str, Any]) -> None:
    doc["properties"]["type"]["x-known-values"].append(EVENT)
    doc["allOf"].append({"if": {"properties": {"type": {"const": EVENT}}, "required": ["type"]},
                         "then": {"required": ["index", "checkpoint"],
                                  "properties": {"index": {"type": "integer", "minimum": 0},
                                                 "checkpoint": {"type": "string"}}}})


def _retitle(directory: Path, old: str) -> None:
    """A copied profile names its own version in its ``$id``s and titles."""
    for path in directory.glob("*.json"):
        path.write_text(path.read_text().replace(old, NEW))


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Profiles:
    """The shipped schema tree plus one new version, made by copying files and editing JSON only."""
    root = tmp_path_factory.mktemp("schemas") / "schemas"
    shutil.copytree(schemas_root(), root)
    newest = load_profiles().versions[-1]
    shutil.copytree(root / newest, root / NEW)
    _retitle(root / NEW, newest)
    _edit(root / NEW / "request.schema.json",
          lambda d: d["properties"].update({FIELD: {"type": "string", "enum": ["low", "medium", "high"]}}))
    _edit(root / NEW / "stream-event.schema.json", _add_event)
    _edit(root / "versions.json", lambda d: d["versions"].append(
        {"version": NEW, "status": "newest", "source": "real-api", "notes": "A throwaway version.",
         "differences": ["reasoning_effort", EVENT]}))
    assert check_schema_tree(root) == []
    return load_profiles(root)


def test_the_new_field_is_generated_accepted_and_judged(profiles: Profiles) -> None:
    profile = profiles.get(NEW)
    body = find(valid_requests(profile), lambda b: FIELD in b,
                settings=settings(max_examples=500, database=None, phases=[Phase.generate],
                                  suppress_health_check=list(HealthCheck)))
    headers = {"x-api-key": "sk-ant-test-scale", "anthropic-version": NEW, "content-type": "application/json"}
    with running_server(ServerConfig(profiles=profiles)) as url:
        accepted = httpx.post(f"{url}/v1/messages", json=body, headers=headers, timeout=30)
        rejected = httpx.post(f"{url}/v1/messages", json={**body, FIELD: "extreme"}, headers=headers, timeout=30)
    assert accepted.status_code == 200, accepted.text
    assert rejected.status_code == 400 and FIELD in rejected.json()["error"]["message"]
    # Judged: the same field with a value its schema refuses is the client's error, answered 2xx or not.
    wrong = Exchange(HttpRequest(Headers(headers), json.dumps({**body, FIELD: "extreme"}).encode(), "POST",
                                 "http://x/v1/messages"),
                     HttpResponse(Headers({"content-type": "application/json"}), accepted.content, 200))
    found = {(f.rule, f.path) for f in check_exchange(wrong, profile)}
    assert ("body.request-schema", f"$.{FIELD}") in found
    assert ("request.accepted-invalid", f"$.{FIELD}") in found
    # And broken on purpose by the negative checks: wrong-type takes it among the fields it breaks.
    assert "wrong-type" in constraints_for(profile)


def _stream(event: dict[str, Any]) -> list[dict[str, Any]]:
    message = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 3, "output_tokens": 1}}
    return [{"type": "message_start", "message": message},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
            event,
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": 2}},
            {"type": "message_stop"}]


def test_the_new_event_is_judged_by_its_schema_inside_a_stream(profiles: Profiles) -> None:
    profile = profiles.get(NEW)
    good = {"type": EVENT, "index": 0, "checkpoint": "c1"}
    bad = {"type": EVENT, "index": "first"}
    assert check_stream_events(stream_events(_stream(good)), profile) == []
    found = [(f.rule, f.event) for f in check_stream_events(stream_events(_stream(bad)), profile)]
    assert ("stream.event-schema", 3) in found
    # The version before it does not know the event: forward-compatible, reported as info, not judged.
    older = profiles.get(profiles.versions[-2])
    assert [(f.rule, str(f.severity)) for f in check_stream_events(stream_events(_stream(bad)), older)] == [
        (UNKNOWN_EVENT, "info")]


def test_contributing_lists_the_files_each_scenario_touches() -> None:
    """CONTRIBUTING.md names files; each must exist, so the guide cannot drift from the tree."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    for scenario in ("Add an API version", "Add a rule", "Add a recording format"):
        assert f"## {scenario}" in text
    named = set(re.findall(r"`((?:schemas|conformance|tests)/[\w./<>-]+)`", text))
    assert len(named) >= 8
    for name in named:
        if "<" in name:
            continue  # a pattern such as schemas/<version>/
        assert (ROOT / name).exists(), f"CONTRIBUTING.md names {name}, which does not exist"
