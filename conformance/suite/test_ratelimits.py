"""Rate limits: a bounded burst on one key shows remaining falling; past the limit, 429 and retry-after."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import pytest

from conformance.client import retry_after_seconds
from conformance.control import control_headers
from conformance.engine import check_sequence
from conformance.findings import Finding, error
from conformance.rules.probes import burst_shows_falling_remaining, rejected_with
from conformance.suite.helpers import minimal_request

pytestmark = [pytest.mark.conformance_areas("ratelimit", "error"), pytest.mark.conformance_once,
              pytest.mark.xdist_group("ratelimit")]

MAX_BURST = 12
"""Never more requests than this in a burst, whatever the target says its limit is."""
MAX_WAIT = 70.0


def _requests_resource(profile: Any) -> Any:
    for r in profile.rate_limits.resources:
        if r.name == "requests":
            return r
    return profile.rate_limits.resources[0]


def _wait(target: Any, seconds: float) -> None:
    """Let ``seconds`` pass: on the reference server by moving its clock, on a live target for real."""
    if target.control_api:
        # Replaying cassettes, this call replays too (it was recorded with the burst).
        response = httpx.post(f"{target.base_url}/_conformance/clock", json={"advance": seconds},
                              headers=control_headers(target.control_token), timeout=10)
        response.raise_for_status()
    elif target.live_clock:
        time.sleep(seconds)


def test_burst_reaches_the_limit_and_retry_after_is_honoured(client: Any, profile: Any, conformance: Any,
                                                            conformance_target: Any) -> None:
    key = conformance_target.keys.get("free", conformance_target.api_key)
    headers = client.headers(key=key)
    resource = _requests_resource(profile)
    body = minimal_request(profile, max_tokens=1)
    burst: list[Any] = []
    limit: int | None = None
    while len(burst) < MAX_BURST:
        ex = client.send("POST", "/v1/messages", json=body, headers=headers, retry_429=False)
        burst.append(ex)
        conformance.require(ex, profile)
        status = ex.response.status if ex.response is not None else None
        if status == 429:
            break
        raw = ex.response.headers.get(resource.limit) if ex.response is not None else None
        if limit is None and raw is not None and raw.isdigit():
            limit = int(raw)
        if limit is None or limit + 1 > MAX_BURST:
            if len(burst) >= 3:
                break  # the limit is out of reach within the cap: falling remaining is all we can show
    # The cross-response rule (remaining never rises within a window) judges the burst as a sequence.
    probe: list[Finding] = [f for f in check_sequence(burst, profile)]
    probe += list(burst_shows_falling_remaining(
        burst, resource.remaining, resource.reset, now=dt.datetime.now(dt.UTC),
        live_clock=conformance_target.live_clock))
    last = burst[-1]
    if limit is not None and limit + 1 <= MAX_BURST:
        probe += rejected_with(last, rule="ratelimit.limit-enforced", status=429, error_type="rate_limit_error",
                               what=f"request {len(burst)} on a key limited to {limit} per minute")
    conformance.require(last, profile, extra=probe, check_rules=False)
    if last.response is None or last.response.status != 429:
        return
    wait = retry_after_seconds(last.response)
    if wait is None:
        return  # reported by ratelimit.retry-after-missing already
    if wait > MAX_WAIT:
        pytest.skip(f"retry-after {wait:.0f}s is longer than this check waits ({MAX_WAIT:.0f}s)")
    _wait(conformance_target, wait)
    again = client.send("POST", "/v1/messages", json=body, headers=headers, retry_429=False)
    status = again.response.status if again.response is not None else None
    probe = [] if status == 200 else [error("ratelimit.retry-after-honoured",
                                            f"after waiting retry-after ({wait:g}s) the request got {status}",
                                            expected=200, actual=status)]
    conformance.require(again, profile, extra=probe)
