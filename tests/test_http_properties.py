"""Properties of the HTTP-level rules: valid-by-construction exchanges give no findings, and each
labelled mutation makes exactly its rule fire (plus the co-firings it lists)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.exchange import Exchange
from conformance.findings import Finding
from conformance.profiles import Profile, load_profiles
from conformance.rules import body, errors, ratelimit, requests, semantics
from conformance.strategies.responses import MUTATIONS, Mutation, cases, rate_limit_sequences

MODULES = (body, errors, ratelimit, semantics, requests)
PROFILES = {p.version: p for p in load_profiles()}


def findings_for(exchange: Exchange, profile: Profile) -> list[Finding]:
    return [f for m in MODULES for check in m.CHECKS for f in check(exchange, profile)]


def sequence_findings(exchanges: Sequence[Exchange], profile: Profile) -> list[Finding]:
    per_exchange = [f for ex in exchanges for f in findings_for(ex, profile)]
    return per_exchange + [f for m in MODULES for check in getattr(m, "SEQUENCE_CHECKS", ())
                           for f in check(exchanges, profile)]


def describe(found: list[Finding]) -> str:
    return "\n".join(f"{f.rule} {f.severity} {f.path}: {f.message}" for f in found)


@pytest.mark.parametrize("version", sorted(PROFILES))
@given(data=st.data())
def test_valid_exchanges_give_no_findings(version: str, data: st.DataObject) -> None:
    profile = PROFILES[version]
    case = data.draw(cases(profile))
    found = findings_for(case.exchange(), profile)
    assert found == [], describe(found)


@pytest.mark.parametrize("version", sorted(PROFILES))
@given(data=st.data())
def test_valid_rate_limit_sequences_give_no_findings(version: str, data: st.DataObject) -> None:
    profile = PROFILES[version]
    seq = data.draw(rate_limit_sequences(profile))
    found = sequence_findings([c.exchange() for c in seq], profile)
    assert found == [], describe(found)


@pytest.mark.parametrize("version", ["2023-06-01", "2024-01-01", "2026-10-21"])
@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
@given(data=st.data())
def test_each_mutation_fires_exactly_its_rule(mutation: Mutation, version: str, data: st.DataObject) -> None:
    profile = PROFILES[version]
    if not mutation.needs(profile):
        pytest.skip(f"{mutation.name}: profile {version} has nothing to break here")
    target = copy.deepcopy(data.draw(mutation.sources(profile)))
    mutation.apply(target, profile)
    if isinstance(target, list):
        found = sequence_findings([c.exchange() for c in target], profile)
    else:
        found = findings_for(target.exchange(), profile)
    fired = {f.rule for f in found}
    assert mutation.rule in fired, describe(found)
    assert fired <= {mutation.rule} | mutation.also, describe(found)


def test_every_mutation_targets_a_catalogued_rule() -> None:
    catalogue = {r.id for m in MODULES for r in m.RULES}
    for mutation in MUTATIONS:
        assert mutation.rule in catalogue, mutation.name
        assert mutation.also <= catalogue, mutation.name
