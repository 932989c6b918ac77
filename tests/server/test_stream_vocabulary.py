"""Streams speak the version's vocabulary: event and delta types come from its stream-event schema.

A throwaway profile tree (a copy of schemas/ with one version's ``x-known-values`` narrowed) shows the
server emitting per version: no ``ping`` where the version does not know it, and a block whose delta
type it does not know arriving whole in its ``content_block_start``. The stream still accumulates to
the plain message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance.profiles import load_profiles, schemas_root
from conformance.server import ServerConfig
from conformance.server.streaming import StreamVocabulary
from tests.server.support import body, exchange_of, headers

THINKING = {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}}


def test_the_packaged_profiles_know_what_the_server_sends() -> None:
    for profile in load_profiles():
        vocab = StreamVocabulary.of(profile)
        assert vocab.events is not None and {"message_start", "ping", "error"} <= vocab.events
        assert vocab.deltas is not None and {"text_delta", "thinking_delta", "signature_delta"} <= vocab.deltas
        assert not vocab.knows_event(vocab.unknown_event_type)


@pytest.fixture
def narrowed(tmp_path: Path) -> Any:
    """Profiles where 2023-06-01 knows neither ``ping`` nor ``thinking_delta``/``signature_delta``."""
    root = tmp_path / "schemas"
    shutil.copytree(schemas_root(), root)
    path = root / "2023-06-01" / "stream-event.schema.json"
    schema = json.loads(path.read_text())
    events = schema["properties"]["type"]["x-known-values"]
    events.remove("ping")
    deltas = schema["$defs"]["delta"]["properties"]["type"]["x-known-values"]
    deltas.remove("thinking_delta")
    deltas.remove("signature_delta")
    path.write_text(json.dumps(schema))
    return load_profiles(root)


def test_events_and_deltas_follow_the_versions_schema(make_client: Any, narrowed: Any) -> None:
    c = make_client(ServerConfig(profiles=narrowed))
    req = body("think first", **THINKING)
    plain = c.post("/v1/messages", headers=headers("2023-06-01"), json=req).json()
    ex = exchange_of(c.post("/v1/messages", headers=headers("2023-06-01"), json={**req, "stream": True}))
    types = [e.type for e in ex.events]
    assert "ping" not in types
    deltas = {e.payload["delta"]["type"] for e in ex.events if e.type == "content_block_delta"}
    assert deltas == {"text_delta"}
    thinking_start = next(e.payload["content_block"] for e in ex.events if e.type == "content_block_start")
    assert thinking_start == plain["content"][0] and thinking_start["type"] == "thinking"
    assert ex.accumulated == plain
    # Another version of the same tree is untouched.
    other = exchange_of(c.post("/v1/messages", headers=headers("2024-01-01"), json={**req, "stream": True}))
    assert "ping" in [e.type for e in other.events]
    assert "thinking_delta" in {e.payload["delta"]["type"] for e in other.events if e.type == "content_block_delta"}
