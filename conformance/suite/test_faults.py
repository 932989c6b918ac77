"""Errors seen under scripted faults: status and type agree, in JSON answers and in-stream error events.

Only a target with the reference server's control API can script faults: the reference server itself, or a
gateway in front of one (``--upstream-control``: the faults are scripted there and judged as the gateway passes
them on). On other targets the errors a run happens to meet are still checked by every other check.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.control import control_headers
from conformance.intent import Intent
from conformance.suite.helpers import minimal_request

pytestmark = [pytest.mark.conformance_areas("fault", "error", "stream"), pytest.mark.conformance_once]

HTTP_FAULTS = [(408, "timeout_error"), (409, "conflict_error"), (429, "rate_limit_error"), (500, "api_error"),
               (529, "overloaded_error")]


def _script(target: Any, steps: list[dict[str, Any]]) -> None:
    control = target.fault_control
    if control is None:
        pytest.skip(f"not exercised: the {target.kind} target has no control API to script faults (a gateway in "
                    "front of `conformance serve`: give that server with --upstream-control)")
    response = httpx.post(f"{control.url}/_conformance/scenarios", headers=control_headers(control.token),
                          json={"key": control.key, "responses": steps}, timeout=10)
    if response.status_code in (401, 403):
        pytest.fail(f"--upstream-control {control.url} refused the control token ({response.status_code}): give "
                    "the token `conformance serve` printed with --upstream-control-token-env", pytrace=False)
    response.raise_for_status()


@pytest.mark.parametrize(("status", "error_type"), HTTP_FAULTS, ids=[str(s) for s, _ in HTTP_FAULTS])
def test_scripted_http_errors_map_status_to_type(conformance_client: Any, conformance_profile: Any,
                                                 conformance_check: Any, conformance_target: Any, status: int,
                                                 error_type: str) -> None:
    if conformance_profile.error_for_type(error_type) is None:
        pytest.skip(f"not exercised: profile {conformance_profile.version} has no {error_type}")
    _script(conformance_target, [{"status": status, "error_type": error_type, "retry_after": 1}])
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile), retry_429=False,
                            intent=Intent("fault", status=status, error_type=error_type))
    conformance_check.verdict()


def test_mid_stream_error_event_ends_the_stream(conformance_client: Any, conformance_profile: Any,
                                                conformance_check: Any, conformance_target: Any) -> None:
    _script(conformance_target, [{"stream_error_after": 3, "error_type": "overloaded_error"}])
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile, stream=True),
                            intent=Intent("stream-fault", error_type="overloaded_error"))
    conformance_check.verdict()


def test_unknown_event_types_are_tolerated(conformance_client: Any, conformance_profile: Any,
                                           conformance_check: Any, conformance_target: Any) -> None:
    _script(conformance_target, [{"unknown_events": True}])
    conformance_client.send("POST", "/v1/messages", json=minimal_request(conformance_profile, stream=True),
                            intent=Intent("valid"))
    conformance_check.verdict()
