"""What a rule is, and the catalogue entry that describes each rule id.

A check is a small pure function ``(exchange, profile) -> Iterable[Finding]``
(or, for rules over several exchanges, ``(exchanges, profile)``). It returns
early when it does not apply, never raises for bad data and never stops at
the first problem. Checks are listed in explicit tables in
:mod:`conformance.rules`; nothing registers itself on import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from conformance.exchange import Exchange
from conformance.findings import Finding, Severity
from conformance.profiles import Profile

Check = Callable[[Exchange, Profile], Iterable[Finding]]
SequenceCheck = Callable[[Sequence[Exchange], Profile], Iterable[Finding]]


@dataclasses.dataclass(frozen=True, slots=True)
class RuleInfo:
    """Catalogue entry for one rule id (``stream.block-order``)."""

    id: str
    severity: Severity
    """The default severity; a check may report lower (e.g. info for a redacted value)."""
    title: str

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]
