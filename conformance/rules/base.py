"""What a rule is, what it may read, and the catalogue entry that describes each rule id.

A check is a small pure function ``(exchange, ctx) -> Iterable[Finding]`` (or, for rules
over several exchanges, ``(exchanges, ctx)``). It returns early when it does not apply,
never raises for bad data and never stops at the first problem. Everything a rule needs
besides the exchange comes in through :class:`Context`; no rule reads global state.
Checks are listed in explicit tables in :mod:`conformance.rules`; nothing registers itself
on import.

Every rule judges one **party**: the ``client`` (what was sent: body, headers, auth,
version) or the ``server`` (what came back). A report reads either view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from conformance.exchange import Exchange
from conformance.findings import CLIENT, SERVER, Finding, Severity
from conformance.profiles import Profile, Profiles


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """What a rule may read besides the exchange."""

    profile: Profile
    """The profile that judges this exchange (the version the request sent, or the one asked for)."""
    profiles: Profiles
    """The whole version table (is a version sent known at all?)."""
    deterministic: bool = False
    """The target answers the same request the same way (the reference server and its recordings)."""
    live_clock: bool = True
    """Times in the headers are of this run (False when re-judging old recordings)."""
    now: dt.datetime | None = None
    """The time the exchanges were judged against (``None``: now)."""

    def with_profile(self, profile: Profile) -> Context:
        return dataclasses.replace(self, profile=profile)

    def clock(self) -> dt.datetime:
        return self.now if self.now is not None else dt.datetime.now(dt.UTC)


Check = Callable[[Exchange, Context], Iterable[Finding]]
SequenceCheck = Callable[[Sequence[Exchange], Context], Iterable[Finding]]


@dataclasses.dataclass(frozen=True, slots=True)
class RuleInfo:
    """Catalogue entry for one rule id (``stream.block-order``)."""

    id: str
    severity: Severity
    """The default severity; a check may report lower (e.g. info for a redacted value)."""
    title: str
    party: str = SERVER
    """``client`` (the request) or ``server`` (the answer)."""
    shrinks: bool = True
    """``False``: no smaller request makes a failure of this rule clearer (it is about whether an answer arrived
    at all), so a live run spends no requests shrinking it."""

    def __post_init__(self) -> None:
        if self.party not in (CLIENT, SERVER):
            raise ValueError(f"rule {self.id}: party must be {CLIENT!r} or {SERVER!r}, not {self.party!r}")

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]
