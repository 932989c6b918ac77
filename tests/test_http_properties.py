"""Properties of the HTTP-level rules: valid-by-construction exchanges give no findings, and each
labelled mutation makes exactly its rule fire (plus the co-firings it lists)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.cassettes import iter_recording_files, read_recording
from conformance.engine import context, endpoint_of, profile_for
from conformance.exchange import Exchange
from conformance.findings import Finding, Severity
from conformance.profiles import Profile, load_profiles
from conformance.rules import body, errors, ratelimit, requests, semantics
from conformance.strategies.exchange_mutations import EXCHANGE_MUTATIONS, ExchangeMutation
from conformance.strategies.responses import Case, cases, rate_limit_sequences
from tests.conftest import corpus_dir

MODULES = (body, errors, ratelimit, semantics, requests)
PROFILES = {p.version: p for p in load_profiles()}


def findings_for(exchange: Exchange, profile: Profile) -> list[Finding]:
    return [f for m in MODULES for check in m.CHECKS for f in check(exchange, context(profile))]


def sequence_findings(exchanges: Sequence[Exchange], profile: Profile) -> list[Finding]:
    per_exchange = [f for ex in exchanges for f in findings_for(ex, profile)]
    return per_exchange + [f for m in MODULES for check in getattr(m, "SEQUENCE_CHECKS", ())
                           for f in check(exchanges, context(profile))]


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


# A profile that requires the user's turn first, as no shipped version does any more: the one that mutation breaks.
_USER_FIRST = "2023-06-01+first_message_role=user"
_BASE = PROFILES["2023-06-01"]
_MUTATION_PROFILES = {**PROFILES, _USER_FIRST: dataclasses.replace(
    _BASE, request_rules=dataclasses.replace(_BASE.request_rules, first_message_role="user"))}
# Only the (mutation, version) pairs where the profile has something to break (2024-01-01 has no reset header).
_APPLICABLE = [(m, v) for v in PROFILES for m in EXCHANGE_MUTATIONS if m.needs(PROFILES[v])] + [
    (m, _USER_FIRST) for m in EXCHANGE_MUTATIONS
    if m.needs(_MUTATION_PROFILES[_USER_FIRST]) and not any(m.needs(p) for p in PROFILES.values())]


@pytest.mark.parametrize(("mutation", "version"), _APPLICABLE, ids=[f"{m.name}-{v}" for m, v in _APPLICABLE])
@given(data=st.data())
def test_each_mutation_fires_exactly_its_rule(mutation: ExchangeMutation, version: str, data: st.DataObject) -> None:
    profile = _MUTATION_PROFILES[version]
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
    for mutation in EXCHANGE_MUTATIONS:
        assert mutation.rule in catalogue, mutation.name
        assert mutation.also <= catalogue, mutation.name


def _real_cases() -> list[Case]:
    root = corpus_dir()
    if root is None or not root.is_dir():
        return []
    out = []
    for path in iter_recording_files([root]):
        for ex in read_recording(path).exchanges:
            case = Case.from_exchange(ex)
            if case is not None and endpoint_of(ex) == "messages":
                out.append(case)
    return out


REAL_CASES = _real_cases()
# Recorders filter auth and version headers, so their absence in a recording is info by design
# (tests/test_rules_requests.py covers that); every other mutation must fire on real traffic.
_RECORDED_PROFILES = [profile_for(c.exchange(), load_profiles()) for c in REAL_CASES]
# A mutation breaks only what a version has: one that no recorded version has (the first-message role, which
# no shipped profile requires) is proven on a modified profile in tests/test_rules_requests.py, not here.
REAL_MUTATIONS = [m for m in EXCHANGE_MUTATIONS if m.source in ("message", "error", "error-envelope", "any")
                  and m.rule not in ("request.auth", "request.version-missing")
                  and (not _RECORDED_PROFILES or any(m.needs(p) for p in _RECORDED_PROFILES))]


@pytest.mark.parametrize("mutation", REAL_MUTATIONS, ids=[m.name for m in REAL_MUTATIONS])
def test_mutations_of_real_traffic_fire_their_rule(mutation: ExchangeMutation) -> None:
    """Each mutation, applied to every real recorded exchange it fits, adds exactly its rule's errors."""
    if not REAL_CASES:
        pytest.skip("real-traffic corpus not available: set CONFORMANCE_CORPUS to ../shared/corpus")
    profiles = load_profiles()
    tried = 0
    for real in REAL_CASES:
        fits = {"message": real.status == 200, "error": real.status >= 400,
                "error-envelope": real.status >= 400 and isinstance(real.response_body, dict),
                "any": True}[mutation.source]
        if not fits or (mutation.name == "missing request-id header" and "request-id" not in real.response_headers):
            continue
        if mutation.source != "any" and real.request_body is None and mutation.rule.startswith(("body.request",
                                                                                               "request.")):
            continue
        if mutation.rule.startswith("request.") and not real.request_headers:
            continue
        exchange = real.exchange()
        profile = profile_for(exchange, profiles)
        if not mutation.needs(profile):
            continue  # the recording's version has nothing of the kind to break
        before = {f.rule for f in findings_for(exchange, profile) if f.severity is Severity.ERROR}
        assert before == set(), f"{real.file}: {before}"
        case = real.copy()
        try:
            mutation.apply(case, profile)
        except (KeyError, TypeError, StopIteration, AssertionError, AttributeError):
            continue  # the mutation needs something this recording lacks (e.g. no request body)
        after = findings_for(case.exchange(), profile)
        fired = {f.rule for f in after if f.severity >= mutation.severity}
        errors_after = {f.rule for f in after if f.severity is Severity.ERROR}
        assert mutation.rule in fired, f"{mutation.name} on {real.file}#{real.interaction}"
        assert errors_after <= {mutation.rule} | mutation.also, f"{mutation.name} on {real.file}: {errors_after}"
        tried += 1
    assert tried > 0, f"no real exchange fits {mutation.name}"
