"""Contract-testing and conformance suite for the Claude Messages API.

The public library (everything else is private, and may change between releases)::

    check(request, response, *, api_version=None, party="all") -> list[Finding]   one exchange
    StreamValidator(api_version=None, party="all")   .feed(chunk) -> findings, .finish() -> findings
    ValidatingTransport(inner=None, *, api_version=None, on_finding="raise")   httpx / httpx2 clients
    AsyncValidatingTransport(...)                                             their async clients
    lint_paths(paths, ...) -> LintResult                                     what ``conformance lint`` runs
    Finding, Severity                                                        what every one of them reports
    ConformanceFailure (an AssertionError), ConformanceWarning               on_finding="raise" / "warn"

Importing :mod:`conformance` is cheap: each name is imported when first used (the pytest plugin of this
package is loaded into every test run of a project that has it installed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from conformance.findings import Finding, Severity
    from conformance.library import StreamValidator, check
    from conformance.lint import LintResult, lint_paths
    from conformance.transports import (
        AsyncValidatingTransport,
        ConformanceFailure,
        ConformanceWarning,
        ValidatingTransport,
    )

__all__ = [
    "AsyncValidatingTransport",
    "ConformanceFailure",
    "ConformanceWarning",
    "Finding",
    "LintResult",
    "Severity",
    "StreamValidator",
    "ValidatingTransport",
    "__version__",
    "check",
    "lint_paths",
]

_HOMES = {
    "Finding": "conformance.findings",
    "Severity": "conformance.findings",
    "StreamValidator": "conformance.library",
    "check": "conformance.library",
    "LintResult": "conformance.lint",
    "lint_paths": "conformance.lint",
    "AsyncValidatingTransport": "conformance.transports",
    "ConformanceFailure": "conformance.transports",
    "ConformanceWarning": "conformance.transports",
    "ValidatingTransport": "conformance.transports",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
