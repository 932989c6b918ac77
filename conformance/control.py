"""The reference server's control API, from the caller's side: the token to send and how keys are named.

Every ``/_conformance/*`` call needs the server's control token (printed by ``conformance serve``, or
``--control-token``; ``ServerConfig.control_token`` for an embedded server). Send it with
:func:`control_headers` rather than building the header by hand::

    httpx.post(f"{url}/_conformance/scenarios", json=..., headers=control_headers(token))

The control API never shows an API key: its request log and its answers name a key by
:func:`key_fingerprint`, which a caller who knows the key can compute to find its entries.
"""

from __future__ import annotations

import hashlib

__all__ = ["CONTROL_TOKEN_HEADER", "control_headers", "key_fingerprint"]

CONTROL_TOKEN_HEADER = "x-conformance-control-token"
"""Where the token goes (``Authorization: Bearer <token>`` is accepted too)."""


def control_headers(token: str | None) -> dict[str, str]:
    """The headers a control API call carries; none without a token (replaying cassettes needs none)."""
    return {CONTROL_TOKEN_HEADER: token} if token else {}


def key_fingerprint(key: str | None) -> str:
    """The name the control API gives an API key: ``key-`` and 16 hex digits of its SHA-256 (``anonymous``
    for a request without one). Stable, so a caller can find its own key's entries; not the key."""
    if not key:
        return "anonymous"
    return "key-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
