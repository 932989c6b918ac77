"""Small helpers shared by the checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from conformance.findings import Finding
from conformance.profiles import Profile

#: Rules about the request itself: a negative check sends invalid requests on purpose.
REQUEST_SIDE_RULES = frozenset({
    "body.request-schema", "body.request-not-json", "request.cross-field", "request.auth", "request.content-type",
    "request.version-missing", "request.version-unknown", "request.version-duplicated",
})


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


def without_request_side(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule not in REQUEST_SIDE_RULES]
