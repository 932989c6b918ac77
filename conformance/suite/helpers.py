"""Small helpers shared by the checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.profiles import Profile


def minimal_request(profile: Profile, **extra: Any) -> dict[str, Any]:
    """The smallest valid Messages request for a profile (cheap on live targets)."""
    body: dict[str, Any] = {"model": profile.model_ids[0], "max_tokens": 8,
                            "messages": [{"role": "user", "content": "Say hi."}]}
    body.update(extra)
    return body


def thinking_model(profile: Profile) -> tuple[str, dict[str, Any] | None]:
    """A model of the catalogue known to think, with the ``thinking`` setting it takes (manual first: a fixed budget
    keeps the answer small; an active model before a deprecated one); the first model and no thinking where the
    version or no model is known to take it."""
    schema = profile.schemas.schema("request")
    kinds = schema.get("$defs", {}).get("thinking", {}).get("properties", {}).get("type", {}).get("enum", ())
    if "thinking" in schema.get("properties", {}):
        settings = (("enabled", {"type": "enabled", "budget_tokens": 1024}), ("adaptive", {"type": "adaptive"}))
        active = [str(m["id"]) for m in profile.models if m.get("lifecycle", "active") == "active"]
        for kind, setting in settings:
            for model in [*active, *profile.model_ids]:
                if kind in kinds and profile.accepts(model).thinking.get(kind) is True:
                    return model, setting
    return profile.model_ids[0], None


def count_tokens_body(profile: Profile, body: Mapping[str, Any]) -> dict[str, Any]:
    """The count_tokens request for the same input as a Messages request."""
    allowed = profile.schemas.schema("count_tokens_request").get("properties", {})
    return {k: v for k, v in body.items() if k in allowed}


def common_parameters_body(profile: Profile) -> dict[str, Any]:
    """The parameters clients set most (system, stop sequences, metadata, sampling where the version takes it) in
    one fixed request, so every run reaches what they feed, not only runs where a generated request has them."""
    from conformance.strategies.requests import parameters

    body: dict[str, Any] = {"model": profile.model_ids[0], "max_tokens": 64,
                            # "e": whatever a model (or the reference server's word generator) says, it says an
                            # "e" within a few words, so every run sees a stop sequence reported.
                            "system": "Answer in plain words.", "stop_sequences": ["e", "###"],
                            "metadata": {"user_id": "conformance-suite"},
                            "messages": [{"role": "user", "content": "Describe the sea in twenty words."}]}
    if "temperature" in parameters(profile, "messages"):
        body["temperature"] = 0.5
    return body
