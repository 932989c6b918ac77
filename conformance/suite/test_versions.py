"""Version checks (``--compare-versions`` with two ``--api-version``): the same requests under both versions.

Each request goes once under A and once under B, the ``anthropic-version`` header the only difference. Each send
carries the intent its version's profile predicts (valid: 200; refused by the request rules: 400 naming the
field; an unlisted model: the profile's unknown-model answer), so every exchange is judged on its own as usual;
the pair is tied by ``detail["pair"]`` and judged across versions by conformance/rules/versions.py against
``conformance diff A B``. Collected only with ``--compare-versions``.

    the common parameters   fixed requests with system, stop sequences, metadata and sampling where a version
                            takes it: every run meets the fields clients send most
    generated requests      a valid request of each version and a one-constraint-broken one, per example
    version rejections      each constraint only one of the versions has (temperature refused by 2026-10-21 ...)
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.intent import Intent
from conformance.rules.versions import PAIR, REQUEST, VERSIONS, expected_answer
from conformance.strategies.invalid import invalid_requests
from conformance.strategies.requests import valid_requests
from conformance.suite.helpers import common_parameters_body

pytestmark = [pytest.mark.conformance_areas("versions", "positive", "negative", "model"),
              pytest.mark.conformance_compare_versions]


def _intent(profile: Any, body: Any, pair: str, kind: str, versions: list[str]) -> Intent:
    """What ``profile`` predicts for ``body``, as the intent the exchange rules judge it by."""
    detail = {PAIR: pair, REQUEST: kind, VERSIONS: versions}
    expected = expected_answer(profile, "messages", body)
    if expected.status == 200:
        return Intent("valid", what=kind, detail=detail)
    path, _ = expected.reasons[0]
    if expected.status == 400:
        dotted = path.removeprefix("$").lstrip(".").replace("[", ".").replace("]", "")
        return Intent("invalid", what=kind, detail={**detail, "constraint": f"refused by {profile.version}",
                                                    "path": dotted})
    return Intent("expect", rule="model.unknown", status=expected.status, error_type=expected.error_type,
                  what=kind, detail=detail)


def send_under_both(client: Any, check: Any, profiles: tuple[Any, Any], body: Any, kind: str) -> None:
    """``body`` once under each version (as bytes: a body that is not an object is sent as it is)."""
    pair = check.new_group()
    versions = [profiles[0].version, profiles[1].version]
    for profile in profiles:
        client.send("POST", "/v1/messages", body=orjson.dumps(body), headers=client.headers(version=profile.version),
                    intent=_intent(profile, body, pair, kind, versions))


def _profiles(conformance_profile: Any, other: str) -> tuple[Any, Any]:
    from conformance.profiles import load_profiles

    return conformance_profile, load_profiles().get(other)


def test_the_common_parameters_under_both_versions(conformance_client: Any, conformance_profile: Any,
                                                   conformance_check: Any, conformance_other_version: str) -> None:
    profiles = _profiles(conformance_profile, conformance_other_version)
    for profile in profiles:
        body = {**common_parameters_body(profile), "stream": False}
        send_under_both(conformance_client, conformance_check, profiles, body,
                        f"the common parameters of {profile.version}")
    conformance_check.verdict()


@given(data=st.data())
def test_generated_requests_under_both_versions(conformance_client: Any, conformance_profile: Any,
                                                conformance_check: Any, conformance_other_version: str,
                                                data: st.DataObject) -> None:
    profiles = _profiles(conformance_profile, conformance_other_version)
    for profile in profiles:
        body = data.draw(valid_requests(profile), label=f"valid request of {profile.version}")
        send_under_both(conformance_client, conformance_check, profiles, {**body, "stream": False},
                        f"a valid request of {profile.version}")
    profile = data.draw(st.sampled_from(profiles), label="broken by the profile of")
    bad = data.draw(invalid_requests(profile), label="invalid request")
    send_under_both(conformance_client, conformance_check, profiles, bad.body, f"invalid: {bad.constraint}")
    conformance_check.verdict()


@given(data=st.data())
def test_version_rejections_under_both_versions(conformance_client: Any, conformance_profile: Any,
                                                conformance_check: Any, conformance_other_version: str,
                                                conformance_constraint: str, data: st.DataObject) -> None:
    """A constraint only one of the versions has: the request it breaks is one the other version takes."""
    from conformance.strategies.invalid import constraints_for

    profiles = _profiles(conformance_profile, conformance_other_version)
    owner = next(p for p in profiles if conformance_constraint in constraints_for(p))
    bad = data.draw(invalid_requests(owner, constraints=(conformance_constraint,)), label="invalid request")
    send_under_both(conformance_client, conformance_check, profiles, bad.body, f"{conformance_constraint} "
                                                                               f"(of {owner.version})")
    conformance_check.verdict()
