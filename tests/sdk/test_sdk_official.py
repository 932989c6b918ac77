"""`conformance sdk` with the official SDKs and their shipped drivers: the installed Python `anthropic`, and
`@anthropic-ai/sdk` from the shipped lockfile (installed into the cache by npm on first use).

They pass, or fail only where they truly deviate; each version's differences (auth, version, exception
classes, the retry-after cap) are what the reports show. `nox -s sdk` runs the whole version matrix.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping

import pytest

from conformance.sdk.environments import driver_for
from conformance.sdk.model import Outcome
from conformance.sdk.runner import SdkRun, run_sdk

pytestmark = [pytest.mark.sdk, pytest.mark.integration]

NO_PYTHON_SDK = "the anthropic Python SDK is not installed (pip install .[test])"
STRICT = {"strict.create", "strict.stream", "strict.count-tokens", "strict.models-list", "strict.models-retrieve"}
# The exception class each line raises per status (research/sdk-facts.md): 2.x and TypeScript 1.x have a class
# per status; 1.x falls back to APIStatusError for 402/408 and to InternalServerError for 503/504.
CLASSES_2X = {400: "BadRequestError", 401: "AuthenticationError", 402: "PaymentRequiredError",
              403: "PermissionDeniedError", 404: "NotFoundError", 408: "RequestTimeoutError", 409: "ConflictError",
              413: "ContentTooLargeError", 429: "RateLimitError", 500: "InternalServerError",
              503: "ServiceUnavailableError", 504: "GatewayTimeoutError", 529: "OverloadedError"}
CLASSES_1X = {**CLASSES_2X, 402: "APIStatusError", 408: "APIStatusError", 413: "RequestTooLargeError",
              503: "InternalServerError", 504: "InternalServerError"}
CLASSES_0X = {**CLASSES_1X, 413: "APIStatusError", 529: "InternalServerError"}


def verdicts(run: SdkRun) -> Mapping[str, tuple[Outcome, str]]:
    return {c.info.id: (c.verdict.outcome, c.verdict.reason) for c in run.checks}


def error_classes(run: SdkRun) -> dict[int, str]:
    return {int(check.split(".")[1]): reason for check, (outcome, reason) in verdicts(run).items()
            if check.startswith("errors.") and outcome is Outcome.PASS}


def test_the_installed_python_sdk_conforms():
    anthropic = pytest.importorskip("anthropic", reason=NO_PYTHON_SDK)
    major, minor = (int(p) for p in anthropic.__version__.split(".")[:2])
    run = run_sdk(driver_for("python", None, None))
    seen = verdicts(run)
    assert {c for c, (o, _) in seen.items() if o is Outcome.FAIL} == set()
    assert seen["requests.version"][1] == f"anthropic-version: {'2026-10-21' if major >= 2 else '2023-06-01'}"
    assert seen["requests.auth"][1] == ("Authorization: Bearer" if major >= 2 else "x-api-key")
    assert error_classes(run) == (CLASSES_2X if major >= 2 else CLASSES_1X if major == 1 else CLASSES_0X)
    # Up to 1.5 a retry-after over 60 s falls back to the SDK's own backoff (a difference); later ones wait it out.
    capped = (major, minor) <= (1, 5)
    assert seen["retries.retry-after-over-60s"][0] is (Outcome.DIFFERS if capped else Outcome.PASS)
    assert {c for c, (o, _) in seen.items() if o is Outcome.NOT_EXERCISED} <= {"streaming.final-message", *STRICT}
    assert run.exit_code == 0


def test_the_python_sdk_sends_the_api_version_it_is_asked_for():
    pytest.importorskip("anthropic", reason=NO_PYTHON_SDK)
    run = run_sdk(driver_for("python", None, None), api_version="2023-06-01", select=["requests"])
    assert verdicts(run)["requests.version"] == (Outcome.PASS, "anthropic-version: 2023-06-01")
    assert run.exit_code == 0


def test_the_typescript_sdk_conforms_but_for_a_stalled_stream():
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not found on PATH: the TypeScript SDK needs Node >= 18 and npm")
    run = run_sdk(driver_for("typescript", None, None))
    seen = verdicts(run)
    # @anthropic-ai/sdk arms its timeout around fetch() only (client.js fetchWithTimeout): once the headers are
    # in, a stream that stalls is waited on forever. A real deviation, shown as the one failure.
    assert {c for c, (o, _) in seen.items() if o is Outcome.FAIL} == {"timeouts.stalled-stream"}
    assert {c for c, (o, _) in seen.items() if o is Outcome.NOT_EXERCISED} == STRICT
    assert seen["requests.version"][1] == "anthropic-version: 2026-10-21"
    assert error_classes(run) == CLASSES_2X
    assert run.sdk is not None and run.sdk.startswith("@anthropic-ai/sdk 1.")
