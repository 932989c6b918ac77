"""The conformance run as a pytest plugin object: collection, results, what a live target costs, reports.

Registered by :mod:`conformance.pytest_plugin` only when ``--conformance-target`` is given, with the
fixtures of :mod:`conformance.run.fixtures`. Workers hand their records to the controller through xdist's
``workeroutput``; the controller writes the reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.client import RetryThrottle, TargetHealth
from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome
from conformance.run.judge import CheckJudge, areas_of
from conformance.run.target import RunOptions, RunTarget, check_target

_WORKER_RECORDS = "conformance_records"
_WORKER_ABORTED = "conformance_aborted"
RUN = pytest.StashKey["ConformanceRun"]()
"""Where the active run lives (``config.stash[RUN]``), for the fixtures in :mod:`conformance.run.fixtures`."""
SPENT = pytest.StashKey["Spent"]()


@dataclasses.dataclass
class Spent:
    """What checks cost the target: requests, tokens, and seconds waited for its rate limits."""

    requests: int = 0
    tokens: int = 0
    waited: float = 0.0

    def add(self, other: Spent) -> None:
        self.requests += other.requests
        self.tokens += other.tokens
        self.waited += other.waited

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "tokens": self.tokens, "waited_s": round(self.waited, 1)}


class ConformanceRun:
    """The conformance run's pytest plugin object: options, target, fixtures and collected results."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options = RunOptions.of(config)
        check_target(self.options)
        _import_the_whole_package()
        from conformance.profiles import load_profiles

        self.profiles = load_profiles()
        self.records: list[dict[str, Any]] = []
        self.outcomes: dict[str, CheckOutcome] = {}
        from conformance.cassettes.redact import redactor, secrets_from_env

        names = [n for n in (self.options.api_key_env, self.options.ratelimit_key_env, self.options.upstream_key_env,
                             self.options.upstream_control_token_env) if n]
        self.redactor = redactor(secrets_from_env(os.environ, names))
        """Everything the run writes or prints passes through it (the keys it was given, in every form)."""
        self.failed_areas: dict[str, str] = {}
        """Primary area -> the first check of it that failed (--first-failure-per-rule; per process)."""
        self.spent = Spent()
        self.checks_total: int | None = None
        self.checks_done = 0
        self._progress_at = 0.0
        self.health = TargetHealth()
        """Transport failures against the target, shared by every check of this process."""
        self.retry_throttle = RetryThrottle()
        """The retry budget of valid requests whose answer never arrived, shared by every check of this process."""
        self.aborted: str | None = None
        self._recording: Any = None
        self.baseline = self._baseline()
        """Known deviations (``--conformance-baseline``): every process judges its checks' findings against them."""
        import datetime as dt

        self.today = dt.date.today()
        self.reconciled: Any = None
        """The baseline's outcome once the run ends (controller only), for the terminal summary."""
        self._baseline_lines: list[str] = []
        self._configure_hypothesis()
        self.worker = hasattr(config, "workerinput")
        if not getattr(config.option, "xmlpath", None) and not self.worker:
            self.options.report_dir.mkdir(parents=True, exist_ok=True)
            config.option.xmlpath = str(self.options.report_dir / "junit.xml")

    def _baseline(self) -> Any:
        from conformance.baseline import load
        from conformance.errors import InputError

        options = self.options
        if options.compare_versions and len(options.api_versions or []) != 2:
            raise pytest.UsageError("--compare-versions compares two API versions: give exactly two --api-version")
        if options.baseline_update and options.baseline is None:
            raise pytest.UsageError("--baseline-update needs --baseline FILE (the file to write)")
        if options.baseline is None:
            return None
        try:
            return load(options.baseline, "run", missing_ok=options.baseline_update)
        except InputError as exc:
            raise pytest.UsageError(str(exc)) from None

    def baseline_statuses(self, record: dict[str, Any]) -> list[str | None]:
        """Each finding's status against the baseline (``None`` without one), marked in ``record`` too."""
        if self.baseline is None:
            return [None] * len(record["findings"])
        from conformance.run.baselines import mark

        return mark(self.baseline, record, self.today)

    def _configure_hypothesis(self) -> None:
        from hypothesis import HealthCheck, Phase, settings

        # derandomize: the same run sends the same requests. A strict replay does not shrink (the
        # recorded requests are all there is), nor does a mutant self-test (it only asks whether the
        # break is caught, not for the smallest example).
        no_shrink = self.options.replaying or self.options.mutant is not None or \
            (self.options.live and self.options.shrink_requests <= 0)
        phases = [p for p in Phase if not (no_shrink and p in (Phase.shrink, Phase.explain))]

        settings.register_profile("conformance", max_examples=self.options.max_examples, derandomize=True,
                                  database=None, deadline=None, print_blob=False, phases=phases,
                                  suppress_health_check=list(HealthCheck))
        settings.load_profile("conformance")

    # -- collection --------------------------------------------------------------------------------

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not self.options.compare_versions:
            _leave_out(config, items, [i for i in items if i.get_closest_marker("conformance_compare_versions")])
        if self.options.live:
            _no_shrinking_for_negative_checks(items)
        select, ignore = self.options.select, self.options.ignore
        if not select and not ignore:
            return
        drop: list[pytest.Item] = []
        for item in items:
            areas = areas_of(item)
            wanted = not select or any(s.split(".")[0] == a or s == a for s in select for a in areas)
            if ignore and areas and all(a in ignore for a in areas):
                wanted = False  # every area it exercises is left out
            if not wanted:
                drop.append(item)
        _leave_out(config, items, drop)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "conformance_other_version" in metafunc.fixturenames:
            self._version_pairs(metafunc)
            return
        if "conformance_api_version" not in metafunc.fixturenames:
            return
        versions = self.options.api_versions or list(self.profiles.versions)
        if metafunc.definition.get_closest_marker("conformance_once") is not None:
            # Checks with shared server-side state (a key's rate-limit bucket) run on one version only.
            versions = versions[:1]
        if "conformance_constraint" in metafunc.fixturenames:
            # One check per constraint kind the version's profile has.
            from conformance.strategies.invalid import constraints_for

            pairs = [(v, c) for v in versions for c in constraints_for(self.profiles.get(v))]
            metafunc.parametrize(("conformance_api_version", "conformance_constraint"), pairs,
                                 ids=[f"{v}-{c}" for v, c in pairs])
            return
        metafunc.parametrize("conformance_api_version", versions)

    def _version_pairs(self, metafunc: pytest.Metafunc) -> None:
        """A check of two versions (``--compare-versions``): the first is its ``conformance_api_version`` (client,
        profile), the second ``conformance_other_version``; per constraint only one of the two has, if it asks."""
        versions = self.options.api_versions or []
        pairs = [(versions[0], versions[1])] if self.options.compare_versions and len(versions) == 2 else []
        names: tuple[str, ...] = ("conformance_api_version", "conformance_other_version")
        if "conformance_constraint" in metafunc.fixturenames:
            from conformance.strategies.invalid import constraints_for

            names += ("conformance_constraint",)
            cases: list[Any] = []
            for a, b in pairs:
                only = sorted(set(constraints_for(self.profiles.get(a))) ^ set(constraints_for(self.profiles.get(b))))
                cases += [(a, b, c) for c in only] or [pytest.param(a, b, "none", marks=pytest.mark.skip(
                    reason=f"not exercised: every constraint kind of {a} is one of {b} too"))]
        else:
            cases = list(pairs)
        ids = []
        for case in cases:
            values = tuple(getattr(case, "values", case))  # a pytest.param keeps them in .values
            ids.append("-".join((values[0], "vs", *values[1:])))
        metafunc.parametrize(names, cases, ids=ids)

    def cassette(self, request: pytest.FixtureRequest, target: RunTarget, client: Any) -> Any:
        if target.cassette_dir is None or target.record_mode is None or self.options.rejudging:
            return contextlib.nullcontext()
        from conformance.cassettes.recorder import cassette_name, make_vcr
        from conformance.intent import check_id

        secrets = [k for k in (*target.keys.values(), target.control_token) if k]
        vcr = make_vcr(target.cassette_dir, target.record_mode, secrets=secrets, annotate=client.recording_meta)
        return vcr.use_cassette(cassette_name(check_id(request.node.nodeid)))

    # -- re-judging a recording ---------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        if not self.options.rejudging:
            return None
        from conformance.replay import recording_of

        recording = recording_of(Path(self.options.target.split(":", 1)[1]))
        exchanges = recording.exchanges_of(pyfuncitem.nodeid)
        if not exchanges:
            pytest.skip(f"not exercised: not in the recording ({recording.describe()})")
        version = pyfuncitem.funcargs.get("conformance_api_version")
        profile = self.profiles.get(version) if isinstance(version, str) else self.profiles.default
        target = pyfuncitem.funcargs.get("conformance_target")
        if not isinstance(target, RunTarget):
            raise pytest.UsageError(f"{pyfuncitem.nodeid} does not use the conformance_target fixture")
        # Judged as the recording says its target was (the reference server repeats itself; a URL may not).
        traits = dataclasses.replace(target, deterministic=recording.deterministic(pyfuncitem.nodeid))
        judge = CheckJudge(self, pyfuncitem, profile, traits)
        judge.attach(exchanges)
        judge.verdict()
        return True

    # -- results ---------------------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            from conformance.intent import check_id

            self.outcomes[check_id(report.nodeid)] = _outcome(check_id(report.nodeid), report)
        if report.when == "teardown" and not self.worker:
            spent = getattr(report, "conformance_spent", None)
            if isinstance(spent, dict):
                self.spent.add(Spent(**spent))
            self.checks_done += 1
            self._progress()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
        spent = item.stash.get(SPENT, None)
        if report.when == "teardown" and spent is not None:
            # A plain attribute travels with the report to the xdist controller.
            report.conformance_spent = dataclasses.asdict(spent)  # type: ignore[attr-defined]

    # -- what the run will cost, and what it costs as it goes (live targets) ---------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.worker:
            self._announce([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if self.checks_total is None:
            self._announce(ids)

    def _announce(self, nodeids: list[str]) -> None:
        """Before anything is sent to a live target: what the selected checks may cost, against the caps."""
        from conformance.suite.costs import estimate

        self.checks_total = len(nodeids)
        if not self.options.live or not nodeids:
            return
        versions = len(self.options.api_versions or self.profiles.versions)
        need = estimate(nodeids, examples=self.options.max_examples, versions=versions)
        caps, tokens = self.options.max_requests, self.options.max_tokens
        self._say(f"conformance: {need.checks} checks may send up to {need.requests} requests and bill up to "
                  f"{need.tokens:,} tokens (caps: {caps} requests, "
                  f"{'no' if tokens is None else f'{tokens:,}'} tokens; {self.options.max_examples} examples "
                  "per generated check)")
        if need.requests > caps or (tokens is not None and need.tokens > tokens):
            self._say("conformance: the caps may leave some checks unexercised (they are reported as such): raise "
                      "--max-requests / --max-tokens or lower --max-examples")

    def _progress(self) -> None:
        if not self.options.live:
            return
        import time

        now = time.monotonic()
        done, total = self.checks_done, self.checks_total or self.checks_done
        if now - self._progress_at < 10 and done != total:
            return
        self._progress_at = now
        tokens = self.options.max_tokens
        self._say(f"conformance: {done}/{total} checks; spent {self.spent.requests} of "
                  f"{self.options.max_requests} requests, {self.spent.tokens:,} of "
                  f"{'unlimited' if tokens is None else f'{tokens:,}'} tokens; waited {self.spent.waited:.1f} s "
                  "for rate limits")

    def _say(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()  # not glued to a line of pytest's progress dots
            reporter.write_line(line)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: a worker finished; take its records."""
        output = getattr(node, "workeroutput", None) or {}
        self.records.extend(json.loads(output.get(_WORKER_RECORDS) or "[]"))
        self.aborted = self.aborted or output.get(_WORKER_ABORTED)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.worker:
            output = self.config.workeroutput  # type: ignore[attr-defined]
            output[_WORKER_RECORDS] = json.dumps(self.records, default=str)
            output[_WORKER_ABORTED] = self.health.down
            return
        from conformance.cassettes.redact import secrets_from_env
        from conformance.reports.run import write_run_reports

        options = self.options
        aborted = self.aborted or self.health.down
        secrets = secrets_from_env(os.environ, [n for n in (options.api_key_env, options.ratelimit_key_env) if n])
        if self.baseline is not None:
            from conformance.errors import InputError

            try:
                self.reconciled = self._reconcile()
            except InputError as exc:  # the refreshed baseline could not be written: said, and the run could not
                self._baseline_lines.append(f"conformance: error: {exc}")
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
        write_run_reports(options.report_dir, self.records, self.outcomes, baseline=self.reconciled,
                          target=options.target, key_env=options.api_key_env,
                          mutant=options.mutant, select=options.select, party=options.party,
                          api_versions=options.api_versions or list(self.profiles.versions), secrets=secrets,
                          aborted=aborted,
                          spent={**self.spent.to_json(), "max_requests": options.max_requests,
                                 "max_tokens": options.max_tokens} if options.live else None)


    def _reconcile(self) -> Any:
        from conformance.baseline import save, update_line, updated
        from conformance.reports.baseline import terminal_lines
        from conformance.run.baselines import observed, reconcile_run

        options = self.options
        reconciled = reconcile_run(self.baseline, self.records, self.outcomes, self.today, select=options.select,
                                   ignore=options.ignore, party=options.party)
        self._baseline_lines += terminal_lines(reconciled)
        if options.baseline_update and options.baseline is not None:
            new = updated(self.baseline, reconciled, observed(self.records))
            save(options.baseline, new)
            self._baseline_lines.append(update_line(self.baseline, new))
        return reconciled

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if terminalreporter.stats.get("deselected"):
            # pytest says "N deselected"; what they were:
            left = ["the version-pair checks (only with --compare-versions)"] if not self.options.compare_versions \
                else []
            if self.options.select or self.options.ignore:
                left.insert(0, "the checks outside --select / --ignore")
            terminalreporter.write_line("conformance: deselected: " + " and ".join(left))
        for line in self._baseline_lines:
            terminalreporter.write_line(line)


def _leave_out(config: pytest.Config, items: list[pytest.Item], drop: list[pytest.Item]) -> None:
    if drop:
        config.hook.pytest_deselected(items=drop)
        gone = {id(i) for i in drop}
        items[:] = [i for i in items if id(i) not in gone]


def _no_shrinking_for_negative_checks(items: list[pytest.Item]) -> None:
    """Against a live target a negative check's first failure is its verdict: its request breaks one
    constraint by construction, so shrinking it would only spend requests (or, once the allowance is
    spent, time generating candidates that are never sent)."""
    from hypothesis import Phase, settings

    done: set[int] = set()
    for item in items:
        test = getattr(item, "obj", None)
        if id(test) in done or "negative" not in areas_of(item) or not getattr(test, "is_hypothesis_test", False):
            continue
        done.add(id(test))  # the parametrized checks of one function share it
        current = getattr(test, "_hypothesis_internal_use_settings", None) or settings()
        phases = tuple(p for p in current.phases if p not in (Phase.shrink, Phase.explain))
        settings(current, phases=phases)(test)


def _outcome(check: str, report: pytest.TestReport) -> CheckOutcome:
    """A check's outcome; a skipped check did not exercise its property, and says why."""
    if report.skipped:
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ").removeprefix("not exercised: ").strip()
        return CheckOutcome(check, NOT_EXERCISED, reason)
    if report.failed:
        text = report.longreprtext.strip().splitlines()
        return CheckOutcome(check, FAILED, text[0][:300] if text else None)
    return CheckOutcome(check, PASSED)


def _import_the_whole_package() -> None:
    """Import every module of the suite before Hypothesis generates anything.

    Hypothesis mixes literal constants from the modules loaded so far (outside site-packages)
    into what it generates, and looks again whenever more modules are loaded. A module imported
    lazily halfway through a check (the server, vcrpy glue) would change what later examples look
    like, so a strict replay would send other requests than the recording did.
    """
    import importlib
    import pkgutil

    import conformance

    for module in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if not module.name.endswith("__main__") and ".suite.test_" not in module.name:
            importlib.import_module(module.name)
