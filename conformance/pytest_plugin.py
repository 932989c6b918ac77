"""pytest plugin (registered through the ``pytest11`` entry point): the conformance run.

``conformance run`` is a thin layer over ``pytest --pyargs conformance.suite`` with the options
below; both do the same thing.

A guest in every test run: the entry point only adds its options (one ``conformance`` group) and two
namespaced markers. Everything else (fixtures, parametrization, reports) lives on a
:class:`ConformanceRun` object that is registered only when ``--conformance-target`` is given, so a
project that merely has the package installed sees nothing of it.

Flow: a session fixture starts or connects to the target; each check in ``conformance.suite``
sends requests through its ``conformance_client``, each stamped with an :class:`~conformance.intent.Intent`
(what it was sent to provoke), and ends with ``conformance_check.verdict()``, which judges every new
exchange with every rule (the intent rules included) and fails the check once, listing everything.
Workers hand their records to the controller through xdist's ``workeroutput``; the controller writes
``junit.xml``, ``findings.json`` and ``summary.md`` into the report directory.

Replaying ``--target cassettes:DIR`` re-judges what was recorded (the default ``--conformance-replay-mode
rejudge``): no check function runs and nothing is regenerated; each check's recorded exchanges, with their
intents, go through today's rules. ``strict`` regenerates the requests and asks vcrpy for byte-identical
matches instead (the project's own determinism test).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome, Finding, Severity

if TYPE_CHECKING:
    # Imported where used: this module loads into every pytest run of a project that has the package
    # installed, and the client pulls in the whole library (Hypothesis would mix its constants into that
    # project's examples).
    from conformance.client import Timeouts

DEFAULT_EXAMPLES = 20
"""Hypothesis examples per generated check: the default run stays well under a minute on 2 cores."""
LIVE_EXAMPLES = 3
"""Against a live target each example costs requests and tokens: the default suite fits the default caps."""
LIVE_REQUESTS, LIVE_TOKENS = 1000, 100_000
"""The default caps against a live target (the reference server: 5,000 requests, no token cap)."""
REPLAY_MODES = ("rejudge", "strict")
_WORKER_RECORDS = "conformance_records"
_WORKER_ABORTED = "conformance_aborted"
RUN = pytest.StashKey["ConformanceRun"]()
SPENT = pytest.StashKey["Spent"]()
"""Where the active run lives (``config.stash[RUN]``), for the fixtures in :mod:`conformance.run_fixtures`."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Claude API conformance run")
    group.addoption("--conformance-target", default=None, metavar="TARGET",
                    help="reference (the embedded reference server), a base URL, or cassettes:DIR (replay)")
    group.addoption("--conformance-api-version", action="append", default=None, metavar="V",
                    help="API version(s) to check (repeatable; default: every version in the table)")
    group.addoption("--conformance-api-key-env", default="ANTHROPIC_API_KEY", metavar="NAME",
                    help="environment variable holding the key for a live target")
    group.addoption("--conformance-ratelimit-key-env", default=None, metavar="NAME",
                    help="environment variable holding a low-tier key used only by the rate-limit burst (live targets)")
    group.addoption("--conformance-record-mode", default=None, choices=("none", "once", "new_episodes", "all"),
                    help="record/replay cassettes with vcrpy in this mode")
    group.addoption("--conformance-cassette-dir", default="cassettes", metavar="DIR")
    group.addoption("--conformance-replay-mode", default="rejudge", choices=REPLAY_MODES,
                    help="cassettes: targets: rejudge the recorded exchanges (default) or strict "
                         "(regenerate the requests and replay byte-identical matches)")
    group.addoption("--conformance-max-examples", type=int, default=None, metavar="N",
                    help=f"Hypothesis examples per generated check (default {DEFAULT_EXAMPLES})")
    group.addoption("--conformance-max-requests", type=int, default=None, metavar="N",
                    help="hard cap on requests sent (default: 5000 for the reference server, 200 for live)")
    group.addoption("--conformance-max-tokens", type=int, default=None, metavar="N",
                    help="hard cap on tokens spent (default: none for the reference server, 50000 for live)")
    group.addoption("--conformance-report-dir", default="reports", metavar="DIR")
    group.addoption("--conformance-shrink-requests", type=int, default=25, metavar="N",
                    help="against a live target, requests a failing check may spend on a smaller example (default 25; "
                         "negative checks never shrink)")
    group.addoption("--conformance-max-wait", type=float, default=70.0, metavar="SECONDS",
                    help="the longest a check waits for retry-after (longer: not exercised); default 70")
    group.addoption("--conformance-timeout", type=float, default=60.0, metavar="SECONDS",
                    help="wait this long for an answer to start (a plain answer: to arrive whole); default 60")
    group.addoption("--conformance-stream-timeout", type=float, default=30.0, metavar="SECONDS",
                    help="a stream silent this long between events has stalled (stream.stalled); default 30")
    group.addoption("--conformance-select", action="append", default=None, metavar="RULE_OR_AREA",
                    help="only run checks for these rules or areas, and only report them")
    group.addoption("--conformance-party", default="all", choices=("client", "server", "all"),
                    help="whose findings to report and fail on")
    group.addoption("--conformance-mutant", default=None, metavar="NAME",
                    help="start the reference server as this contract-breaking mutant (suite self-test)")
    group.addoption("--conformance-seed", type=int, default=0, metavar="N", help="reference server seed")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_areas(*areas): rule areas a conformance check exercises")
    config.addinivalue_line("markers", "conformance_once: run this check on the first selected API version only")
    if config.getoption("conformance_target", None) is None:
        return  # a guest: nothing of the run exists unless it was asked for
    run = ConformanceRun(config)
    config.stash[RUN] = run
    config.pluginmanager.register(run, "conformance-run")
    from conformance import run_fixtures

    config.pluginmanager.register(run_fixtures, "conformance-run-fixtures")


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


# --- the target --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunTarget:
    """What the run talks to, and what that target can do."""

    kind: str
    """``reference``, ``url`` or ``cassettes``."""
    base_url: str
    api_key: str | None
    keys: dict[str, str]
    """Keys by purpose: ``default``, and on the reference server ``free``, ``forbidden``, ..."""
    deterministic: bool
    """Same request, same answer (the reference server): the streamed and plain answers must be equal."""
    control_api: bool
    """The reference server's ``/_conformance/*`` API is there to script faults and move the clock."""
    cassette_dir: Path | None
    record_mode: str | None
    live_clock: bool
    """Headers carry times of this run (False when replaying old recordings)."""
    control_token: str | None = None
    """The embedded reference server's control-API token (send it with ``conformance.control.control_headers``)."""
    max_wait: float = 70.0
    """The longest a check waits for a target's retry-after (longer: not exercised)."""


def _reference_keys() -> dict[str, str]:
    """The reference server's built-in test keys (not secrets) by purpose; ``default`` is the Scale one."""
    from conformance.server.config import TEST_KEYS

    return {"default": TEST_KEYS["scale"], **TEST_KEYS}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    target: str
    api_versions: list[str] | None
    api_key_env: str
    ratelimit_key_env: str | None
    record_mode: str | None
    cassette_dir: Path
    replay_mode: str
    examples: int | None
    requests: int | None
    tokens: int | None
    report_dir: Path
    select: list[str]
    party: str
    mutant: str | None
    seed: int
    timeouts: Timeouts
    max_wait: float
    shrink_requests: int

    @classmethod
    def of(cls, config: pytest.Config) -> RunOptions:
        from conformance.client import Timeouts

        get = config.getoption
        return cls(str(get("conformance_target")), get("conformance_api_version"), get("conformance_api_key_env"),
                   get("conformance_ratelimit_key_env"), get("conformance_record_mode"),
                   Path(get("conformance_cassette_dir")),
                   get("conformance_replay_mode"), get("conformance_max_examples"),
                   get("conformance_max_requests"), get("conformance_max_tokens"),
                   Path(get("conformance_report_dir")), list(get("conformance_select") or []),
                   get("conformance_party"), get("conformance_mutant"), get("conformance_seed"),
                   Timeouts(get("conformance_timeout"), get("conformance_stream_timeout")),
                   get("conformance_max_wait"), get("conformance_shrink_requests"))

    @property
    def replaying(self) -> bool:
        return self.target.startswith("cassettes:")

    @property
    def max_examples(self) -> int:
        return self.examples or (LIVE_EXAMPLES if self.live else DEFAULT_EXAMPLES)

    @property
    def max_requests(self) -> int:
        return self.requests or (LIVE_REQUESTS if self.live else 5000)

    @property
    def max_tokens(self) -> int | None:
        return self.tokens or (LIVE_TOKENS if self.live else None)

    @property
    def live(self) -> bool:
        """A URL target: every request costs, and the same request need not get the same answer."""
        return self.target.startswith(("http://", "https://"))

    @property
    def rejudging(self) -> bool:
        return self.replaying and self.replay_mode == "rejudge"


def unreachable(url: str, timeout: float = 5.0) -> str | None:
    """Why ``url`` cannot be a target (malformed, or nothing accepts a connection there), or ``None``.

    Only a TCP connection is opened: nothing is sent, so a live target spends nothing on this check.
    """
    import socket

    import httpx

    try:
        parsed = httpx.URL(url)
        host, port = parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"not a URL ({exc})"
    if not host:
        return "not a URL (no host)"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot connect to {host}:{port} ({exc.strerror or exc})"


def _check_target(options: RunOptions) -> None:
    """Refuse a target that cannot work before any check starts (pytest then exits with a usage error)."""
    spec = options.target
    if spec == "reference":
        if options.mutant is not None:
            from conformance.server.config import MUTANTS

            if options.mutant not in MUTANTS:
                raise pytest.UsageError(f"unknown mutant {options.mutant!r}; known: {', '.join(MUTANTS) or 'none'}")
        return
    if options.mutant is not None:
        raise pytest.UsageError("--mutant only applies to --target reference")
    if options.replaying:
        directory = Path(spec.split(":", 1)[1])
        if not directory.is_dir():
            raise pytest.UsageError(f"--target {spec}: {directory} is not a directory of cassettes")
        return
    if spec.startswith(("http://", "https://")):
        if not os.environ.get(options.api_key_env):
            raise pytest.UsageError(f"--target {spec} needs an API key: set the {options.api_key_env} environment "
                                    "variable (or name another with --api-key-env)")
        if options.ratelimit_key_env and not os.environ.get(options.ratelimit_key_env):
            raise pytest.UsageError(f"--ratelimit-key-env {options.ratelimit_key_env}: that environment variable is "
                                    "not set")
        problem = unreachable(spec)
        if problem is not None:
            raise pytest.UsageError(f"--target {spec}: {problem}")
        return
    raise pytest.UsageError(f"unknown target {spec!r}: use reference, a base URL (https://...) or cassettes:DIR")


@contextlib.contextmanager
def open_target(options: RunOptions) -> Iterator[RunTarget]:
    spec = options.target
    recording = options.cassette_dir if options.record_mode else None
    if spec == "reference":
        from conformance.server import ServerConfig, running_server

        server_config = ServerConfig(seed=options.seed, mutant=options.mutant)
        with running_server(server_config) as url:
            keys = _reference_keys()
            yield RunTarget(kind="reference", base_url=url, api_key=keys["default"], keys=keys, deterministic=True,
                            control_api=True, cassette_dir=recording, record_mode=options.record_mode,
                            live_clock=True, control_token=server_config.control_token,
                            max_wait=options.max_wait)
    elif options.replaying:
        # The control API calls that scripted faults were recorded too, so they replay like the rest.
        # Same (public, test-only) keys as the reference server the shipped cassettes come from.
        keys = _reference_keys()
        yield RunTarget(kind="cassettes", base_url="http://replay.invalid", api_key=keys["default"], keys=keys,
                        deterministic=True, control_api=True, cassette_dir=Path(spec.split(":", 1)[1]),
                        record_mode="none", live_clock=False, max_wait=options.max_wait)
    else:
        key = os.environ[options.api_key_env]  # checked in _check_target
        keys = {"default": key}
        if options.ratelimit_key_env:
            keys["free"] = os.environ[options.ratelimit_key_env]  # the burst's key (checked in _check_target)
        yield RunTarget(kind="url", base_url=spec.rstrip("/"), api_key=key, keys=keys,
                        deterministic=False, control_api=False, cassette_dir=recording,
                        record_mode=options.record_mode, live_clock=True, max_wait=options.max_wait)


# --- judging one check --------------------------------------------------------------------------------


def _areas(item: pytest.Item) -> list[str]:
    marker = item.get_closest_marker("conformance_areas")
    return list(marker.args) if marker else []


class CheckJudge:
    """Judges the exchanges one check sent (every rule, intents included) and keeps what it saw for the reports.

    A check calls :meth:`verdict` when it has sent what it meant to (once per Hypothesis example):
    every exchange since the last verdict is judged, recorded, and the check fails once, listing every
    error. Exchanges a check sent but never asked a verdict on (it failed or was skipped half-way) are
    judged and recorded at teardown, without failing it.
    """

    def __init__(self, run: ConformanceRun, item: pytest.Item, profile: Any, target: RunTarget) -> None:
        self.run = run
        self.item = item
        self.profile = profile
        self.target = target
        self.areas = _areas(item)
        from conformance.intent import check_id

        self.check = check_id(item.nodeid)
        self.exchanges: list[Any] = []
        self.client: Any = None
        """The check's client, told when the check fails (it then limits how much shrinking may send)."""
        self._judged = 0
        self._groups = 0

    def new_group(self) -> str:
        """A name tying the exchanges of one request sent several ways (plain, streamed, counted)."""
        self._groups += 1
        return f"g{self._groups}"

    def attach(self, exchanges: list[Any]) -> None:
        """Judge these exchanges (the client's log of what it sent) from now on."""
        self.exchanges = exchanges

    def _judge_new(self) -> list[Finding]:
        from conformance.engine import check_exchange, check_sequence, parties, profile_for, selected
        from conformance.rules.base import Context

        new = self.exchanges[self._judged:]
        if not new:
            return []
        start = self._judged
        self._judged = len(self.exchanges)
        base = Context(self.profile, self.run.profiles, deterministic=self.target.deterministic,
                       live_clock=self.target.live_clock)
        wanted = parties(self.run.options.party)

        def keep(found: Sequence[Finding]) -> list[Finding]:
            return [f for f in found if selected(f.rule, self.run.options.select) and f.party in wanted]

        per_exchange: list[list[Finding]] = []
        for n, ex in enumerate(new, start):
            # Numbered within the check, so sequence findings land on the exchange they are about.
            ex.interaction = n
            profile = profile_for(ex, self.run.profiles, fallback=self.profile)
            per_exchange.append(keep(check_exchange(ex, base.with_profile(profile))))
        for f in keep(check_sequence(new, base)):
            at = f.interaction if f.interaction is not None and start <= f.interaction < start + len(new) \
                else start + len(new) - 1
            per_exchange[at - start].append(f)
        out: list[Finding] = []
        for n, (ex, found) in enumerate(zip(new, per_exchange, strict=True), start):
            located = [f.located(self.check, n) for f in found]
            version = profile_for(ex, self.run.profiles, fallback=self.profile).version
            self.run.records.append(_record(ex, version, located, self.check, self.areas))
            out.extend(located)
        return out

    def verdict(self) -> list[Finding]:
        """Judge what was sent since the last verdict; fail the check (Hypothesis then shrinks) on any error."""
        findings = self._judge_new()
        errors = [f for f in findings if f.severity >= Severity.ERROR]
        if errors and self.client is not None:
            self.client.failed(minimal=all(f.part == "response.headers" for f in errors))
            if self.run.options.live:
                # Read by Hypothesis when it starts shrinking this failure (it documents it as the knob).
                from hypothesis.internal.conjecture import engine

                engine.MAX_SHRINKING_SECONDS = self.client.shrink_seconds()
        if errors:
            from conformance.reports.markdown import curl_for

            first = next((ex for ex in self.exchanges if ex.interaction == errors[0].interaction), None)
            lines = [f"{f.rule} [#{f.interaction} {f.part} {f.path}{'' if f.event is None else f' event {f.event}'}]"
                     f": {f.message}" for f in errors]
            reproduce = "\nreproduce:\n" + curl_for(first) if first is not None else ""
            text = "contract violated:\n  " + "\n  ".join(lines) + reproduce
            # The message lands in the terminal and in junit.xml: every form of the run's keys goes first.
            pytest.fail(self.run.redactor.text(text), pytrace=False)
        return findings

    def close(self) -> None:
        self._judge_new()


def _record(exchange: Any, version: str, findings: list[Finding], nodeid: str, areas: list[str]) -> dict[str, Any]:
    """What the reports keep of one exchange: the exchange log's fields (bounded; redacted when written)."""
    from hypothesis import Phase, currently_in_test_context, settings

    from conformance.exchange_log import exchange_fields

    intent = exchange.intent
    return {
        "test": nodeid,
        "areas": areas,
        "version": version,
        **exchange_fields(exchange),
        "intent": intent.to_json() if intent is not None else None,
        "findings": [f.to_json() for f in findings],
        # Hypothesis replays the minimal failing example last, but only when it was allowed to shrink
        # (not for a mutant or a replay) and only inside a generated check (not at teardown).
        "shrinking": currently_in_test_context() and Phase.shrink in settings().phases,
    }


# --- the run ---------------------------------------------------------------------------------------------


class ConformanceRun:
    """The conformance run's pytest plugin object: options, target, fixtures and collected results."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options = RunOptions.of(config)
        _check_target(self.options)
        _import_the_whole_package()
        from conformance.profiles import load_profiles

        self.profiles = load_profiles()
        self.records: list[dict[str, Any]] = []
        self.outcomes: dict[str, CheckOutcome] = {}
        from conformance.cassettes.redact import redactor, secrets_from_env

        names = [n for n in (self.options.api_key_env, self.options.ratelimit_key_env) if n]
        self.redactor = redactor(secrets_from_env(os.environ, names))
        """Everything the run writes or prints passes through it (the keys it was given, in every form)."""
        self.spent = Spent()
        self.checks_total: int | None = None
        self.checks_done = 0
        self._progress_at = 0.0
        from conformance.client import TargetHealth

        self.health = TargetHealth()
        """Transport failures against the target, shared by every check of this process."""
        self.aborted: str | None = None
        self._recording: Any = None
        self._configure_hypothesis()
        self.worker = hasattr(config, "workerinput")
        if not getattr(config.option, "xmlpath", None) and not self.worker:
            self.options.report_dir.mkdir(parents=True, exist_ok=True)
            config.option.xmlpath = str(self.options.report_dir / "junit.xml")

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
        if self.options.live:
            _no_shrinking_for_negative_checks(items)
        select = self.options.select
        if not select:
            return
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            areas = _areas(item)
            wanted = any(s.split(".")[0] == a or s == a for s in select for a in areas)
            (keep if wanted else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
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
        write_run_reports(options.report_dir, self.records, self.outcomes, target=options.target,
                          mutant=options.mutant, select=options.select, party=options.party,
                          api_versions=options.api_versions or list(self.profiles.versions), secrets=secrets,
                          aborted=aborted,
                          spent={**self.spent.to_json(), "max_requests": options.max_requests,
                                 "max_tokens": options.max_tokens} if options.live else None)


def _no_shrinking_for_negative_checks(items: list[pytest.Item]) -> None:
    """Against a live target a negative check's first failure is its verdict: its request breaks one
    constraint by construction, so shrinking it would only spend requests (or, once the allowance is
    spent, time generating candidates that are never sent)."""
    from hypothesis import Phase, settings

    done: set[int] = set()
    for item in items:
        test = getattr(item, "obj", None)
        if id(test) in done or "negative" not in _areas(item) or not getattr(test, "is_hypothesis_test", False):
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
