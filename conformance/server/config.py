"""Server configuration: keys, seed, limits, the control token and the mutant (see keys.py for the keys)."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Callable, Mapping

from conformance.errors import InputError
from conformance.profiles import Profiles, load_profiles
from conformance.server.keys import DEFAULT_KEYS, TEST_KEYS, KeySpec, load_keys_file
from conformance.server.mutants import MUTANT_TABLE

__all__ = ["DEFAULT_KEYS", "MAX_BODY_BYTES", "MUTANTS", "TEST_KEYS", "KeySpec", "ServerConfig", "load_keys_file"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The real API's request size limit (413 above it)."""

_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")
"""Visible ASCII: what a header value carries unchanged."""


def new_control_token() -> str:
    """A fresh control token: 32 URL-safe characters from the OS's secure random source."""
    return secrets.token_urlsafe(24)


MUTANTS: tuple[str, ...] = tuple(m.name for m in MUTANT_TABLE)
"""Contract-breaking variants (issue 4): each name breaks exactly one contract (see mutants.py)."""


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything that shapes the reference server's behaviour. Same config + same request -> same response."""

    seed: int = 0
    keys: Mapping[str, KeySpec] | None = None
    """``None`` means :data:`DEFAULT_KEYS`."""
    profiles: Profiles | None = None
    """``None`` means the packaged profiles (``load_profiles()``)."""
    max_body_bytes: int = MAX_BODY_BYTES
    ping_every: int = 0
    """Extra ``ping`` events every N events (0: only the one after the first block starts, as the API does)."""
    chunking: bool = True
    """Write streams in chunks that split lines and events at arbitrary (seeded) points."""
    clock: Callable[[], float] = time.time
    """Wall clock (seconds since the epoch) for rate-limit windows; tests inject a fake one."""
    mutant: str | None = None
    """The one contract this server should break (a name in :data:`MUTANTS`; see mutants.py), or None."""
    control_token: str = dataclasses.field(default_factory=new_control_token, repr=False)
    """Required on every ``/_conformance/*`` call (see conformance/control.py); a fresh one per config
    unless given. Kept out of ``repr`` so it never lands in a log."""
    log_max_requests: int = 1000
    """The request log keeps at most this many requests (the newest) across all keys."""
    log_max_bytes: int = 16 * 1024 * 1024
    """... and at most this many bytes of them (headers and stored bodies)."""
    log_max_body_bytes: int = 64 * 1024
    """A logged body is cut to this many bytes (the log says it was, and how long it was)."""

    def __post_init__(self) -> None:
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise InputError(f"unknown mutant {self.mutant!r}",
                             fix="known mutants: " + ", ".join(MUTANTS))
        if not isinstance(self.control_token, str) or not _TOKEN_SHAPE.fullmatch(self.control_token):
            raise InputError("the control token must be visible ASCII characters without spaces",
                             fix="e.g. --control-token $(python -c 'import secrets; print(secrets.token_urlsafe())')")
        for name in ("log_max_requests", "log_max_bytes", "log_max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name} must be a whole number >= 0, not {value!r}")

    @property
    def key_table(self) -> Mapping[str, KeySpec]:
        return DEFAULT_KEYS if self.keys is None else self.keys

    def load_profiles(self) -> Profiles:
        return self.profiles if self.profiles is not None else load_profiles()
