"""Sessions for the conformance suite. `nox -l` lists them; `nox -s NAME -- ARGS` forwards ARGS.

Every session uses the Python that runs nox (3.11, 3.12 or 3.13: `requires-python` in pyproject.toml),
so the README's commands work on a machine whose only Python is any of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "schemas", "replay"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
ROOT = Path(__file__).parent
CORPUS_DEFAULT = ROOT.parent / "shared" / "corpus"
# The shipped cassettes hold a run with this many examples per check (small: they are re-judged offline
# by every CI run, and each one is a file in the repository).
RECORD_EXAMPLES = "5"
# The official SDKs the suite is checked against: the newest of each line. Python 1.x sends
# anthropic-version 2023-06-01 with x-api-key, 2.x sends 2026-10-21 with a bearer token. The last one is
# what `tests` runs tests/sdk with; `sdk` runs them with each. The TypeScript pin is the one
# tests/sdk/ts/package-lock.json installs (tests/test_drift.py keeps the two equal).
PYTHON_SDK_PINS = ("1.17.0", "2.14.0")
TYPESCRIPT_SDK_PINS = ("1.14.0",)
DRIFT_SDKS = [("python", v) for v in PYTHON_SDK_PINS] + [("typescript", v) for v in TYPESCRIPT_SDK_PINS]


def _corpus_env() -> dict[str, str]:
    """Point the real-traffic tests at ../shared/corpus when it exists and nothing else was set."""
    if "CONFORMANCE_CORPUS" in os.environ or not CORPUS_DEFAULT.is_dir():
        return {}
    return {"CONFORMANCE_CORPUS": str(CORPUS_DEFAULT)}


@nox.session
def tests(session: nox.Session) -> None:
    """Run the project's own tests (unit, property, server, SDK, CLI) on 2 workers."""
    session.install("-e", ".[test]", f"anthropic=={PYTHON_SDK_PINS[-1]}")
    args = session.posargs or ["-n", "2", "--dist", "loadgroup"]
    session.run("pytest", *args, env={"HYPOTHESIS_PROFILE": "ci", **_corpus_env()})


@nox.session(default=False)
@nox.parametrize("anthropic", PYTHON_SDK_PINS)
def sdk(session: nox.Session, anthropic: str) -> None:
    """The official Python SDK at each pinned version (strict response validation included) against the server."""
    session.install("-e", ".[test]", f"anthropic=={anthropic}")
    session.run("pytest", "-n", "2", "tests/sdk/test_python_sdk.py", *session.posargs)


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
def bench(session: nox.Session) -> None:
    """Benchmarks (opt-in): lint and reference-server throughput, report.html size and load time, proxy overhead."""
    # playwright drives the system Chromium (Debian's chromium); no browser is downloaded.
    session.install("-e", ".", "playwright")
    session.run("python", "-m", "conformance.bench", *session.posargs)
    session.run("python", "-m", "conformance.reports.html.bench")
    session.run("python", "-m", "conformance.proxy.bench")
