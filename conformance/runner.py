"""``conformance run``: a thin layer over pytest and the project's plugin.

``conformance run --target X ...`` is ``pytest --pyargs conformance.suite --conformance-target X ...``;
this module only translates the options and maps pytest's exit status to the suite's (0 conformant,
1 findings, 2 could not run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

_SUITE_INI = Path(__file__).parent / "suite" / "pytest.ini"


def pytest_args(args: argparse.Namespace) -> list[str]:
    out = ["-c", str(_SUITE_INI), "--rootdir", str(Path.cwd()), "--pyargs", "conformance.suite",
           "--conformance-target", args.target,
           "--conformance-report-dir", str(Path(args.report_dir).resolve()),
           "--conformance-cassette-dir", str(Path(args.cassette_dir).resolve()),
           "--conformance-api-key-env", args.api_key_env]
    for version in args.api_version or []:
        out += ["--conformance-api-version", version]
    for name in args.select or []:
        out += ["--conformance-select", name]
    for name in args.ignore or []:
        out += ["--conformance-ignore", name]
    if args.first_failure_per_rule:
        out += ["--conformance-first-failure-per-rule"]
    if args.baseline:
        out += ["--conformance-baseline", str(Path(args.baseline).resolve())]
    if args.baseline_update:
        out += ["--conformance-baseline-update"]
    if args.compare_versions:
        out += ["--conformance-compare-versions"]
    out += ["--conformance-party", args.party, "--conformance-replay-mode", args.replay_mode]
    if args.ratelimit_key_env:
        out += ["--conformance-ratelimit-key-env", args.ratelimit_key_env]
    for option, value in (("--conformance-upstream-control", args.upstream_control),
                          ("--conformance-upstream-control-token-env", args.upstream_control_token_env),
                          ("--conformance-upstream-key-env", args.upstream_key_env)):
        if value:
            out += [option, value]
    if args.record_mode:
        out += ["--conformance-record-mode", args.record_mode]
    for option, value in (("--conformance-max-examples", args.max_examples),
                          ("--conformance-timeout", args.timeout),
                          ("--conformance-max-wait", args.max_wait),
                          ("--conformance-shrink-requests", args.shrink_requests),
                          ("--conformance-stream-timeout", args.stream_timeout),
                          ("--conformance-max-requests", args.max_requests),
                          ("--conformance-max-tokens", args.max_tokens),
                          ("--conformance-mutant", args.mutant),
                          ("--conformance-seed", args.seed)):
        if value is not None:
            out += [option, str(value)]
    if args.workers:
        out += ["-n", args.workers, "--dist", "loadgroup"]
    out += ["-q" if not args.verbose else "-v", "-rfEs"]
    out += list(args.pytest_args or [])
    return out


def exit_code(status: int | pytest.ExitCode) -> int:
    if status == pytest.ExitCode.OK:
        return 0
    if status == pytest.ExitCode.TESTS_FAILED:
        return 1
    return 2


def run(args: argparse.Namespace) -> int:
    if args.target.startswith("cassettes:") and args.record_mode not in (None, "none"):
        from conformance.errors import UsageError

        raise UsageError("--target cassettes:DIR replays; it cannot record (drop --record-mode or use another target)")
    _check_before_starting(args)
    status = pytest.main(pytest_args(args))
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("conformance: error: no checks selected (see --select)")
    aborted = _aborted(Path(args.report_dir))
    if aborted:
        print(f"conformance: error: {aborted}", file=sys.stderr)
        return 2
    return exit_code(status)


def _check_before_starting(args: argparse.Namespace) -> None:
    """What the plugin would refuse, refused here as one line (pytest would print its usage around it)."""
    from conformance.errors import UsageError

    if args.compare_versions and len(args.api_version or []) != 2:
        raise UsageError("--compare-versions compares two API versions: give exactly two --api-version")


def _aborted(report_dir: Path) -> str | None:
    """Why the run gave up on its target, as the reports say (None: it did not)."""
    try:
        summary = json.loads((report_dir / "findings.json").read_text(encoding="utf-8")).get("summary", {})
    except (OSError, ValueError, AttributeError):
        return None
    aborted = summary.get("aborted") if isinstance(summary, dict) else None
    return f"the target stopped answering: {aborted}" if isinstance(aborted, str) and aborted else None
