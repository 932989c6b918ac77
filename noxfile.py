"""Sessions for the conformance suite. `nox -l` lists them; `nox -s NAME -- ARGS` forwards ARGS.

Every session uses the Python that runs nox (3.11, 3.12 or 3.13: `requires-python` in pyproject.toml),
so the README's commands work on a machine whose only Python is any of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "integration", "lint", "typecheck", "schemas", "replay"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
ROOT = Path(__file__).parent
CORPUS_DEFAULT = ROOT.parent / "shared" / "corpus"
# The shipped cassettes hold a run with this many examples per check (small: they are re-judged offline
# by every CI run, and each one is a file in the repository).
RECORD_EXAMPLES = "5"
# The official SDK versions the suite is checked against, the one list of pins. `sdk` runs `conformance sdk` with
# each (installed into the SDK cache): Python `anthropic` 0.40.0 (it needs httpx<0.28, which `conformance sdk`
# adds), 0.75.0, the newest 1.x (x-api-key, anthropic-version 2023-06-01) and the newest 2.x (a bearer token,
# 2026-10-21), which is also what `tests` installs; TypeScript `@anthropic-ai/sdk`, the newest 0.71.x and the newest
# 1.x, which the shipped lockfile conformance/sdk/drivers/typescript/package-lock.json installs (tests/test_drift.py
# keeps the two equal). Oldest first: the last of each is the newest.
PYTHON_SDK_PINS = ("0.40.0", "0.75.0", "1.17.0", "2.14.0")
TYPESCRIPT_SDK_PINS = ("0.71.2", "1.14.0")
# `drift` compares the profiles with the 1.x and newer pins, whose types the profiles were brought up to date with
# (the 0.x types predate most of their fields: their drift is large, and expected).
DRIFT_SDKS = [(kind, v) for kind, pins in (("python", PYTHON_SDK_PINS), ("typescript", TYPESCRIPT_SDK_PINS))
              for v in pins if not v.startswith("0.")]


def _corpus_env() -> dict[str, str]:
    """Point the real-traffic tests at ../shared/corpus when it exists and nothing else was set."""
    if "CONFORMANCE_CORPUS" in os.environ or not CORPUS_DEFAULT.is_dir():
        return {}
    return {"CONFORMANCE_CORPUS": str(CORPUS_DEFAULT)}


@nox.session
def tests(session: nox.Session) -> None:
    """The project's own tests in one process each (unit, property, in-process server, CLI) on 2 workers."""
    session.install("-e", ".[test]", f"anthropic=={PYTHON_SDK_PINS[-1]}")
    args = session.posargs or ["-n", "2", "--dist", "loadgroup"]
    session.run("pytest", *args, env={"HYPOTHESIS_PROFILE": "ci", **_corpus_env()})


@nox.session
def integration(session: nox.Session) -> None:
    """End-to-end tests with real processes: `conformance run`/`sdk` subprocesses, live-target gateways,
    replays, the SDK drivers, report.html in Chromium, Schemathesis; on 2 workers."""
    session.install("-e", ".[test]", f"anthropic=={PYTHON_SDK_PINS[-1]}")
    args = session.posargs or ["-n", "2"]
    session.run("pytest", "-m", "integration and not mutants", *args,
                env={"HYPOTHESIS_PROFILE": "ci", **_corpus_env()})


@nox.session(default=False)
def sdk(session: nox.Session) -> None:
    """The SDK matrix: `conformance sdk` with every pinned Python and TypeScript SDK; reports/sdk/matrix.md.

    A check an SDK fails is a finding shown in the matrix, not a broken session: only a run that could not
    happen (exit 2) fails it. `nox -s sdk -- --select retries` forwards options to every run.
    """
    session.install("-e", ".")
    if shutil.which("npm") is None:
        session.error("npm is not on PATH: the TypeScript SDKs are installed with npm")
    report_dir = ROOT / "reports" / "sdk"
    shutil.rmtree(report_dir, ignore_errors=True)
    for kind, pins in (("python", PYTHON_SDK_PINS), ("typescript", TYPESCRIPT_SDK_PINS)):
        for version in pins:
            session.run("conformance", "sdk", kind, "--sdk-version", version, "--report-dir", str(report_dir),
                        *session.posargs, success_codes=[0, 1])
    session.log(f"the matrix: {report_dir / 'matrix.md'}")


@nox.session(default=False)
@nox.parametrize(("kind", "version"), DRIFT_SDKS, ids=[f"{k}-{v}" for k, v in DRIFT_SDKS])
def drift(session: nox.Session, kind: str, version: str) -> None:
    """The profiles vs a pinned official SDK's types; fails on a difference not in schemas/drift-allow.json."""
    session.install("-e", ".")
    if kind == "python":
        session.install(f"anthropic=={version}")
        session.run("conformance", "drift", "--sdk", "python", *session.posargs)
        return
    if shutil.which("npm") is None:
        session.error("npm is not on PATH: the TypeScript drift check installs @anthropic-ai/sdk with npm")
    target = Path(session.cache_dir) / "drift" / f"anthropic-ai-sdk-{version}"
    if not (target / "node_modules" / "@anthropic-ai" / "sdk" / "package.json").is_file():
        target.mkdir(parents=True, exist_ok=True)
        session.run("npm", "install", "--prefix", str(target), "--no-save", "--no-audit", "--no-fund",
                    f"@anthropic-ai/sdk@{version}", external=True)
    session.run("conformance", "drift", "--sdk", "typescript", "--sdk-path", str(target), *session.posargs)


@nox.session
def corpus(session: nox.Session) -> None:
    """Lint the real recorded traffic (CONFORMANCE_CORPUS or ../shared/corpus): zero errors expected."""
    path = os.environ.get("CONFORMANCE_CORPUS") or _corpus_env().get("CONFORMANCE_CORPUS")
    if not path:
        session.skip("no corpus: set CONFORMANCE_CORPUS or place it at ../shared/corpus")
    session.install("-e", ".")
    session.run("conformance", "lint", "--min-severity", "warning", path, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint the code with ruff."""
    session.install(*EXTRAS["lint"])
    session.run("ruff", "check", "conformance", "tests", "noxfile.py", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy --strict (with the test extra: drift reads the installed SDK's types)."""
    session.install("-e", ".[test]", *EXTRAS["typecheck"])
    session.run("mypy", *session.posargs)


@nox.session
def schemas(session: nox.Session) -> None:
    """Meta-validate every schema file, $ref and profile under schemas/."""
    session.install("-e", ".")
    session.run("conformance", "check-schemas", "schemas")


@nox.session
def conformance(session: nox.Session) -> None:
    """The main job: every check against the embedded reference server, every version; reports in reports/."""
    session.install("-e", ".")
    session.run("conformance", "run", "--target", "reference", "--report-dir", "reports", "-n", "2",
                *session.posargs)


@nox.session
def replay(session: nox.Session) -> None:
    """Re-judge the shipped cassettes with today's rules, offline: no server is started, nothing regenerated."""
    session.install("-e", ".")
    session.run("conformance", "run", "--target", "cassettes:cassettes/reference", "--report-dir", "reports/replay",
                *session.posargs)


@nox.session(default=False)
def cassettes(session: nox.Session) -> None:
    """Re-record the shipped cassettes from the reference server (after a change to the checks or server)."""
    session.install("-e", ".")
    shutil.rmtree(ROOT / "cassettes" / "reference", ignore_errors=True)
    session.run("conformance", "run", "--target", "reference", "--record-mode", "all", "--cassette-dir",
                "cassettes/reference", "--max-examples", RECORD_EXAMPLES, "--report-dir", "reports/record",
                *session.posargs)


@nox.session(default=False)
def record(session: nox.Session) -> None:
    """Record cassettes from the live API (needs ANTHROPIC_API_KEY; capped at 200 requests, 50k tokens)."""
    if not os.environ.get("ANTHROPIC_API_KEY"):
        session.error("set ANTHROPIC_API_KEY to a real key to record from the live API "
                      "(it is read from the environment only and redacted from every cassette and report)")
    session.install("-e", ".")
    session.run("conformance", "run", "--target", os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
                "--record-mode", "new_episodes", "--cassette-dir", "cassettes/live", "--max-requests", "200",
                "--max-tokens", "50000", "--max-examples", "3", "--report-dir", "reports/live", *session.posargs)


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Every mutant as a `conformance run --mutant` subprocess, killed by its rule (prints the kill rate).

    The package is installed from a wheel, not editable: the requests a run sends must not depend on how
    the suite is installed (Hypothesis mixes literals of the modules it sees into what it generates).
    """
    session.install("pytest", "pytest-xdist")
    shutil.rmtree(ROOT / "dist", ignore_errors=True)
    session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(ROOT / "dist"), ".")
    wheel = next((ROOT / "dist").glob("*.whl"))
    session.install(f"{wheel}[test]")
    args = session.posargs or ["-n", "2"]
    # From a neutral directory, so the tests import the installed wheel, not the checkout.
    session.run("pytest", "-p", "no:cacheprovider", "-m", "mutants or not mutants", "--rootdir", str(ROOT),
                str(ROOT / "tests" / "test_mutants.py"), *args, env={"PYTHONSAFEPATH": "1"})


@nox.session(default=False)
def regression(session: nox.Session) -> None:
    """CI regression job: a run with the committed baseline, then `conformance compare` with main's last run.

    Reports in reports/regression; compare.md there when CONFORMANCE_COMPARE_WITH names the last main-branch run's
    report directory (README: "Regression checks in CI"). CONFORMANCE_TARGET (default reference),
    CONFORMANCE_BASELINE (default conformance-baseline.json, used when the file exists); the key of a live target
    comes from ANTHROPIC_API_KEY (or --api-key-env NAME in the posargs). Fails when a check failed (a deviation not
    in the baseline, or past its expiry) or compare found a new error.
    """
    import json

    session.install("-e", ".")
    report_dir = ROOT / "reports" / "regression"
    shutil.rmtree(report_dir, ignore_errors=True)
    args = ["conformance", "run", "--target", os.environ.get("CONFORMANCE_TARGET", "reference"),
            "--report-dir", str(report_dir), "-n", "2"]
    baseline = Path(os.environ.get("CONFORMANCE_BASELINE", "conformance-baseline.json"))
    if baseline.is_file():
        args += ["--baseline", str(baseline)]
    else:
        session.log(f"no baseline at {baseline}: every deviation fails")
    # Exit 1 (a check failed) still leaves the reports and the comparison to write; 2 (could not run) stops here.
    session.run(*args, *session.posargs, success_codes=[0, 1])
    failed = json.loads((report_dir / "findings.json").read_text(encoding="utf-8"))["summary"]["failed"]
    previous = os.environ.get("CONFORMANCE_COMPARE_WITH")
    new_errors = False
    if previous and (Path(previous) / "findings.json").is_file():
        for form, name in (("json", "compare.json"), ("markdown", "compare.md")):
            session.run("conformance", "compare", previous, str(report_dir), "--format", form,
                        "-o", str(report_dir / name), success_codes=[0, 1])
        new_errors = json.loads((report_dir / "compare.json").read_text(encoding="utf-8"))["new_errors"] > 0
        session.log(f"the comparison for the pull request: {report_dir / 'compare.md'}")
    elif previous:
        session.log(f"nothing to compare with: {previous} holds no findings.json (the first run on main?)")
    if failed or new_errors:
        session.error(f"{failed} check(s) failed{' and new error deviations' if new_errors else ''}: see "
                      f"{report_dir / 'summary.md'}")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (opt-in): lint and server throughput, report.html size and load, proxy overhead, live-target runs."""
    # playwright drives the system Chromium (Debian's chromium); no browser is downloaded.
    session.install("-e", ".", "playwright")
    session.run("python", "-m", "conformance.bench", *session.posargs)
    session.run("python", "-m", "conformance.reports.html.bench")
    session.run("python", "-m", "conformance.proxy.bench")
    # A live-target run through a small gateway, conformant and broken one way each (issue 10's figures).
    session.run("python", str(ROOT / "tests" / "bench_gateway.py"))
