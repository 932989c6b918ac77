"""Auth, versions and models: the gatekeeping answers every client depends on."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.engine import check_exchange
from conformance.findings import Finding, error
from conformance.rules.probes import rejected_with, version_rejected
from conformance.suite.helpers import minimal_request, without_request_side

WRONG_KEY = "sk-ant-api00-" + "wrongkey" * 4  # shaped like a key, valid nowhere


def _judge(ex: Any, profile: Any, probe: list[Finding]) -> list[Finding]:
    return without_request_side(check_exchange(ex, profile)) + probe


@pytest.mark.conformance_areas("auth", "error")
def test_missing_key_gets_401(client: Any, profile: Any, conformance: Any) -> None:
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile), headers=client.headers(auth=None))
    probe = list(rejected_with(ex, rule="auth.rejected", status=401, error_type="authentication_error",
                               what="a request without a key"))
    conformance.require(ex, profile, extra=_judge(ex, profile, probe), check_rules=False)


@pytest.mark.conformance_areas("auth", "error")
def test_wrong_key_gets_401(client: Any, profile: Any, conformance: Any) -> None:
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile), headers=client.headers(key=WRONG_KEY))
    probe = list(rejected_with(ex, rule="auth.rejected", status=401, error_type="authentication_error",
                               what="a request with a wrong key"))
    conformance.require(ex, profile, extra=_judge(ex, profile, probe), check_rules=False)


@pytest.mark.conformance_areas("auth")
@pytest.mark.parametrize("style", ["x-api-key", "bearer"])
def test_auth_styles_follow_the_profile(client: Any, profile: Any, conformance: Any, style: str) -> None:
    """A valid key works in every auth style the profile lists; a style it does not list gets 401."""
    allowed = profile.auth_styles
    listed = ("authorization-bearer" if style == "bearer" else style) in allowed
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile), headers=client.headers(auth=style))
    if not listed:
        probe = list(rejected_with(ex, rule="auth.rejected", status=401, error_type="authentication_error",
                                   what=f"a key sent as {style}, which {profile.version} does not accept"))
        conformance.require(ex, profile, extra=_judge(ex, profile, probe), check_rules=False)
        return
    status = ex.response.status if ex.response is not None else None
    probe = [] if status == 200 else [error("auth.accepted", f"a valid key sent as {style} got {status}",
                                            expected=200, actual=status)]
    conformance.require(ex, profile, extra=probe)


@pytest.mark.conformance_areas("version", "error")
@pytest.mark.parametrize("sent", [None, "1999-01-01", "{version}, {version}"],
                         ids=["missing", "unknown", "repeated"])
def test_bad_versions_get_400(client: Any, profile: Any, conformance: Any, sent: str | None) -> None:
    value = sent.format(version=profile.version) if sent else None
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile), headers=client.headers(version=value))
    probe = list(version_rejected(ex, value))
    conformance.require(ex, profile, extra=_judge(ex, profile, probe), check_rules=False)


@pytest.mark.conformance_areas("version")
def test_every_version_in_the_table_is_probed(client: Any, profile: Any, conformance: Any) -> None:
    """The support matrix (summary.md) comes from these answers; the profile's own version must work."""
    from conformance.profiles import get_profile, load_profiles

    for version in load_profiles().versions:
        other = get_profile(version)
        ex = client.send("POST", "/v1/messages", json=minimal_request(other), headers=client.headers(version=version))
        status = ex.response.status if ex.response is not None else None
        if version == profile.version:
            probe = [] if status == 200 else [error("version.rejected", f"its own version {version} got {status}",
                                                    expected=200, actual=status)]
            conformance.require(ex, profile, extra=probe)
        else:
            conformance.check(ex, other)


@pytest.mark.conformance_areas("model", "error")
def test_unknown_model_gets_404(client: Any, profile: Any, conformance: Any) -> None:
    body = minimal_request(profile, model="claude-does-not-exist-20990101")
    ex = client.send("POST", "/v1/messages", json=body)
    probe = list(rejected_with(ex, rule="model.unknown", status=404, error_type="not_found_error",
                               what="an unknown model"))
    conformance.require(ex, profile, extra=_judge(ex, profile, probe), check_rules=False)


@pytest.mark.conformance_areas("model", "body")
def test_models_list_holds_the_profile_models(client: Any, profile: Any, conformance: Any) -> None:
    ex = client.send("GET", "/v1/models?limit=1000", headers=client.headers())
    conformance.require(ex, profile)
    body = ex.response.json if ex.response is not None else None
    listed = {m.get("id") for m in body.get("data", []) if isinstance(m, dict)} if isinstance(body, dict) else set()
    missing = [m for m in profile.model_ids if m not in listed]
    probe = [error("model.list", f"the models list lacks {', '.join(missing)}", part="response.body",
                   path="$.data", expected=list(profile.model_ids), actual=sorted(str(x) for x in listed))
             ] if missing else []
    conformance.require(ex, profile, extra=probe, check_rules=False)
    one = client.send("GET", f"/v1/models/{profile.model_ids[0]}", headers=client.headers())
    status = one.response.status if one.response is not None else None
    probe = [] if status == 200 else [error("model.list", f"GET /v1/models/{profile.model_ids[0]} got {status}",
                                            expected=200, actual=status)]
    conformance.require(one, profile, extra=probe)
