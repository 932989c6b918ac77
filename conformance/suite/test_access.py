"""Auth, versions and models: the gatekeeping answers every client depends on."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.intent import Intent
from conformance.suite.helpers import minimal_request

WRONG_KEY = "sk-ant-api00-" + "wrongkey" * 4  # shaped like a key, valid nowhere


def _unauthenticated(what: str) -> Intent:
    return Intent("expect", rule="auth.rejected", status=401, error_type="authentication_error", what=what)


@pytest.mark.conformance_areas("auth", "error")
def test_missing_key_gets_401(conformance_client: Any, conformance_profile: Any, conformance_check: Any) -> None:
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile),
                            headers=conformance_client.headers(auth=None),
                            intent=_unauthenticated("a request without a key"))
    conformance_check.verdict()


@pytest.mark.conformance_areas("auth", "error")
def test_wrong_key_gets_401(conformance_client: Any, conformance_profile: Any, conformance_check: Any) -> None:
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile),
                            headers=conformance_client.headers(key=WRONG_KEY),
                            intent=_unauthenticated("a request with a wrong key"))
    conformance_check.verdict()


@pytest.mark.conformance_areas("auth")
@pytest.mark.parametrize("style", ["x-api-key", "bearer"])
def test_auth_styles_follow_the_profile(conformance_client: Any, conformance_profile: Any, conformance_check: Any,
                                        style: str) -> None:
    """A valid key works in every auth style the profile lists; a style it does not list gets 401."""
    listed = ("authorization-bearer" if style == "bearer" else style) in conformance_profile.auth_styles
    intent = Intent("expect", rule="auth.accepted", status=200, what=f"a valid key sent as {style}") if listed \
        else _unauthenticated(f"a key sent as {style}, which {conformance_profile.version} does not accept")
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile),
                            headers=conformance_client.headers(auth=style), intent=intent)
    conformance_check.verdict()


@pytest.mark.conformance_areas("version", "error")
@pytest.mark.parametrize("sent", [None, "1999-01-01", "{version}, {version}"],
                         ids=["missing", "unknown", "repeated"])
def test_bad_versions_get_400(conformance_client: Any, conformance_profile: Any, conformance_check: Any,
                              sent: str | None) -> None:
    value = sent.format(version=conformance_profile.version) if sent else None
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile),
                            headers=conformance_client.headers(version=value),
                            intent=Intent("bad-version", detail={"sent": value}))
    conformance_check.verdict()


@pytest.mark.conformance_areas("version")
def test_every_version_in_the_table_is_probed(conformance_client: Any, conformance_profile: Any,
                                              conformance_check: Any) -> None:
    """The support matrix (summary.md) comes from these answers; the profile's own version must work.

    Each answer is judged by the profile of the version it sent.
    """
    from conformance.profiles import load_profiles

    profiles = load_profiles()
    for version in profiles.versions:
        own = version == conformance_profile.version
        intent = Intent("expect", rule="version.rejected", status=200, what=f"its own version {version}") \
            if own else None
        conformance_client.send("POST", "/v1/messages", json=minimal_request(profiles.get(version)),
                                headers=conformance_client.headers(version=version), intent=intent)
    conformance_check.verdict()


@pytest.mark.conformance_areas("model", "error")
def test_unknown_model_gets_404(conformance_client: Any, conformance_profile: Any, conformance_check: Any) -> None:
    body = minimal_request(conformance_profile, model="claude-does-not-exist-20990101")
    unknown = conformance_profile.unknown_model
    conformance_client.send("POST", "/v1/messages", json=body,
                            intent=Intent("expect", rule="model.unknown", status=unknown.status,
                                          error_type=unknown.type, what="an unknown model"))
    conformance_check.verdict()


@pytest.mark.conformance_areas("model", "body")
def test_models_list_holds_the_profile_models(conformance_client: Any, conformance_profile: Any,
                                              conformance_check: Any) -> None:
    first = conformance_profile.model_ids[0]
    conformance_client.send("GET", "/v1/models?limit=1000", headers=conformance_client.headers(),
                            intent=Intent("models-list", detail={"ids": list(conformance_profile.model_ids)}))
    conformance_client.send("GET", f"/v1/models/{first}", headers=conformance_client.headers(),
                            intent=Intent("expect", rule="model.list", status=200, what=f"GET /v1/models/{first}"))
    conformance_check.verdict()


@pytest.mark.conformance_areas("model", "error")
@pytest.mark.parametrize("limit", ["0", "-1", "many", "1001"])
def test_models_list_refuses_a_bad_limit(conformance_client: Any, conformance_check: Any, limit: str) -> None:
    """Type confusion in a query: the list's ``limit`` is a number from 1 to 1000; anything else is a 400."""
    conformance_client.send("GET", f"/v1/models?limit={limit}", headers=conformance_client.headers(),
                            intent=Intent("expect", rule="model.list-query", status=400,
                                          error_type="invalid_request_error", what=f"GET /v1/models?limit={limit}"))
    conformance_check.verdict()
