"""``conformance sdk``: prepare the driver, run the scenarios, write the reports, print the summary."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from conformance.cassettes.redact import redact_text
from conformance.errors import UsageError
from conformance.sdk.environments import driver_for
from conformance.sdk.model import Outcome
from conformance.sdk.report import write_reports
from conformance.sdk.runner import TEST_KEY, SdkRun, check_options, run_sdk


def summary_lines(run: SdkRun) -> list[str]:
    out = [f"results: {run.count(Outcome.PASS)} pass, {run.count(Outcome.DIFFERS)} differ, "
           f"{run.count(Outcome.FAIL)} fail, {run.count(Outcome.NOT_EXERCISED)} not exercised "
           f"({len(run.checks)} checks, {len(run.requests)} requests) in {run.seconds:.1f} s"]
    for c in run.checks:
        if c.verdict.outcome in (Outcome.FAIL, Outcome.DIFFERS):
            out.append(f"  {c.verdict.outcome.value:<8} {c.info.id:<30} {c.verdict.reason}")
    return out


def sdk_command(target: str | None, *, driver: str | None, sdk_version: str | None, api_version: str | None,
                select: Sequence[str] | None, report_dir: Path, cache_dir: Path | None,
                out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if (target is None) == (driver is None):
        raise UsageError("name the SDK (python or typescript) or give --driver 'CMD ...', not both")
    check_options(api_version, select)  # before anything is installed
    command = driver_for(target or "", sdk_version, driver, cache_dir)
    if command.installed:
        print(f"conformance sdk: {command.installed}", file=err, flush=True)
    print(f"conformance sdk: {command.label}", file=out, flush=True)
    run = run_sdk(command, api_version=api_version, select=select)
    for problem in run.problems:
        print(f"conformance: {redact_text(problem, [TEST_KEY])}", file=err)
    if run.aborted:
        print(f"conformance: driver {command.label!r}: {run.aborted}", file=err)
    report, matrix = write_reports(run, report_dir)
    print("\n".join(redact_text(line, [TEST_KEY]) for line in summary_lines(run)), file=out)
    print(f"reports: {report}, {matrix}", file=out)
    if not run.answered:
        print(f"conformance: error: driver {command.label!r} gave no valid result; see the problems above "
              "(the protocol: schemas/sdk/driver-result.schema.json)", file=err)
    return run.exit_code
