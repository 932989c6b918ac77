"""Validate any SDK against the spec through a driver (``conformance sdk``).

    protocol.py      the driver protocol (schemas/sdk/driver-*.schema.json): scenario line in, result line out
    drivers/         the shipped drivers: Python ``anthropic``, TypeScript ``@anthropic-ai/sdk``
    environments.py  isolated, cached installs of an SDK version (a venv, an npm prefix) and driver commands
    driverproc.py    one driver process, fed a scenario at a time, with deadlines and bounded output
    model.py         scenarios, attempts, observations, verdicts (typed data)
    scenarios.py     the catalogue: what each scenario calls and scripts, and which checks judge it
    checks.py        the checks: pure functions (observation) -> verdict
    requests.py      every request through the client-side rules (conformance.engine)
    runner.py        the run: embedded reference server, one scenario at a time
    report.py        the per-version document (lint findings shape) and the cross-version matrix
    render.py        their Markdown
    command.py       the ``conformance sdk`` command
"""

from conformance.sdk.environments import DriverCommand, driver_for
from conformance.sdk.model import Outcome, Verdict
from conformance.sdk.runner import SdkRun, run_sdk

__all__ = ["DriverCommand", "Outcome", "SdkRun", "Verdict", "driver_for", "run_sdk"]
