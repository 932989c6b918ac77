"""The rule tables. Every check the suite runs is listed here, explicitly.

Each rules module exposes ``RULES`` (the catalogue of rule ids it can emit),
``CHECKS`` (per-exchange checks) and optionally ``SEQUENCE_CHECKS`` (checks
over the exchanges of one recording). Nothing registers itself on import.
"""

from __future__ import annotations

from conformance.rules import body, errors, probes, ratelimit, requests, semantics, stream
from conformance.rules.base import Check, RuleInfo, SequenceCheck

EXCHANGE_CHECKS: tuple[Check, ...] = (
    *stream.CHECKS,
    *body.CHECKS,
    *errors.CHECKS,
    *ratelimit.CHECKS,
    *semantics.CHECKS,
    *requests.CHECKS,
)
SEQUENCE_CHECKS: tuple[SequenceCheck, ...] = (
    *ratelimit.SEQUENCE_CHECKS,
)
CATALOGUE: tuple[RuleInfo, ...] = (
    *stream.RULES,
    *body.RULES,
    *errors.RULES,
    *ratelimit.RULES,
    *semantics.RULES,
    *requests.RULES,
    *probes.RULES,
)

__all__ = ["CATALOGUE", "EXCHANGE_CHECKS", "SEQUENCE_CHECKS", "Check", "RuleInfo", "SequenceCheck"]
