"""The rule tables. Every check the suite runs is listed here, explicitly.

Each rules module exposes ``RULES`` (the catalogue of rule ids it can emit),
``CHECKS`` (per-exchange checks) and optionally ``SEQUENCE_CHECKS`` (checks
over the exchanges of one recording). Nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.findings import SERVER, Severity
from conformance.rules import body, errors, intents, ratelimit, requests, semantics, stream, transport, versions
from conformance.rules.base import Check, Context, RuleInfo, SequenceCheck

INTERNAL = RuleInfo("internal.check-crashed", Severity.ERROR,
                    "a rule of the suite crashed on this exchange (a bug of the suite; please report it)")

EXCHANGE_CHECKS: tuple[Check, ...] = (
    *stream.CHECKS,
    *body.CHECKS,
    *errors.CHECKS,
    *ratelimit.CHECKS,
    *semantics.CHECKS,
    *requests.CHECKS,
    *intents.CHECKS,
    *transport.CHECKS,
)
SEQUENCE_CHECKS: tuple[SequenceCheck, ...] = (
    *ratelimit.SEQUENCE_CHECKS,
    *intents.SEQUENCE_CHECKS,
    *versions.SEQUENCE_CHECKS,
)
CATALOGUE: tuple[RuleInfo, ...] = (
    *stream.RULES,
    *body.RULES,
    *errors.RULES,
    *ratelimit.RULES,
    *semantics.RULES,
    *requests.RULES,
    *intents.RULES,
    *transport.RULES,
    *versions.RULES,
    INTERNAL,
)
RULES_BY_ID: Mapping[str, RuleInfo] = {r.id: r for r in CATALOGUE}


def party_of(rule: str) -> str:
    """The party a rule judges (``server`` for an id outside the catalogue)."""
    info = RULES_BY_ID.get(rule)
    return info.party if info is not None else SERVER


__all__ = ["CATALOGUE", "EXCHANGE_CHECKS", "INTERNAL", "RULES_BY_ID", "SEQUENCE_CHECKS", "Check", "Context",
           "RuleInfo", "SequenceCheck", "party_of"]
