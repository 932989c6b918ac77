"""Errors seen under scripted faults: status and type agree, in JSON answers and in-stream error events.

Only a target with the reference server's control API can script faults; on other targets the errors a
run happens to meet are still checked by every other check (each exchange goes through the rules).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.control import control_headers
from conformance.findings import error
from conformance.suite.helpers import minimal_request

pytestmark = [pytest.mark.conformance_areas("error", "stream", "fault"), pytest.mark.conformance_once]

HTTP_FAULTS = [(408, "timeout_error"), (409, "conflict_error"), (429, "rate_limit_error"), (500, "api_error"),
               (529, "overloaded_error")]


def _script(target: Any, steps: list[dict[str, Any]]) -> None:
    if not target.control_api:
        pytest.skip(f"the {target.kind} target has no control API to script faults")
    response = httpx.post(f"{target.base_url}/_conformance/scenarios", headers=control_headers(target.control_token),
                          json={"key": target.api_key, "responses": steps}, timeout=10)
    response.raise_for_status()


@pytest.mark.parametrize(("status", "error_type"), HTTP_FAULTS, ids=[str(s) for s, _ in HTTP_FAULTS])
def test_scripted_http_errors_map_status_to_type(client: Any, profile: Any, conformance: Any,
                                                 conformance_target: Any, status: int, error_type: str) -> None:
    if profile.error_for_type(error_type) is None:
        pytest.skip(f"profile {profile.version} has no {error_type}")
    _script(conformance_target, [{"status": status, "error_type": error_type, "retry_after": 1}])
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile), retry_429=False)
    got = ex.response.status if ex.response is not None else None
    probe = [] if got == status else [error("fault.error-mapping", f"scripted {status} arrived as {got}",
                                            expected=status, actual=got)]
    conformance.require(ex, profile, extra=probe)


def test_mid_stream_error_event_ends_the_stream(client: Any, profile: Any, conformance: Any,
                                                conformance_target: Any) -> None:
    _script(conformance_target, [{"stream_error_after": 3, "error_type": "overloaded_error"}])
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile, stream=True))
    types = [e.type for e in ex.events or []]
    probe = [] if types and types[-1] == "error" else [
        error("fault.error-mapping", "a scripted mid-stream overloaded_error did not arrive as the last event",
              part="stream", expected="error", actual=types[-1:] or None)]
    conformance.require(ex, profile, extra=probe)


def test_unknown_event_types_are_tolerated(client: Any, profile: Any, conformance: Any,
                                           conformance_target: Any) -> None:
    _script(conformance_target, [{"unknown_events": True}])
    ex = client.send("POST", "/v1/messages", json=minimal_request(profile, stream=True))
    conformance.require(ex, profile)
