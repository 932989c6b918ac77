"""Shared test configuration: Hypothesis profiles and the corpus location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path | None:
    """The real-traffic corpus, from CONFORMANCE_CORPUS; None when unset."""
    value = os.environ.get("CONFORMANCE_CORPUS")
    return Path(value) if value else None


@pytest.fixture
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip("real-traffic corpus not available: set CONFORMANCE_CORPUS to ../shared/corpus")
    if not path.is_dir():
        pytest.fail(f"CONFORMANCE_CORPUS={path} is not a directory")
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The mutant kill rate, from the user property each test in tests/test_mutants.py records."""
    kills = [dict(r.user_properties)["mutant_killed"] for reports in terminalreporter.stats.values()
             for r in reports
             if getattr(r, "when", None) == "call" and "mutant_killed" in dict(getattr(r, "user_properties", ()))]
    if kills:
        terminalreporter.write_line(f"mutant kill rate: {sum(kills)}/{len(kills)} mutants killed")
