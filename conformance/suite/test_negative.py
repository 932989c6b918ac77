"""Negative checks: a request with one constraint broken gets 400 invalid_request_error, never 2xx or 5xx.

One check per (API version, constraint kind) the profile has — missing required field, wrong type,
out-of-range values, empty messages, a first turn not from the user, an unknown role, tool_choice naming a
missing tool, a tool_result answering no tool_use, the version's own rejections, ... — so every kind is
exercised on every run, not just the ones a random draw happens to reach.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.engine import check_exchange
from conformance.rules.probes import invalid_request_rejected
from conformance.strategies.requests import invalid_requests
from conformance.suite.helpers import without_request_side

pytestmark = pytest.mark.conformance_areas("negative", "request", "error", "body")


@given(data=st.data())
def test_invalid_requests_get_400(client: Any, profile: Any, conformance: Any, constraint: str,
                                  data: st.DataObject) -> None:
    bad = data.draw(invalid_requests(profile, constraints=(constraint,)), label="invalid request")
    ex = client.send("POST", "/v1/messages", json=bad.body)
    # The request is invalid on purpose: judge only the answer.
    findings = without_request_side(check_exchange(ex, profile))
    findings += list(invalid_request_rejected(ex, bad.constraint, bad.path))
    conformance.require(ex, profile, extra=findings, check_rules=False)
