"""Run the scenarios against one driver: the reference server in-process, one scenario at a time.

For each scenario the runner resets the test key's state on the server, scripts its faults, hands the
driver the scenario line (with a deadline), reads the server's log of what arrived (arrival times,
headers, bodies, statuses, request ids) and, where a check compares with it, replays the request to get
what the server sends for it (the server is deterministic). The checks then judge the observation; the
request checks judge every request of the run. Nothing here sleeps to measure: times come from the server.

Bounded: each scenario has a deadline (the driver is killed past it), the scripts are finite (once they
run out the server answers 200, so even a client that retries forever stops), and three driver failures
in a row end the run (the rest is not exercised).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from conformance.accumulate import accumulate_message
from conformance.control import control_headers
from conformance.errors import UsageError
from conformance.exchange import parse_events
from conformance.profiles import Profiles, load_profiles
from conformance.sdk import requests as request_checks
from conformance.sdk.driverproc import Answer, DriverProcess, driver_environment
from conformance.sdk.environments import DriverCommand
from conformance.sdk.model import Attempt, CheckInfo, Observation, Outcome, Scenario, Sent, Verdict, not_exercised
from conformance.sdk.protocol import DriverResult, ProtocolError, parse_result, scenario_line
from conformance.sdk.scenarios import AREAS, CHECKS, observation_checks, scenarios, selected
from conformance.server import ServerConfig, running_server
from conformance.server.keys import DEFAULT_KEYS, KeySpec
from conformance.sse import decode_sse

TEST_KEY = "sk-ant-test-sdkdriver01"
"""The key every driver is given (a test key of the embedded server; redacted from everything shown anyway)."""
MAX_DRIVER_FAILURES = 3
"""Driver failures in a row after which the run stops (a driver that hangs would otherwise cost every deadline)."""
RUN_BUDGET = 300.0
"""Seconds a run may take before the scenarios left are not run (a healthy run takes 10-20 s)."""

VIEW_HEADERS = frozenset({"anthropic-version", "anthropic-beta", "x-api-key", "authorization", "content-type",
                          "x-stainless-retry-count"})
"""The request headers a failure's server view shows per attempt."""

Progress = Callable[[Scenario, Observation], None]


@dataclasses.dataclass
class CheckResult:
    info: CheckInfo
    verdict: Verdict
    parts: list[tuple[str, Verdict]] = dataclasses.field(default_factory=list)
    """Each scenario's verdict for this check (one for most checks)."""
    observations: list[Observation] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SdkRun:
    driver: str
    """The driver's label (``python anthropic 2.14.0``, or the --driver command)."""
    api_version: str | None
    checks: list[CheckResult]
    requests: list[request_checks.JudgedRequest]
    sdk: str | None = None
    """``name version`` as the driver reported it."""
    sdk_headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    installed: str | None = None
    problems: list[str] = dataclasses.field(default_factory=list)
    """Driver failures, one line each, naming the scenario."""
    aborted: str | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.checks if c.verdict.outcome is outcome)

    @property
    def answered(self) -> bool:
        """Whether the driver gave at least one valid result."""
        return self.sdk is not None

    @property
    def exit_code(self) -> int:
        """2 when the driver never gave a valid result (nothing was judged); 1 when a check failed; else 0."""
        if not self.answered:
            return 2
        return 1 if self.count(Outcome.FAIL) else 0


def combine(parts: Sequence[tuple[str, Verdict]]) -> Verdict:
    """One verdict from a check's scenarios: the worst outcome, its reason named by scenario when there are several."""
    if len(parts) == 1:
        return parts[0][1]
    order = [Outcome.FAIL, Outcome.DIFFERS, Outcome.PASS, Outcome.NOT_EXERCISED]
    worst = min((v.outcome for _, v in parts), key=order.index)
    chosen = [(s, v) for s, v in parts if v.outcome is worst]
    reason = "; ".join(f"{s}: {v.reason}" if v.reason else s for s, v in chosen)
    idle = [f"{s}: {v.reason}" for s, v in parts if v.outcome is Outcome.NOT_EXERCISED]
    if worst is not Outcome.NOT_EXERCISED and idle:
        reason += f" (not exercised: {'; '.join(idle)})"
    return Verdict(worst, reason)


class _Session:
    """The server side of a run: the control API and the replays, for the one test key."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.control = httpx.Client(base_url=url, headers=control_headers(token), timeout=10)

    def close(self) -> None:
        self.control.close()

    def prepare(self, scenario: Scenario) -> None:
        # Everything, not just the test key: a driver that sends no key, or another one, is logged apart.
        self.control.post("/_conformance/reset", json={}).raise_for_status()
        if scenario.steps:
            self.control.post("/_conformance/scenarios",
                              json={"key": TEST_KEY, "responses": list(scenario.steps)}).raise_for_status()

    def pending(self) -> int:
        """Scripted steps the key still has waiting (appending nothing answers with the count)."""
        answer = self.control.post("/_conformance/scenarios", json={"key": TEST_KEY, "responses": [], "append": True})
        answer.raise_for_status()
        return int(answer.json()["pending"])

    def attempts(self, scenario: Scenario, consumed: int) -> tuple[Attempt, ...]:
        """Every request since :meth:`prepare`, whatever key it sent (the server is the run's own); the first
        ``consumed`` carry the scripted step each used up."""
        data = self.control.get("/_conformance/requests").json()
        entries = sorted((e for by_key in data["requests"].values() for e in by_key), key=lambda e: e["time"])
        steps = [s for s in scenario.steps for _ in range(int(s.get("repeat", 1)))][:consumed]
        return tuple(Attempt.from_log(i, e, steps[i] if i < len(steps) else None) for i, e in enumerate(entries))

    def replay(self, scenario: Scenario, attempt: Attempt) -> Sent | None:
        """What the server sends for ``attempt``'s request, scripted as the scenario was."""
        if not isinstance(attempt.body, dict):
            return None  # too large to have been logged whole
        self.prepare(scenario)
        headers = {"x-api-key": TEST_KEY, "content-type": "application/json"}
        for name in ("anthropic-version", "anthropic-beta"):
            if name in attempt.headers:
                headers[name] = ", ".join(attempt.headers.get_all(name))
        url = self.url + attempt.path + (f"?{attempt.query}" if attempt.query else "")
        answer = httpx.post(url, json=attempt.body, headers=headers, timeout=10)
        if answer.status_code != 200:
            return None
        if attempt.body.get("stream") is not True:
            return Sent(answer.json())
        events = parse_events(decode_sse(answer.content))
        text = "".join(e.payload["delta"].get("text", "") for e in events if e.type == "content_block_delta"
                       and e.payload.get("delta", {}).get("type") == "text_delta")
        return Sent(accumulate_message(events), text, tuple(e.type or "" for e in events))


def _result(answer: Answer, proc: DriverProcess) -> tuple[DriverResult | None, str | None]:
    if answer.line is None:
        return None, answer.problem
    try:
        return parse_result(answer.line), None
    except ProtocolError as exc:
        proc.close()  # its state is unknown: the next scenario gets a fresh process
        return None, str(exc)


def run_scenario(scenario: Scenario, session: _Session, proc: DriverProcess, api_version: str | None,
                 baseline: DriverResult | None = None) -> Observation:
    line = scenario_line(scenario.line(api_version))
    session.prepare(scenario)
    answer = proc.ask(line, scenario.deadline, scenario.observe)
    if answer.gone_before_reading:
        # A driver that answers one scenario and exits: start it again for this one, from a clean slate.
        session.prepare(scenario)
        answer = proc.ask(line, scenario.deadline, scenario.observe)
    result, problem = _result(answer, proc)
    consumed = sum(int(s.get("repeat", 1)) for s in scenario.steps) - session.pending()
    attempts = session.attempts(scenario, consumed)
    sent = None
    if scenario.replay and attempts and result is not None and result.outcome == "ok":
        sent = session.replay(scenario, attempts[-1])
    return Observation(scenario, attempts, result, problem, answer.stopped, sent, consumed, baseline)


def _checks(observations: Sequence[Observation], judged: Sequence[request_checks.JudgedRequest],
            api_version: str | None, select: Sequence[str] | None) -> list[CheckResult]:
    from conformance.engine import selected as matches

    by_check: dict[str, CheckResult] = {}
    for obs in observations:
        for info, verdict in observation_checks(obs):
            found = by_check.setdefault(info.id, CheckResult(info, verdict))
            found.parts.append((obs.scenario.id, verdict))
            found.observations.append(obs)
    for check_id, verdict in request_checks.run_verdicts(judged, api_version).items():
        by_check[check_id] = CheckResult(CheckInfo(check_id, CHECKS[check_id]), verdict, [("every request", verdict)])
    out = []
    for check_id in CHECKS:
        result = by_check.get(check_id)
        if result is None or not matches(check_id, select):
            continue
        result.verdict = combine(result.parts)
        out.append(result)
    return out


def check_options(api_version: str | None, select: Sequence[str] | None, profiles: Profiles | None = None) -> None:
    """A usage or profile error for an unknown ``--api-version`` or a ``--select`` that matches no check."""
    from conformance.engine import selected as matches

    if api_version is not None:
        (profiles or load_profiles()).get(api_version)
    for item in select or ():
        if not any(matches(c, [item]) for c in CHECKS):
            raise UsageError(f"--select {item!r} matches no check; areas: {', '.join(AREAS)} (or a check id such "
                             "as retries.429)")


def run_sdk(driver: DriverCommand, *, api_version: str | None = None, select: Sequence[str] | None = None,
            profiles: Profiles | None = None, progress: Progress | None = None,
            env: Mapping[str, str] | None = None, deadline: float | None = None,
            budget: float = RUN_BUDGET) -> SdkRun:
    """Every selected scenario against ``driver``, judged; the reference server is started and stopped here.

    ``deadline`` caps every scenario's (tests of misbehaving drivers use a short one); past ``budget`` seconds
    the scenarios left are not run.
    """
    profiles = profiles or load_profiles()
    check_options(api_version, select, profiles)
    profile = profiles.get(api_version) if api_version is not None else profiles.default
    chosen = selected(scenarios(profile), select, request_checks.RUN_CHECKS)
    if deadline is not None:
        chosen = [dataclasses.replace(s, deadline=min(s.deadline, deadline)) for s in chosen]
    started = time.monotonic()
    config = ServerConfig(keys={**DEFAULT_KEYS, TEST_KEY: KeySpec("scale")}, profiles=profiles)
    observations: list[Observation] = []
    problems: list[str] = []
    aborted = None
    with running_server(config) as url:
        session = _Session(url, config.control_token)
        proc_env = driver_environment(os.environ if env is None else env,
                                      {**driver.env, "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": TEST_KEY})
        try:
            with DriverProcess(driver, proc_env) as proc:
                failures = 0
                for scenario in chosen:
                    if aborted is not None:
                        observations.append(Observation(scenario, (), None, aborted))
                        continue
                    done = {o.scenario.id: o.result for o in observations}
                    obs = run_scenario(scenario, session, proc, api_version, done.get(scenario.baseline or ""))
                    observations.append(obs)
                    if progress is not None:
                        progress(scenario, obs)
                    if obs.problem is not None:
                        problems.append(f"driver {driver.label!r} on scenario {scenario.id}: {obs.problem}")
                    failures = failures + 1 if obs.result is None and not obs.stopped else 0
                    if failures >= MAX_DRIVER_FAILURES:
                        aborted = f"not run: the driver failed {failures} scenarios in a row"
                    elif time.monotonic() - started > budget:
                        aborted = f"not run: the run's time budget ({budget:g} s) is spent"
        finally:
            session.close()
    attempts = [(o.scenario.id, a) for o in observations for a in o.attempts]
    judged = request_checks.judge_requests(attempts, profiles, url, api_version)
    results = _checks(observations, judged, api_version, select)
    if aborted is not None:
        for c in results:
            if c.observations and all(o.problem == aborted for o in c.observations):
                c.verdict = not_exercised(aborted)
    first = next((o.result for o in observations if o.result is not None), None)
    plain = next((o.attempts[0] for o in observations if o.attempts), None)
    return SdkRun(driver.label, api_version, results, judged,
                  sdk=f"{first.sdk_name} {first.sdk_version}" if first is not None else None,
                  sdk_headers=request_checks.sdk_headers(plain) if plain is not None else [],
                  seconds=time.monotonic() - started, installed=driver.installed, problems=problems,
                  aborted=aborted)


def observation_view(obs: Observation) -> dict[str, Any]:
    """The server's view (each attempt) and the driver's view of one scenario, for a failure's report."""
    start = obs.attempts[0].time if obs.attempts else 0.0
    server = [{"attempt": a.index + 1, "at": round(a.time - start, 3), "status": a.status,
               "request_id": a.request_id, "scripted": a.step, "answer_headers": dict(a.answer_headers),
               "headers": {n.lower(): v for n, v in a.headers if n.lower() in VIEW_HEADERS}}
              for a in obs.attempts]
    driver: dict[str, Any] = {"problem": obs.problem} if obs.problem else {}
    if obs.stopped:
        driver["stopped"] = f"stopped by the runner after {obs.scenario.observe:g} s, as the scenario plans"
    if obs.result is not None:
        driver["result"] = {k: v for k, v in obs.result.raw.items() if k != "response"}
        if obs.result.response is not None:
            driver["result"]["response"] = obs.result.response
    return {"scenario": obs.scenario.id, "server": server, "driver": driver}
