"""Server configuration: keys, seed, limits, the control token and the mutant (see keys.py for the keys)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

from conformance.errors import InputError
from conformance.profiles import Profiles, load_profiles
from conformance.server.keys import DEFAULT_KEYS, TEST_KEYS, KeySpec, load_keys_file
from conformance.server.mutants import MUTANT_TABLE

__all__ = ["DEFAULT_KEYS", "MAX_BODY_BYTES", "MUTANTS", "TEST_KEYS", "KeySpec", "ServerConfig", "load_keys_file"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The real API's request size limit (413 above it)."""

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

    def __post_init__(self) -> None:
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise InputError(f"unknown mutant {self.mutant!r}",
                             fix="known mutants: " + ", ".join(MUTANTS))

    @property
    def key_table(self) -> Mapping[str, KeySpec]:
        return DEFAULT_KEYS if self.keys is None else self.keys

    def load_profiles(self) -> Profiles:
        return self.profiles if self.profiles is not None else load_profiles()
