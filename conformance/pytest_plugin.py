"""pytest plugin (registered through the ``pytest11`` entry point): the conformance run.

``conformance run`` is a thin layer over ``pytest --pyargs conformance.suite`` with the options
below; both do the same thing. Options live in one group; the plugin is inert unless
``--conformance-target`` is given, so the project's own tests are unaffected.

Flow: a session fixture starts or connects to the target; each check in ``conformance.suite``
sends requests through a :class:`~conformance.client.TargetClient` (recording or replaying
cassettes when asked), validates every exchange with the rule tables and records what it saw
on the test report; the controller (also under xdist) collects those records and writes
``junit.xml``, ``findings.json`` and ``summary.md`` into the report directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.findings import Finding, Severity

_ACTIVE = pytest.StashKey[bool]()
_RECORDS = pytest.StashKey[list[dict[str, Any]]]()
_COLLECTED = pytest.StashKey[list[dict[str, Any]]]()
_OUTCOMES = pytest.StashKey[dict[str, str]]()
PROPERTY = "conformance"
DEFAULT_EXAMPLES = 20
"""Hypothesis examples per generated check: the default run stays well under a minute on 2 cores."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Claude API conformance run")
    group.addoption("--conformance-target", default=None, metavar="TARGET",
                    help="reference (the embedded reference server), a base URL, or cassettes:DIR (replay)")
    group.addoption("--conformance-api-version", action="append", default=None, metavar="V",
                    help="API version(s) to check (repeatable; default: every version in the table)")
    group.addoption("--conformance-api-key-env", default="ANTHROPIC_API_KEY", metavar="NAME",
                    help="environment variable holding the key for a live target")
    group.addoption("--conformance-record-mode", default=None, choices=("none", "once", "new_episodes", "all"),
                    help="record/replay cassettes with vcrpy in this mode")
    group.addoption("--conformance-cassette-dir", default="cassettes", metavar="DIR")
    group.addoption("--conformance-max-examples", type=int, default=None, metavar="N",
                    help=f"Hypothesis examples per generated check (default {DEFAULT_EXAMPLES})")
    group.addoption("--conformance-max-requests", type=int, default=None, metavar="N",
                    help="hard cap on requests sent (default: 5000 for the reference server, 200 for live)")
    group.addoption("--conformance-max-tokens", type=int, default=None, metavar="N",
                    help="hard cap on tokens spent (default: none for the reference server, 50000 for live)")
    group.addoption("--conformance-report-dir", default="reports", metavar="DIR")
    group.addoption("--conformance-select", action="append", default=None, metavar="RULE_OR_AREA",
                    help="only run checks for these rules or areas, and only report them")
    group.addoption("--conformance-mutant", default=None, metavar="NAME",
                    help="start the reference server as this contract-breaking mutant (suite self-test)")
    group.addoption("--conformance-seed", type=int, default=0, metavar="N", help="reference server seed")


def active(config: pytest.Config) -> bool:
    return bool(config.stash.get(_ACTIVE, False))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_areas(*areas): rule areas a conformance check exercises")
    config.addinivalue_line("markers", "conformance_once: run this check on the first selected API version only")
    is_active = config.getoption("conformance_target", None) is not None
    config.stash[_ACTIVE] = is_active
    config.stash[_COLLECTED] = []
    config.stash[_OUTCOMES] = {}
    if not is_active:
        return
    _check_target(config)
    _import_the_whole_package()
    from hypothesis import HealthCheck, Phase, settings

    examples = config.getoption("conformance_max_examples") or DEFAULT_EXAMPLES
    replay = str(config.getoption("conformance_target")).startswith("cassettes:")
    mutant = config.getoption("conformance_mutant") is not None
    # derandomize: the same run sends the same requests, so cassettes recorded once replay exactly.
    # Replaying does not shrink (the recorded requests are all there is), nor does a mutant self-test
    # (it only asks whether the break is caught, not for the smallest example).
    phases = [p for p in Phase if not ((replay or mutant) and p in (Phase.shrink, Phase.explain))]
    settings.register_profile("conformance", max_examples=examples, derandomize=True, database=None,
                              deadline=None, print_blob=False, phases=phases,
                              suppress_health_check=list(HealthCheck))
    settings.load_profile("conformance")
    report_dir = Path(config.getoption("conformance_report_dir"))
    if not getattr(config.option, "xmlpath", None) and not hasattr(config, "workerinput"):
        report_dir.mkdir(parents=True, exist_ok=True)
        config.option.xmlpath = str(report_dir / "junit.xml")


def _import_the_whole_package() -> None:
    """Import every module of the suite before Hypothesis generates anything.

    Hypothesis mixes literal constants from the modules loaded so far (outside site-packages)
    into what it generates, and looks again whenever more modules are loaded. A module imported
    lazily halfway through a check (the server, vcrpy glue) would change what later examples look
    like, so a replay would send other requests than the recording did.
    """
    import importlib
    import pkgutil

    import conformance

    for module in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if not module.name.endswith("__main__") and ".suite.test_" not in module.name:
            importlib.import_module(module.name)


def _check_target(config: pytest.Config) -> None:
    """Refuse a target that cannot work before any check starts (pytest then exits with a usage error)."""
    spec: str = config.getoption("conformance_target")
    if spec == "reference":
        mutant = config.getoption("conformance_mutant")
        if mutant is not None:
            from conformance.server.config import MUTANTS

            if mutant not in MUTANTS:
                raise pytest.UsageError(f"unknown mutant {mutant!r}; known: {', '.join(MUTANTS) or 'none'}")
        return
    if config.getoption("conformance_mutant") is not None:
        raise pytest.UsageError("--mutant only applies to --target reference")
    if spec.startswith("cassettes:"):
        directory = Path(spec.split(":", 1)[1])
        if not directory.is_dir():
            raise pytest.UsageError(f"--target {spec}: {directory} is not a directory of cassettes")
        return
    if spec.startswith(("http://", "https://")):
        env = config.getoption("conformance_api_key_env")
        if not os.environ.get(env):
            raise pytest.UsageError(f"--target {spec} needs an API key: set the {env} environment variable "
                                    "(or name another with --api-key-env)")
        return
    raise pytest.UsageError(f"unknown target {spec!r}: use reference, a base URL (https://...) or cassettes:DIR")


def _selection(config: pytest.Config) -> list[str]:
    return list(config.getoption("conformance_select") or [])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select = _selection(config)
    if not active(config) or not select:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("conformance_areas")
        areas = list(marker.args) if marker else []
        wanted = any(s.split(".")[0] == a or s == a for s in select for a in areas)
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --- target and clients ------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    kind: str
    """``reference``, ``url`` or ``cassettes``."""
    base_url: str
    api_key: str | None
    keys: dict[str, str]
    """Keys by purpose: ``default``, and on the reference server ``free``, ``forbidden``, ..."""
    deterministic: bool
    control_api: bool
    cassette_dir: Path | None
    record_mode: str | None
    live_clock: bool
    """Headers carry times of this run (False when replaying old recordings)."""
    control_token: str | None = None
    """The embedded reference server's control-API token (send it with ``conformance.control.control_headers``)."""


def _reference_keys() -> dict[str, str]:
    """The reference server's built-in test keys (not secrets) by purpose; ``default`` is the Scale one."""
    from conformance.server.config import TEST_KEYS

    return {"default": TEST_KEYS["scale"], **TEST_KEYS}


@contextlib.contextmanager
def _open_target(config: pytest.Config) -> Iterator[Target]:
    spec: str = config.getoption("conformance_target")
    record_mode = config.getoption("conformance_record_mode")
    cassette_dir = Path(config.getoption("conformance_cassette_dir"))
    if spec == "reference":
        from conformance.server import ServerConfig, running_server

        server_config = ServerConfig(seed=config.getoption("conformance_seed"),
                                     mutant=config.getoption("conformance_mutant"))
        with running_server(server_config) as url:
            keys = _reference_keys()
            yield Target("reference", url, keys["default"], keys, True, True,
                         cassette_dir if record_mode else None, record_mode, True, server_config.control_token)
    elif spec.startswith("cassettes:"):
        directory = Path(spec.split(":", 1)[1])
        if not directory.is_dir():
            raise pytest.UsageError(f"--target {spec}: {directory} is not a directory of cassettes")
        # The control API calls that scripted faults were recorded too, so they replay like the rest.
        # Same (public, test-only) keys as the reference server the shipped cassettes come from.
        keys = _reference_keys()
        yield Target("cassettes", "http://replay.invalid", keys["default"], keys, True,
                     True, directory, "none", False)
    elif spec.startswith(("http://", "https://")):
        key = os.environ[config.getoption("conformance_api_key_env")]  # checked in _check_target
        yield Target("url", spec.rstrip("/"), key, {"default": key}, False, False,
                     cassette_dir if record_mode else None, record_mode, True)
    else:  # pragma: no cover - _check_target refused it at configure time
        raise pytest.UsageError(f"unknown target {spec!r}")


@pytest.fixture(scope="session")
def conformance_target(pytestconfig: pytest.Config) -> Iterator[Target]:
    if not active(pytestconfig):
        pytest.skip("not a conformance run (no --conformance-target)")
    with _open_target(pytestconfig) as target:
        yield target


@pytest.fixture(scope="session")
def conformance_budget(pytestconfig: pytest.Config, conformance_target: Target) -> Any:
    from conformance.client import Budget

    live = conformance_target.kind == "url"
    max_requests = pytestconfig.getoption("conformance_max_requests") or (200 if live else 5000)
    max_tokens = pytestconfig.getoption("conformance_max_tokens") or (50_000 if live else None)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    # Each xdist worker gets its share, so the run as a whole never exceeds the caps.
    return Budget(max(1, max_requests // workers), None if max_tokens is None else max(1, max_tokens // workers))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "api_version" not in metafunc.fixturenames:
        return
    from conformance.profiles import load_profiles

    versions = metafunc.config.getoption("conformance_api_version") or list(load_profiles().versions)
    if metafunc.definition.get_closest_marker("conformance_once") is not None:
        # Checks with shared server-side state (a key's rate-limit bucket) run on one version only.
        versions = versions[:1]
    if "constraint" in metafunc.fixturenames:
        # One check per constraint kind the version's profile has.
        from conformance.profiles import get_profile
        from conformance.strategies.requests import constraints_for

        pairs = [(v, c) for v in versions for c in constraints_for(get_profile(v))]
        metafunc.parametrize(("api_version", "constraint"), pairs, ids=[f"{v}-{c}" for v, c in pairs])
        return
    metafunc.parametrize("api_version", versions)


@pytest.fixture
def profile(api_version: str) -> Any:
    from conformance.profiles import get_profile

    return get_profile(api_version)


@pytest.fixture
def client(request: pytest.FixtureRequest, conformance_target: Target, conformance_budget: Any,
           api_version: str) -> Iterator[Any]:
    """A recording client for this check, inside its cassette when recording or replaying."""
    from conformance.client import Pacer, TargetClient

    pacer = Pacer(enabled=conformance_target.kind == "url")
    client = TargetClient(conformance_target.base_url, conformance_target.api_key, api_version,
                          budget=conformance_budget, pacer=pacer, retry_429=conformance_target.kind == "url")
    client.on_budget_exhausted = pytest.skip  # a check the caps leave no room for is not run, and says so
    client.on_input_error = _fail_without_traceback
    with client, _cassette(request, conformance_target):
        yield client


def _fail_without_traceback(message: str) -> None:
    pytest.fail(message, pytrace=False)


@contextlib.contextmanager
def _cassette(request: pytest.FixtureRequest, target: Target) -> Iterator[None]:
    if target.cassette_dir is None or target.record_mode is None:
        yield
        return
    from conformance.cassettes.recorder import cassette_name, make_vcr

    secrets = [k for k in (*target.keys.values(), target.control_token) if k]
    vcr = make_vcr(target.cassette_dir, target.record_mode, secrets=secrets)
    with vcr.use_cassette(cassette_name(request.node.nodeid)):
        yield


# --- recording what each check saw -------------------------------------------------------------------


class Recorder:
    """Validates exchanges for one check and keeps what it saw for the reports."""

    def __init__(self, item: pytest.Item, select: list[str]) -> None:
        self.item = item
        self.select = select
        self.records = item.stash.setdefault(_RECORDS, [])
        marker = item.get_closest_marker("conformance_areas")
        self.areas = list(marker.args) if marker else []

    def check(self, exchange: Any, profile: Any, *, extra: Any = (), check_rules: bool = True) -> list[Finding]:
        from conformance.engine import check_exchange, selected

        findings = list(check_exchange(exchange, profile)) if check_rules else []
        findings.extend(f.located(None, None) for f in extra)
        findings = [f for f in findings if selected(f.rule, self.select)]
        self.records.append(_record(exchange, profile.version, findings, self.item.nodeid, self.areas))
        return findings

    def require(self, exchange: Any, profile: Any, *, extra: Any = (), check_rules: bool = True) -> list[Finding]:
        """Check, and fail the check (Hypothesis then shrinks) on any error finding."""
        findings = self.check(exchange, profile, extra=extra, check_rules=check_rules)
        errors = [f for f in findings if f.severity >= Severity.ERROR]
        if errors:
            from conformance.reports.markdown import curl_for

            lines = [f"{f.rule} [{f.part} {f.path}{'' if f.event is None else f' event {f.event}'}]: {f.message}"
                     for f in errors]
            pytest.fail("contract violated:\n  " + "\n  ".join(lines) + "\nreproduce:\n" + curl_for(exchange),
                        pytrace=False)
        return findings


def _record(exchange: Any, version: str, findings: list[Finding], nodeid: str, areas: list[str]) -> dict[str, Any]:
    req = exchange.request
    resp = exchange.response
    body: Any = None
    if req is not None and req.body:
        body = req.json if req.json is not None else req.body.decode("utf-8", "replace")
    return {
        "test": nodeid,
        "areas": areas,
        "version": version,
        "method": req.method if req is not None else None,
        "url": req.url if req is not None else None,
        "request_headers": req.headers.to_dict() if req is not None else {},
        "request_body": body,
        "status": resp.status if resp is not None else None,
        "stream": exchange.is_stream,
        "findings": [f.to_json() for f in findings],
    }


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> Recorder:
    return Recorder(request.node, _selection(request.config))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "teardown" and active(item.config):
        # A plain attribute travels with the report to the xdist controller (TestReport keeps extra
        # attributes when serialised) without landing in junit.xml as user_properties would.
        setattr(report, PROPERTY, item.stash.get(_RECORDS, []))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is None or not active(config):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        config.stash[_OUTCOMES][report.nodeid] = report.outcome
    if report.when == "teardown":
        config.stash[_COLLECTED].extend(getattr(report, PROPERTY, None) or [])


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not active(config) or hasattr(config, "workerinput"):
        return
    from conformance.reports.run import write_run_reports

    records: list[dict[str, Any]] = config.stash[_COLLECTED]
    outcomes: dict[str, str] = config.stash[_OUTCOMES]
    write_run_reports(Path(config.getoption("conformance_report_dir")), records, outcomes,
                      target=config.getoption("conformance_target"),
                      mutant=config.getoption("conformance_mutant"))
