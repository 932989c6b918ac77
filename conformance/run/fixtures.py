"""The fixtures of a conformance run, registered with pytest only while a run is active.

They read the run (options, profiles, collected records) from ``config.stash``; see
:mod:`conformance.run.plugin`. Every name is namespaced ``conformance_*``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.run.judge import CheckJudge
from conformance.run.plugin import RUN, SPENT, ConformanceRun, Spent
from conformance.run.target import RunTarget, open_target


def _run(request: pytest.FixtureRequest) -> ConformanceRun:
    return request.config.stash[RUN]


@pytest.fixture(scope="session")
def conformance_target(request: pytest.FixtureRequest) -> Iterator[RunTarget]:
    """What the run talks to (started here for the reference server, stopped at the end of the session)."""
    with open_target(_run(request).options) as target:
        yield target


@pytest.fixture(scope="session")
def conformance_budget(request: pytest.FixtureRequest, conformance_target: RunTarget) -> Any:
    """The hard caps on requests and tokens, shared by every check of this worker."""
    from conformance.client import Budget

    options = _run(request).options
    max_requests, max_tokens = options.max_requests, options.max_tokens
    # xdist tells its workers how many they are; the environment may hold an outer run's count.
    workerinput = getattr(request.config, "workerinput", None)
    workers = int(workerinput.get("workercount", 1)) if isinstance(workerinput, dict) else 1
    # Each xdist worker gets its share, so the run as a whole never exceeds the caps.
    return Budget(max(1, max_requests // workers), None if max_tokens is None else max(1, max_tokens // workers))


@pytest.fixture
def conformance_profile(request: pytest.FixtureRequest, conformance_api_version: str) -> Any:
    return _run(request).profiles.get(conformance_api_version)


@pytest.fixture
def conformance_client(request: pytest.FixtureRequest, conformance_target: RunTarget, conformance_budget: Any,
                       conformance_api_version: str) -> Iterator[Any]:
    """A recording client for this check, inside its cassette when recording or strictly replaying."""
    from conformance import __version__
    from conformance.client import Pacer, TargetClient, TransientRetry
    from conformance.intent import RecordingMeta, check_id

    run = _run(request)
    live = conformance_target.kind == "url"
    meta = RecordingMeta(None, check=check_id(request.node.nodeid), api_version=conformance_api_version,
                         suite_version=__version__, deterministic=conformance_target.deterministic)
    profile = run.profiles.get(conformance_api_version)
    # A live target's valid requests are retried as an SDK would when the answer never arrived: a verdict
    # on a passing overload would say nothing about the target's conformance.
    retry = TransientRetry(max_retries=profile.retry.max_retries, initial_delay=profile.retry.initial_delay_s,
                           max_delay=profile.retry.max_delay_s, statuses=profile.retry.statuses,
                           throttle=run.retry_throttle) if live else None
    client = TargetClient(conformance_target.base_url, conformance_target.api_key, conformance_api_version,
                          budget=conformance_budget, pacer=Pacer(enabled=live), retry_429=live, meta=meta,
                          timeouts=run.options.timeouts, transient_retry=retry, health=run.health)
    client.on_budget_exhausted = _not_exercised  # a check the caps leave no room for is not run, and says so
    client.on_target_down = _not_exercised
    client.on_input_error = _fail_without_traceback
    before = (conformance_budget.requests, conformance_budget.tokens)
    try:
        with client, _run(request).cassette(request, conformance_target, client):
            yield client
    finally:
        request.node.stash[SPENT] = Spent(conformance_budget.requests - before[0],
                                          conformance_budget.tokens - before[1], client.pacer.waited)


@pytest.fixture
def conformance_check(request: pytest.FixtureRequest, conformance_profile: Any, conformance_target: RunTarget,
                      conformance_client: Any) -> Iterator[CheckJudge]:
    """The check's judge: ``verdict()`` judges what the client sent since the last verdict."""
    run = _run(request)
    judge = CheckJudge(run, request.node, conformance_profile, conformance_target)
    failed = run.failed_areas.get(judge.areas[0]) if judge.areas and run.options.first_failure_per_rule else None
    if failed is not None:
        pytest.skip(f"not exercised: {judge.areas[0]} already failed in {failed} (--first-failure-per-rule)")
    judge.attach(conformance_client.sent)
    judge.client = conformance_client
    if not conformance_target.deterministic:
        # A live target: shrinking costs requests. A negative check's request breaks one constraint by
        # construction, so its first failure is already minimal: it does not shrink at all.
        conformance_client.shrink_allowance = 0 if "negative" in judge.areas else run.options.shrink_requests
    try:
        yield judge
    finally:
        judge.close()


def _not_exercised(message: str) -> None:
    pytest.skip(f"not exercised: {message}")


def _fail_without_traceback(message: str) -> None:
    pytest.fail(message, pytrace=False)
