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


def count_tokens_body(profile: Profile, body: Mapping[str, Any]) -> dict[str, Any]:
    """The count_tokens request for the same input as a Messages request."""
    allowed = profile.schemas.schema("count_tokens_request").get("properties", {})
    return {k: v for k, v in body.items() if k in allowed}


def common_parameters_body(profile: Profile) -> dict[str, Any]:
    """The parameters clients set most (system, stop sequences, metadata, sampling where the version takes it) in
    one fixed request, so every run reaches what they feed, not only runs where a generated request has them."""
    from conformance.strategies.requests import parameters

    body: dict[str, Any] = {"model": profile.model_ids[0], "max_tokens": 64,
                            "system": "Answer in plain words.", "stop_sequences": ["the", "###"],
                            "metadata": {"user_id": "conformance-suite"},
                            "messages": [{"role": "user", "content": "Describe the sea in twenty words."}]}
    if "temperature" in parameters(profile, "messages"):
        body["temperature"] = 0.5
    return body
