"""The ``conformance`` command line.

Exit codes everywhere: 0 conformant (warnings allowed), 1 at least one
error-severity finding, 2 could not run (bad input or bad usage).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from conformance import __version__
from conformance.errors import ConformanceError, UsageError
from conformance.findings import Severity
from conformance.limits import ReadLimits, size_text

if TYPE_CHECKING:
    from conformance.cassettes.redact import Redactor


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _output_redactor(*env_names: str) -> Redactor:
    """What everything a command prints goes through: keys found in recordings (by their shape), and the
    key in the environment (``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN`` and ``env_names``) in every form,
    are never echoed to a terminal or a CI log."""
    from conformance.cassettes.redact import redactor, secrets_from_env

    names = dict.fromkeys(["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", *env_names])
    return redactor(secrets_from_env(os.environ, names))


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and the input is large."""

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        self.stream = stream
        self.redact = redact
        self.active = False

    def __call__(self, n: int, total: int, path: Path) -> None:
        if n == 1:
            self.active = total >= 20 and self.stream.isatty()
        if not self.active:
            return
        width = 30
        filled = width * n // total
        name = self.redact(str(path))[-40:]
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {n}/{total} {name:<40}")
        if n == total:
            self.stream.write("\r" + " " * (width + 60) + "\r")
        self.stream.flush()


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (what was wrong, and where the help is), exit 2: no usage block to scroll past."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole(minimum: int, unit: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (a cap, a count), named in the error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{unit and ' of ' + unit}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value}{unit and ' ' + unit}: give at least {minimum}")
        return value
    return parse


def _seconds(*, zero: bool) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, above 0 (``zero``: or 0)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            least = "of 0 or more" if zero else "above 0"
            raise argparse.ArgumentTypeError(f"{text} seconds: give a finite number {least}")
        return value
    return parse


_byte_count = _whole(1, "bytes")


def _add_baseline_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """``--baseline FILE`` and ``--baseline-update``: the same two options on every command that judges a target."""
    parser.add_argument("--baseline", metavar="FILE",
                        help="known deviations (JSON): error findings matching an entry are reported as known and "
                             "do not fail; entries not seen are reported as fixed; an expired entry fails again")
    parser.add_argument("--baseline-update", action="store_true",
                        help=f"write or refresh --baseline FILE from this {kind}: new deviations added, fixed ones "
                             "removed, reasons, owners and expiry dates kept (the exit code still judges this "
                             f"{kind} against the file as it was)")


def _baseline(args: argparse.Namespace, kind: str) -> Any:
    """The ``--baseline`` of ``args`` (``None`` without one); a broken file is one line and exit 2."""
    from conformance.baseline import load

    if args.baseline_update and not args.baseline:
        raise UsageError("--baseline-update needs --baseline FILE (the file to write)")
    if not args.baseline:
        return None
    return load(Path(args.baseline), kind, missing_ok=args.baseline_update)


def _write_output(text: str, output: str | None) -> None:
    """``text`` into the ``-o FILE`` given, else onto standard output."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConformanceError(f"cannot write: {exc.strerror or exc}", file=output) from None
    else:
        sys.stdout.write(text)


def cmd_lint(args: argparse.Namespace) -> int:
    import datetime as dt

    from conformance.baseline import save, update_line, updated
    from conformance.lint import apply_baseline, lint_paths
    from conformance.reports import jsonreport, text

    redact = _output_redactor(args.api_key_env)
    baseline = _baseline(args, "lint")
    limits = ReadLimits(max_file_bytes=args.max_file_bytes, max_body_bytes=args.max_body_bytes)
    result = lint_paths([Path(p) for p in args.paths], api_version=args.api_version, select=args.select,
                        party=args.party, progress=_Progress(sys.stderr, redact.text), limits=limits,
                        keep_exchanges=args.report_dir is not None, ignore=args.ignore)
    observed = []
    if baseline is not None:
        observed = apply_baseline(result, baseline, today=dt.date.today(), select=args.select, ignore=args.ignore,
                                  party=args.party)
    if args.format == "json":
        report = redact.json(jsonreport.to_json(result, args.min_severity))
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(redact.text(text.render(result, args.min_severity)))
    for err in result.input_errors:
        print(redact.text(f"conformance: error: {err}"), file=sys.stderr)
    if args.report_dir is not None:
        from conformance.cassettes.redact import secrets_from_env
        from conformance.reports.lint_dir import write_lint_reports

        written = write_lint_reports(Path(args.report_dir), result, paths=args.paths, select=args.select or (),
                                     party=args.party, secrets=secrets_from_env(os.environ, [args.api_key_env]))
        print(redact.text(f"report: {written}"), file=sys.stderr)
    if args.baseline_update and result.baseline is not None:
        new = updated(baseline, result.baseline, observed)
        save(Path(args.baseline), new)
        print(redact.text(update_line(baseline, new)), file=sys.stderr)
    return result.exit_code


def cmd_report(args: argparse.Namespace) -> int:
    from conformance.reports.html import load_report_dir, write_html_report

    directory = Path(args.dir)
    written = write_html_report(directory, *load_report_dir(directory))
    print(f"report: {written}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from conformance.diff import diff_profiles, render_text, to_json
    from conformance.profiles import load_profiles

    profiles = load_profiles()
    old, new = profiles.get(args.old), profiles.get(args.new)
    changes = diff_profiles(old, new)
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(changes), indent=2, default=str) + "\n")
    elif args.format == "html":
        from conformance.reports.html import render_diff

        sys.stdout.write(render_diff(changes, old, new))
    else:
        sys.stdout.write(render_text(changes, old, new))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from conformance.compare import compare, read_side
    from conformance.reports.compare import render_markdown

    comparison = compare(read_side(Path(args.old)), read_side(Path(args.new)))
    if args.format == "json":
        text = json.dumps(comparison.to_json(), indent=2, default=str) + "\n"
    else:
        text = render_markdown(comparison)
    text = _output_redactor().text(text)
    _write_output(text, args.output)
    return comparison.exit_code


def cmd_drift(args: argparse.Namespace) -> int:
    from conformance.drift import run_drift
    from conformance.drift.render import render_text, to_json

    if args.sdk_path and args.sdk != "typescript":
        raise UsageError("--sdk-path is where @anthropic-ai/sdk is installed (with --sdk typescript); the Python "
                         "SDK is the anthropic package of the interpreter running conformance")
    run = run_drift(args.sdk, args.profile, sdk_path=args.sdk_path)
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(run), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(run, show_explained=args.all))
    return run.exit_code


def cmd_versions(args: argparse.Namespace) -> int:
    from conformance.profiles import load_profiles

    profiles = load_profiles()
    for p in profiles:
        default = " (default)" if p.version == profiles.default_version else ""
        print(f"{p.version}  {p.status:<11} {p.description}{default}")
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from conformance.rules import CATALOGUE

    for r in sorted(CATALOGUE, key=lambda r: r.id):
        print(f"{r.id:<36} {r.severity!s:<8} {r.party:<7} {r.title}")
    return 0


def cmd_check_schemas(args: argparse.Namespace) -> int:
    from conformance.profiles import schemas_root
    from conformance.schemacheck import check_schema_tree

    root = Path(args.root) if args.root else schemas_root()
    problems = check_schema_tree(root)
    for p in problems:
        print(p)
    print(f"{'ok' if not problems else 'FAILED'}: {root} ({len(problems)} problems)")
    return 1 if problems else 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from conformance.openapi import openapi_document
    from conformance.profiles import load_profiles

    profiles = load_profiles()
    profile = profiles.get(args.api_version) if args.api_version else profiles.default
    text = json.dumps(openapi_document(profile, args.server_url), indent=2) + "\n"
    _write_output(text, args.output)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from conformance.runner import run

    _baseline(args, "run")  # a broken baseline is one line before anything starts (the run's plugin reads it again)
    return run(args)


def cmd_sdk(args: argparse.Namespace) -> int:
    from conformance.sdk.command import sdk_command

    return sdk_command(args.target, driver=args.driver, sdk_version=args.sdk_version, api_version=args.api_version,
                       select=args.select, report_dir=Path(args.report_dir),
                       cache_dir=Path(args.cache_dir) if args.cache_dir else None)


def cmd_serve(args: argparse.Namespace) -> int:
    from conformance.server import serve

    # Bad input (port, host, keys file, token) is an InputError: one line, exit 2 (see main).
    serve(host=args.host, port=args.port, seed=args.seed, keys_file=args.keys, mutant=args.mutant,
          control_token=args.control_token, header_timeout=args.header_timeout,
          limit_concurrency=args.limit_concurrency, log_max_requests=args.log_max_requests,
          log_max_bytes=args.log_max_bytes)
    return 0


def cmd_proxy(args: argparse.Namespace) -> int:
    from conformance.proxy import ProxyOptions, serve_proxy

    options = ProxyOptions(upstream=args.upstream, host=args.host, port=args.port, api_version=args.api_version,
                           party=args.party, record=Path(args.record) if args.record else None,
                           report_dir=Path(args.report_dir) if args.report_dir else None, fail_on=args.fail_on,
                           annotate=args.annotate, max_requests=args.max_requests, max_body_bytes=args.max_body_bytes,
                           mutant=args.mutant, seed=args.seed, api_key_env=args.api_key_env,
                           validate=not args.no_validation)
    if options.api_version is not None:
        from conformance.profiles import load_profiles

        load_profiles().get(options.api_version)  # an unknown version: one line naming the known ones
    return serve_proxy(options)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="conformance",
                                     description="Contract-testing and conformance suite for the Claude Messages API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lint = sub.add_parser("lint", help="check recorded traffic (cassettes, HAR, raw SSE, ...) against the contract")
    lint.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (searched recursively)")
    lint.add_argument("--api-version", metavar="V",
                      help="judge every exchange by this profile (default: the version each request sent, "
                           "else the table's default)")
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.add_argument("--min-severity", type=_severity, default=Severity.INFO, metavar="LEVEL",
                      help="hide findings below LEVEL (info, warning, error); the exit code is unaffected")
    lint.add_argument("--select", action="append", metavar="RULE_OR_AREA",
                      help="only report these rules or areas (repeatable), e.g. stream or errors.status-type")
    lint.add_argument("--ignore", action="append", metavar="RULE_OR_AREA",
                      help="leave out these rules or areas (repeatable; wins over --select)")
    lint.add_argument("--party", choices=("client", "server", "all"), default="all",
                      help="whose findings to report and count: client (what was sent: validating an SDK), "
                           "server (what came back: checking a gateway) or all (default)")
    lint.add_argument("--max-body-bytes", type=_byte_count, default=ReadLimits.max_body_bytes, metavar="N",
                      help="the compressed bodies of one file may expand to at most N bytes "
                           f"(default {size_text(ReadLimits.max_body_bytes)})")
    lint.add_argument("--max-file-bytes", type=_byte_count, default=ReadLimits.max_file_bytes, metavar="N",
                      help=f"read at most N bytes of any file (default {size_text(ReadLimits.max_file_bytes)})")
    lint.add_argument("--report-dir", metavar="DIR",
                      help="also write findings.json, exchanges.jsonl (redacted) and report.html into DIR")
    lint.add_argument("--api-key-env", default="ANTHROPIC_API_KEY", metavar="NAME",
                      help="with --report-dir: the environment variable whose key is redacted wherever it appears "
                           "(key-shaped strings and credential headers are redacted anyway)")
    _add_baseline_options(lint, "lint")
    lint.set_defaults(func=cmd_lint)

    diff = sub.add_parser("diff", help="what changed between two API-version profiles")
    diff.add_argument("old", metavar="V1")
    diff.add_argument("new", metavar="V2")
    diff.add_argument("--format", choices=("text", "json", "html"), default="text",
                      help="html: a self-contained page with breaking changes marked (to stdout)")
    diff.set_defaults(func=cmd_diff)

    compare = sub.add_parser("compare", help="what changed between two runs or lints: new, fixed and unchanged "
                                             "findings, checks, version support (Markdown for a pull request)",
                             description="Compare two report directories (or their findings.json): deviations new, "
                                         "fixed and unchanged by rule and party (matched by their baseline "
                                         "fingerprint), checks passed / failed / not exercised, and the statuses seen "
                                         "per anthropic-version side by side. Exit 1 when NEW has an error deviation "
                                         "OLD had not (unless NEW's baseline waived it).")
    compare.add_argument("old", metavar="OLD", help="the earlier report directory or findings.json (e.g. main's)")
    compare.add_argument("new", metavar="NEW", help="the later one (e.g. this pull request's)")
    compare.add_argument("--format", choices=("markdown", "json"), default="markdown")
    compare.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    compare.set_defaults(func=cmd_compare)

    report = sub.add_parser("report", help="(re)build report.html from what a run or lint wrote into DIR",
                            description="Rebuild DIR/report.html from DIR/findings.json and DIR/exchanges.jsonl "
                                        "(written by `conformance run --report-dir DIR` or `conformance lint "
                                        "--report-dir DIR`).")
    report.add_argument("dir", metavar="DIR")
    report.set_defaults(func=cmd_report)

    drift = sub.add_parser("drift", help="compare the profiles with an installed official SDK's types",
                           description="Compare each profile's schemas with the installed SDK's types, shape by "
                                       "shape. Exit 1 on a difference not explained in schemas/drift-allow.json, "
                                       "2 when the SDK is not installed.")
    drift.add_argument("--sdk", choices=("python", "typescript"), default="python",
                       help="python: the anthropic package of this interpreter; typescript: @anthropic-ai/sdk "
                            "(needs node)")
    drift.add_argument("--profile", action="append", metavar="V",
                       help="compare with this API version (repeatable; default: every real-API profile)")
    drift.add_argument("--sdk-path", metavar="DIR",
                       help="where @anthropic-ai/sdk is installed (its directory or a directory with node_modules; "
                            "default: CONFORMANCE_TS_SDK, else node_modules here or above)")
    drift.add_argument("--format", choices=("text", "json"), default="text")
    drift.add_argument("--all", action="store_true", help="also list the explained differences, with their reasons")
    drift.set_defaults(func=cmd_drift)

    versions = sub.add_parser("versions", help="list the API-version table")
    versions.set_defaults(func=cmd_versions)

    rules = sub.add_parser("rules", help="list every rule id the suite can report")
    rules.set_defaults(func=cmd_rules)

    check = sub.add_parser("check-schemas", help="meta-validate every schema file and profile")
    check.add_argument("root", nargs="?", help="schema tree (default: the one the suite ships)")
    check.set_defaults(func=cmd_check_schemas)

    openapi = sub.add_parser("openapi", help="export an API-version profile as an OpenAPI 3.1 document")
    openapi.add_argument("--api-version", metavar="V", help="the profile to export (default: the table's default)")
    openapi.add_argument("--server-url", default="https://api.anthropic.com", metavar="URL",
                         help="the document's server (e.g. a gateway or the reference server)")
    openapi.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    openapi.set_defaults(func=cmd_openapi)

    run = sub.add_parser("run", help="run the conformance checks against a target and write reports")
    run.add_argument("--target", default="reference",
                     help="reference (default: the embedded reference server), a base URL, or cassettes:DIR")
    run.add_argument("--api-version", action="append", metavar="V",
                     help="API version to check (repeatable; default: every version in the table)")
    run.add_argument("--api-key-env", default="ANTHROPIC_API_KEY", metavar="NAME",
                     help="environment variable with the key for a live target (never passed on the command line)")
    run.add_argument("--ratelimit-key-env", metavar="NAME",
                     help="environment variable with a low-tier key used only by the rate-limit burst, so the limit "
                          "and retry-after are reached without pacing the whole run to that tier")
    run.add_argument("--upstream-control", metavar="URL",
                     help="the target is a gateway in front of `conformance serve` at URL: script faults there and "
                          "judge how the gateway passes them on")
    run.add_argument("--upstream-control-token-env", metavar="NAME",
                     help="environment variable with that server's control token (printed by `conformance serve`)")
    run.add_argument("--upstream-key-env", metavar="NAME",
                     help="environment variable with the key the gateway sends upstream (default: --api-key-env's)")
    run.add_argument("--record-mode", choices=("none", "once", "new_episodes", "all"),
                     help="record or replay cassettes (vcrpy modes) in --cassette-dir")
    run.add_argument("--cassette-dir", default="cassettes", metavar="DIR")
    run.add_argument("--max-examples", type=_whole(1), metavar="N", help="Hypothesis examples per generated check")
    run.add_argument("--max-requests", type=_whole(1), metavar="N", help="hard cap on requests sent")
    run.add_argument("--max-tokens", type=_whole(1), metavar="N", help="hard cap on tokens spent")
    run.add_argument("--shrink-requests", type=_whole(0), metavar="N",
                     help="against a live target, requests a failing check may spend on a smaller example "
                          "(default 25; negative checks never shrink)")
    run.add_argument("--max-wait", type=_seconds(zero=True), metavar="SECONDS",
                     help="the longest a check waits for a target's retry-after (longer: not exercised); default 70")
    run.add_argument("--timeout", type=_seconds(zero=False), metavar="SECONDS",
                     help="wait this long for an answer to start (a plain answer: to arrive whole); default 60")
    run.add_argument("--stream-timeout", type=_seconds(zero=False), metavar="SECONDS",
                     help="a stream silent this long between events has stalled (stream.stalled); default 30")
    run.add_argument("-n", dest="workers", metavar="N", help="parallel workers (pytest-xdist), e.g. 2 or auto")
    run.add_argument("--report-dir", default="reports", metavar="DIR")
    run.add_argument("--select", action="append", metavar="RULE_OR_AREA", help="only these rules or areas")
    run.add_argument("--ignore", action="append", metavar="RULE_OR_AREA",
                     help="leave out these rules or areas (repeatable; wins over --select); a check all of whose "
                          "areas are left out is not run")
    run.add_argument("--first-failure-per-rule", action="store_true",
                     help="a quick verdict: once a check fails, later checks of the same primary area are not run "
                          "(reported as not exercised, naming the check that failed)")
    run.add_argument("--party", choices=("client", "server", "all"), default="all",
                     help="whose findings to report and fail on (default all)")
    run.add_argument("--replay-mode", choices=("rejudge", "strict"), default="rejudge",
                     help="with --target cassettes:DIR: re-judge the recorded exchanges with today's rules "
                          "(default), or strict: regenerate the requests and replay byte-identical matches")
    run.add_argument("--mutant", metavar="NAME", help="run against a contract-breaking reference server (self-test)")
    run.add_argument("--seed", type=int, help="reference server seed")
    _add_baseline_options(run, "run")
    run.add_argument("--compare-versions", action="store_true",
                     help="with two --api-version: send the same generated requests under both and report behaviour "
                          "that differs where the profiles (conformance diff) say it should not, and changes they "
                          "predict that did not happen")
    run.add_argument("-v", "--verbose", action="store_true")
    run.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="passed to pytest as they are")
    run.set_defaults(func=cmd_run)

    sdk = sub.add_parser("sdk", help="validate an SDK against the spec through a driver; per-version reports and "
                                     "the cross-version matrix",
                         description="Run the SDK scenarios (requests, retries, streaming, errors, timeouts, strict "
                                     "validation) against the embedded reference server through a driver. Exit 1 "
                                     "when a check fails, 2 when the driver never gave a valid result.")
    sdk.add_argument("target", nargs="?", choices=("python", "typescript"),
                     help="the official SDK to drive with the shipped driver (or give --driver)")
    sdk.add_argument("--driver", metavar="CMD",
                     help="any driver command speaking the protocol (schemas/sdk/driver-*.schema.json)")
    sdk.add_argument("--sdk-version", metavar="V",
                     help="install this exact version into a cached, isolated environment (default: the installed "
                          "anthropic, or the shipped lockfile's @anthropic-ai/sdk)")
    sdk.add_argument("--api-version", metavar="V",
                     help="make the SDK send this anthropic-version (default: the SDK's own)")
    sdk.add_argument("--select", action="append", metavar="AREA",
                     help="only these areas or checks (repeatable): requests, retries, streaming, errors, timeouts, "
                          "strict, or a check id such as retries.429")
    sdk.add_argument("--report-dir", default="reports/sdk", metavar="DIR")
    sdk.add_argument("--cache-dir", metavar="DIR",
                     help="where installed SDK versions are kept (default: $CONFORMANCE_SDK_CACHE, else "
                          "~/.cache/claude-conformance/sdk)")
    sdk.set_defaults(func=cmd_sdk)
    proxy = sub.add_parser("proxy", help="a validating, recording pass-through for any client, in any language",
                           description="Forward every request to --upstream and every answer back unchanged (streams "
                                       "as they arrive), judge each exchange as it passes, print each finding as one "
                                       "line, and on exit (Ctrl-C, SIGTERM, --max-requests) write the reports. Point a "
                                       "client at it: ANTHROPIC_BASE_URL=http://127.0.0.1:PORT.")
    proxy.add_argument("--upstream", required=True, metavar="URL|reference",
                       help="reference (the embedded reference server, started here) or the base URL to forward "
                            "to; a path in it is a mount point (a gateway's route, e.g. http://gw:4000/anthropic)")
    proxy.add_argument("--host", default="127.0.0.1")
    proxy.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    proxy.add_argument("--api-version", metavar="V",
                       help="judge every exchange by this profile (default: the version each request sent)")
    proxy.add_argument("--party", choices=("client", "server", "all"), default="all",
                       help="whose findings to print, report and fail on: client (an SDK or app), server (a "
                            "gateway), all (default)")
    proxy.add_argument("--record", metavar="DIR", help="write the exchanges as a vcrpy cassette into DIR (redacted)")
    proxy.add_argument("--report-dir", metavar="DIR",
                       help="on exit write findings.json, exchanges.jsonl, summary.md, junit.xml, report.html")
    proxy.add_argument("--fail-on", choices=("error", "warning", "never"), default="error",
                       help="exit 1 if findings of this severity (or worse) were seen (default error)")
    proxy.add_argument("--annotate", action="store_true",
                       help="add x-conformance-findings: N; first=RULE to each answer (a plain answer is read "
                            "whole first; a stream's head can only count the request's findings)")
    proxy.add_argument("--max-requests", type=_whole(1), metavar="N", help="stop after N exchanges")
    proxy.add_argument("--max-body-bytes", type=_byte_count, default=16 * 1024 * 1024, metavar="N",
                       help="keep at most N bytes of a body for the rules and the recording; a larger answer is "
                            "passed on whole, a larger request refused with 413 (default 16 MiB)")
    proxy.add_argument("--mutant", metavar="NAME", help="with --upstream reference: a contract-breaking server")
    proxy.add_argument("--seed", type=int, default=0, help="with --upstream reference: its seed")
    proxy.add_argument("--api-key-env", default="ANTHROPIC_API_KEY", metavar="NAME",
                       help="an environment variable whose key is redacted wherever it appears (the keys clients "
                            "send through the proxy are redacted anyway)")
    proxy.add_argument("--no-validation", action="store_true",
                       help="judge nothing: a plain pass-through (what `nox -s bench` compares the proxy with)")
    proxy.set_defaults(func=cmd_proxy)

    serve = sub.add_parser("serve", help="run the reference server until stopped")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--keys", metavar="FILE", help="API keys and their tiers (JSON)")
    serve.add_argument("--mutant", metavar="NAME",
                       help="break exactly one contract (suite self-test); see conformance.server.mutants")
    serve.add_argument("--control-token", metavar="TOKEN",
                       help="the token every /_conformance/* call must send (default: a fresh one, printed)")
    serve.add_argument("--limit-concurrency", type=_whole(1), metavar="N",
                       help="connections and requests served at once; more get 503 (default: below the "
                            "process's open-file limit)")
    serve.add_argument("--header-timeout", type=_seconds(zero=False), default=10.0, metavar="SECONDS",
                       help="close a connection that has not sent its request headers by then (default 10)")
    serve.add_argument("--log-max-requests", type=_whole(1), metavar="N",
                       help="the request log keeps the newest N requests (default 1000)")
    serve.add_argument("--log-max-bytes", type=_whole(1, "bytes"), metavar="N",
                       help="... and at most N bytes of them (default 16 MiB; bodies are cut to 64 KiB)")
    serve.set_defaults(func=cmd_serve)
    return parser


Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    func: Command = args.func
    try:
        return func(args)
    except UsageError as exc:
        parser.error(str(exc))  # exits 2 with the usage line
    except ConformanceError as exc:
        print(_output_redactor().text(f"conformance: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
