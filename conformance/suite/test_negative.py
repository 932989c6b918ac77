"""Negative checks: a request with one constraint broken gets 400 invalid_request_error, never 2xx or 5xx.

One check per (API version, constraint kind) the profile has — missing required field, wrong type,
out-of-range values, empty messages, a first turn not from the user (where the version requires it), an
unknown role, tool_choice naming a missing tool, a tool_result answering no tool_use, the version's own
rejections, ... — so every kind is
exercised on every run, not just the ones a random draw happens to reach. The request is invalid on
purpose: its intent says so, and only the answer is judged.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.intent import Intent
from conformance.strategies.invalid import invalid_requests

pytestmark = pytest.mark.conformance_areas("negative", "request", "error", "body")


@given(data=st.data())
def test_invalid_requests_get_400(conformance_client: Any, conformance_profile: Any, conformance_check: Any,
                                  conformance_constraint: str, data: st.DataObject) -> None:
    bad = data.draw(invalid_requests(conformance_profile, constraints=(conformance_constraint,)),
                    label="invalid request")
    # As bytes: a body that is JSON null must still be sent (json=None would mean no body at all).
    conformance_client.send("POST", "/v1/messages", body=orjson.dumps(bad.body),
                            intent=Intent("invalid", detail={"constraint": bad.constraint, "path": bad.path}))
    conformance_check.verdict()
