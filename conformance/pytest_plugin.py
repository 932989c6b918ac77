"""pytest plugin (registered through the ``pytest11`` entry point).

Options and fixtures for running the conformance suite against a target are
added by the run issue; for now it only declares its option group so that
``pytest --help`` shows where they will live.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conformance", "Claude API conformance")
