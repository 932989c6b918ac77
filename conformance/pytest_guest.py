"""The pytest plugin's guest half (``pytest11`` entry point ``conformance_guest``): validation inside other
projects' test suites. Inert unless a test asks for it.

- ``conformance_validator``: a fixture that hands out validating transports (:mod:`conformance.transports`) and
  httpx clients; after the test body, every error finding of the exchanges they saw fails the test, printed as
  ``conformance lint`` prints them. ``@pytest.mark.conformance_validator(api_version=..., party=...)`` sets how
  they are judged.
- ``--conformance-cassettes``: every vcrpy cassette the run used (directly, or through pytest-recording /
  pytest-vcr, which use vcrpy) is linted at the end of the session; an error finding fails the session.

Nothing else: no fixture, hook effect or parametrization leaks into a project that asks for neither (see
``tests/test_guest.py``). The conformance run itself is :mod:`conformance.pytest_plugin`'s, registered only
with ``--conformance-target``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_CASSETTES = pytest.StashKey["CassetteLint"]()
_WORKER_CASSETTES = "conformance_cassettes"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Claude API conformance run")
    group.addoption("--conformance-cassettes", action="store_true", default=False,
                    help="lint every vcrpy / pytest-recording cassette the run used, at the end of the session "
                         "(an error finding fails the run)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_validator(api_version=None, party='all'): how the "
                                       "conformance_validator fixture judges this test's exchanges")
    if config.getoption("conformance_cassettes", False):
        lint = CassetteLint(config)
        config.stash[_CASSETTES] = lint
        config.pluginmanager.register(lint, "conformance-cassettes")


class Validator:
    """What ``conformance_validator`` yields: transports and clients whose exchanges the test is judged by."""

    def __init__(self, name: str, api_version: str | None = None, party: str = "all") -> None:
        self.name = name
        self.api_version = api_version
        self.party = party
        self._transports: list[Any] = []
        self._judged = False

    def transport(self, inner: Any = None) -> Any:
        """A :class:`~conformance.transports.ValidatingTransport` around ``inner`` (default: the real network):
        ``httpx.Client(transport=...)``, or ``httpx2.Client(transport=...)`` for the ``anthropic`` SDK 2.x."""
        from conformance.transports import ValidatingTransport

        made = ValidatingTransport(inner, api_version=self.api_version, on_finding="collect", party=self.party,
                                   name=self._next_name())
        self._transports.append(made)
        return made

    def async_transport(self, inner: Any = None) -> Any:
        """The same for ``httpx.AsyncClient`` / ``httpx2.AsyncClient``."""
        from conformance.transports import AsyncValidatingTransport

        made = AsyncValidatingTransport(inner, api_version=self.api_version, on_finding="collect",
                                        party=self.party, name=self._next_name())
        self._transports.append(made)
        return made

    def _next_name(self) -> str:
        # Each transport numbers its own exchanges: a second one is named apart, so reports never mix them.
        n = len(self._transports)
        return self.name if n == 0 else f"{self.name} (transport {n + 1})"

    def client(self, **kwargs: Any) -> Any:
        """An ``httpx.Client`` over :meth:`transport` (keyword arguments go to ``httpx.Client``)."""
        import httpx

        return httpx.Client(transport=self.transport(kwargs.pop("transport", None)), **kwargs)

    @property
    def findings(self) -> list[Any]:
        """Every finding so far, of every transport this validator made."""
        return [f for t in self._transports for f in t.findings]

    def verdict(self) -> None:
        """Fail the test on any error finding (once), listing them as ``conformance lint`` does."""
        if self._judged:
            return
        self._judged = True
        for transport in self._transports:
            # What spans the exchanges (rate-limit windows) is judged when a transport closes.
            transport.validation.close()
        broken = [(t, [f for f in t.findings if f.severity >= 2]) for t in self._transports]
        if any(errors for _, errors in broken):
            pytest.fail("conformance: the exchanges broke the contract\n"
                        + "\n".join(t.validation.render(errors) for t, errors in broken if errors), pytrace=False)


@pytest.fixture
def conformance_validator(request: pytest.FixtureRequest) -> Iterator[Validator]:
    """Validating transports for this test's HTTP clients; the test fails on the error findings they saw."""
    marker = request.node.get_closest_marker("conformance_validator")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = set(options) - {"api_version", "party"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.conformance_validator: unknown argument(s) {sorted(unknown)}; "
                                "it takes api_version and party")
    validator = Validator(request.node.nodeid, **options)
    yield validator


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    # After the test body passed: its exchanges are judged as part of the test, not as a teardown error.
    validator = getattr(item, "funcargs", {}).get("conformance_validator")
    if isinstance(validator, Validator):
        validator.verdict()
    return result


class CassetteLint:
    """``--conformance-cassettes``: remembers each cassette vcrpy opens, lints them all at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.paths: set[str] = set()
        self.worker = hasattr(config, "workerinput")
        self.result: Any = None
        self._restore: Any = None
        self._watch_vcrpy()

    def _watch_vcrpy(self) -> None:
        try:
            from vcr.cassette import Cassette
        except ImportError:  # pragma: no cover - vcrpy is a dependency of this package
            return
        original = Cassette.__dict__["load"]
        paths = self.paths

        def load(cls: Any, /, **kwargs: Any) -> Any:
            path = kwargs.get("path")
            if path is not None:
                paths.add(str(Path(path).resolve()))
            return original.__func__(cls, **kwargs)

        Cassette.load = classmethod(load)
        self._restore = lambda: setattr(Cassette, "load", original)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        self.paths.update(json.loads(output.get(_WORKER_CASSETTES) or "[]"))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._restore is not None:
            self._restore()
        if self.worker:
            self.config.workeroutput[_WORKER_CASSETTES] = json.dumps(sorted(self.paths))  # type: ignore[attr-defined]
            return
        from conformance.lint import lint_paths

        existing = [Path(p) for p in sorted(self.paths) if Path(p).is_file()]
        self.result = lint_paths(existing)
        if self.result.exit_code and session.exitstatus == 0:
            session.exitstatus = self.result.exit_code

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker or self.result is None:
            return
        from conformance.library import output_redactor
        from conformance.reports.text import render

        terminalreporter.section("conformance: the cassettes this run used")
        if not self.result.files and not self.result.input_errors:
            terminalreporter.write_line("no vcrpy cassette was used")
            return
        terminalreporter.write(output_redactor().text(render(self.result)))
