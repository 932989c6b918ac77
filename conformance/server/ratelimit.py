"""Per-key rate limits: one bucket per resource (requests, input tokens, output tokens) and tier.

Each bucket (and a fourth for input and output tokens together, the reference
document's single "tokens per minute") holds a tier's per-minute capacity and is refilled *in full* at its
``reset`` instant (60 s after the window opened). Refilling in one step rather than
continuously keeps ``remaining`` from rising before the advertised reset, which is
what clients pace on and what the cross-response rule checks. Header names come
from the profile (``anthropic-ratelimit-*`` or the reference document's
``x-ratelimit-*``); the values are computed here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import threading
import time
from collections.abc import Callable

from conformance.profiles import Profile, Tier

WINDOW_SECONDS = 60.0

_PlanRow = tuple[str, str, str, str, str | None]
"""(resource name, bucket attribute, limit, remaining and reset header names)."""


@dataclasses.dataclass
class Bucket:
    capacity: int
    used: int = 0
    window_start: float | None = None

    def roll(self, now: float) -> None:
        if self.window_start is None or now >= self.window_start + WINDOW_SECONDS:
            self.window_start = now
            self.used = 0

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.used)

    def reset_at(self, now: float) -> float:
        return (self.window_start if self.window_start is not None else now) + WINDOW_SECONDS


@dataclasses.dataclass(frozen=True)
class Quota:
    """Per-minute capacities of one tier under one profile."""

    requests: int
    input_tokens: int
    output_tokens: int
    tokens: int
    """Input and output together (the reference document's single "tokens per minute")."""

    @classmethod
    def of(cls, profile: Profile, tier: Tier) -> Quota:
        return cls(tier.requests_per_minute, tier.input_tokens_per_minute, tier.output_tokens_per_minute,
                   tier.tokens_per_minute)


@dataclasses.dataclass
class KeyLimits:
    requests: Bucket
    input_tokens: Bucket
    output_tokens: Bucket
    tokens: Bucket

    def all(self) -> tuple[Bucket, ...]:
        return (self.requests, self.input_tokens, self.output_tokens, self.tokens)


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0
    """Seconds until the exhausted bucket refills (when not allowed)."""
    limited: str = ""
    """Which resource ran out."""


_LAST_SECOND_OF_9999 = 253402300799


@functools.lru_cache(maxsize=256)
def _rfc3339_second(second: int) -> str:
    if 0 <= second <= _LAST_SECOND_OF_9999:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))  # the same text, a third of the cost
    return dt.datetime.fromtimestamp(second, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339(ts: float) -> str:
    """``ts`` as an RFC 3339 UTC time, rounded up to the second (a reset is never announced early)."""
    return _rfc3339_second(math.ceil(ts))


@dataclasses.dataclass(frozen=True, slots=True)
class LimitReading:
    """One resource's bucket as a response reports it."""

    resource: str
    """``requests``, ``input-tokens``, ``output-tokens`` or ``tokens``."""
    limit: int
    remaining: int
    requests_used: int
    """Requests taken in the current window (the same for every resource of a key)."""
    reset_at: float
    now: float


def limit_values(reading: LimitReading) -> tuple[str, str, str]:
    """The faithful (limit, remaining, reset) header values; reset is an RFC 3339 time."""
    return str(reading.limit), str(reading.remaining), rfc3339(reading.reset_at)


class RateLimiter:
    """Thread-safe buckets per (key, tier).

    ``values`` turns a :class:`LimitReading` into the (limit, remaining, reset) header values
    (the ``limit_values`` seam of behaviour.py).
    """

    def __init__(self, values: Callable[[LimitReading], tuple[str, str, str]] = limit_values) -> None:
        self._values = values
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, Quota], KeyLimits] = {}
        self._plans: dict[int, tuple[Profile, tuple[_PlanRow, ...]]] = {}

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._keys.clear()
            else:
                for k in [k for k in self._keys if k[0] == key]:
                    del self._keys[k]

    def _limits(self, key: str, quota: Quota) -> KeyLimits:
        lim = self._keys.get((key, quota))
        if lim is None:
            lim = KeyLimits(Bucket(quota.requests), Bucket(quota.input_tokens), Bucket(quota.output_tokens),
                            Bucket(quota.tokens))
            self._keys[(key, quota)] = lim
        return lim

    def admit(self, key: str, quota: Quota, input_tokens: int, now: float) -> Decision:
        """Take one request and its input tokens, or say why not (nothing is taken then)."""
        with self._lock:
            lim = self._limits(key, quota)
            for b in lim.all():
                b.roll(now)
            for name, bucket, need in (("requests", lim.requests, 1), ("input_tokens", lim.input_tokens, input_tokens),
                                       ("output_tokens", lim.output_tokens, 1), ("tokens", lim.tokens, input_tokens)):
                if bucket.remaining < need:
                    return Decision(False, max(0.0, bucket.reset_at(now) - now), name)
            lim.requests.used += 1
            lim.input_tokens.used += input_tokens
            lim.tokens.used += input_tokens
            return Decision(True)

    def charge_output_and_headers(self, key: str, quota: Quota, profile: Profile, output_tokens: int,
                                  now: float) -> dict[str, str]:
        """Charge the answer's output tokens, then :meth:`headers`, at ``now`` (as one step)."""
        with self._lock:
            self._charge_locked(key, quota, output_tokens, now)
            return self._headers_locked(key, quota, profile, now)

    def _charge_locked(self, key: str, quota: Quota, output_tokens: int, now: float) -> None:
        lim = self._limits(key, quota)
        for b in (lim.output_tokens, lim.tokens):
            b.roll(now)
            b.used += output_tokens

    def _plan(self, profile: Profile) -> tuple[_PlanRow, ...]:
        """Per resource of the profile: (name, bucket attribute, limit, remaining and reset header names)."""
        found = self._plans.get(id(profile))
        if found is None or found[0] is not profile:
            plan: list[_PlanRow] = []
            for res in profile.rate_limits.resources:
                name = res.name.replace("_", "-")
                attr = {"requests": "requests", "input-tokens": "input_tokens",
                        "output-tokens": "output_tokens"}.get(name, "tokens")
                plan.append((name, attr, res.limit, res.remaining, res.reset))
            found = (profile, tuple(plan))
            self._plans[id(profile)] = found
        return found[1]

    def headers(self, key: str, quota: Quota, profile: Profile, now: float) -> dict[str, str]:
        """The profile's rate-limit headers with this key's current state."""
        with self._lock:
            return self._headers_locked(key, quota, profile, now)

    def _headers_locked(self, key: str, quota: Quota, profile: Profile, now: float) -> dict[str, str]:
        plan = self._plan(profile)
        values = self._values
        lim = self._limits(key, quota)
        for b in lim.all():
            b.roll(now)
        out: dict[str, str] = {}
        for name, attr, limit_name, remaining_name, reset_name in plan:
            # "tokens" (and anything else): input and output together.
            b = getattr(lim, attr)
            reset = b.window_start + WINDOW_SECONDS if b.window_start is not None else now + WINDOW_SECONDS
            reading = LimitReading(name, b.capacity, min(max(0, b.capacity - b.used), b.capacity),
                                   lim.requests.used, reset, now)
            out[limit_name], out[remaining_name], reset_text = values(reading)
            if reset_name:
                out[reset_name] = reset_text
        return out
