"""The proof that the suite catches bugs: ``conformance run --mutant NAME`` fails with the matching rule.

Each mutant of the reference server (conformance/server/mutants.py) breaks exactly one contract. For each,
the run is started as a user would start it, as a subprocess, on the rule area that covers the contract
(``--select AREA``) and one API version, and must exit 1 with an error finding of the mutant's rule in
``findings.json``, and no error finding of any other rule (the mutant breaks one contract, not several).
The unmodified server must pass every selection used here (exit 0, no error finding), so a kill cannot
come from a selection that fails anyway.

Runs stop at the first failing check (pytest ``-x``): one failure proves the kill, and Hypothesis
shrinks every failing generated check, which costs seconds per check (a selection may narrow an area to
non-generated checks with ``-k`` for the same reason). Each test prints one line
(``killed NAME by RULE``); ``-rA`` shows them all, and the count of passed mutant tests is the kill rate.

Every mutant is already proven in-process by tests/server/test_mutants.py (its probe, and no other's).
So the default run starts a subprocess for one mutant per area of the table (errors and gatekeeping,
the message, streams, rate limits) and the unmodified server on those selections: a smoke test that
``conformance run --mutant`` works end to end. The rest carry the ``mutants`` marker, deselected by
default (pyproject's addopts) and run by ``nox -s mutants`` (``pytest -m mutants tests/test_mutants.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from conformance.server.mutants import MUTANT_TABLE, MUTANTS_BY_NAME

pytestmark = pytest.mark.integration  # `conformance run --mutant` subprocesses


class Selection(NamedTuple):
    """How a mutant's run is narrowed: one API version, one rule area, Hypothesis examples per check."""

    version: str
    area: str
    examples: int
    only: str | None = None
    """A pytest ``-k`` expression narrowing the area's checks further."""
    versus: str | None = None
    """A second API version: the run compares the two (``--compare-versions``)."""

    @property
    def id(self) -> str:
        return f"{self.area}-{self.version}-x{self.examples}" + (f"-{self.only}" if self.only else "") + \
            (f"-vs-{self.versus}" if self.versus else "")


# One selection per contract family; the reference server's models, auth styles and header families differ
# by version, so the families are spread over the versions where the contract exists.
ERRORS = Selection("2023-06-01", "error", 1)
NEGATIVE = Selection("2023-06-01", "negative", 1)
NEGATIVE_NEWEST = Selection("2026-10-21", "negative", 1)  # only the newest version rejects temperature
VERSION = Selection("2024-01-01", "version", 1)
AUTH = Selection("2026-10-21", "auth", 1)
MODEL = Selection("2024-01-01", "model", 1)
MESSAGE = Selection("2023-06-01", "message", 10)  # enough draws to hit a stop sequence
CONSISTENCY = Selection("2023-06-01", "consistency", 3)
STREAM = Selection("2023-06-01", "stream", 5)  # enough draws for a stream with two blocks
# anthropic-ratelimit-* carries reset (x-ratelimit-* does not); the burst check alone sees every header rule
# (each of its exchanges goes through the rules) and spares a generated check's shrinking.
RATELIMIT = Selection("2023-06-01", "ratelimit", 1, only="burst")
BODY = Selection("2024-01-01", "body", 1)
FAULT = Selection("2023-06-01", "fault", 1)
POSITIVE = Selection("2023-06-01", "positive", 10)  # enough draws to carry metadata
STATEFUL = Selection("2024-01-01", "stateful", 1)
VERSIONS = Selection("2023-06-01", "versions", 1, versus="2026-10-21")

SELECTIONS: dict[str, Selection] = {
    "problem-json-errors": BODY, "overloaded-as-503": FAULT, "metadata-rejected": POSITIVE,
    "metadata-rejected-in-2023-06-01": VERSIONS,
    "tool-result-rejected": STATEFUL,
    "wrong-error-type": ERRORS, "missing-request-id": ERRORS, "request-id-mismatch": ERRORS,
    "accepts-invalid": NEGATIVE, "invalid-5xx": NEGATIVE, "tool-result-unchecked": NEGATIVE,
    "temperature-accepted": NEGATIVE_NEWEST, "model-refusals-unchecked": NEGATIVE,
    "unknown-version-accepted": VERSION, "missing-version-accepted": VERSION, "repeated-version-accepted": VERSION,
    "wrong-key-accepted": AUTH, "bearer-rejected": AUTH,
    "unknown-model-accepted": MODEL, "models-list-incomplete": MODEL,
    "bad-message-id": MESSAGE, "stop-sequence-unreported": MESSAGE, "max-tokens-exceeded": MESSAGE,
    "tool-use-stop-without-tool": MESSAGE,
    "count-tokens-off": CONSISTENCY, "stream-differs": CONSISTENCY,
    "no-message-stop": STREAM, "delta-after-stop": STREAM, "overlapping-blocks": STREAM, "wrong-delta-type": STREAM,
    "early-message-delta": STREAM, "usage-decreasing": STREAM, "error-event-non-error-type": STREAM,
    "event-name-mismatch": STREAM, "block-index-gap": STREAM, "message-start-twice": STREAM,
    "tool-input-broken": STREAM,
    "no-retry-after": RATELIMIT, "no-ratelimit-headers-on-429": RATELIMIT, "remaining-rises": RATELIMIT,
    "reset-not-timestamp": RATELIMIT, "remaining-above-limit": RATELIMIT, "retry-after-too-short": RATELIMIT,
}


class Run(NamedTuple):
    exit_code: int
    error_rules: list[str]
    output: str
    seconds: float


def _run(selection: Selection, report_dir: Path, mutant: str | None = None) -> Run:
    args = [sys.executable, "-m", "conformance", "run", "--api-version", selection.version,
            "--select", selection.area, "--max-examples", str(selection.examples), "--report-dir", str(report_dir)]
    if mutant is not None:
        args += ["--mutant", mutant]
    if selection.versus:
        args += ["--api-version", selection.versus, "--compare-versions"]
    args += ["--", "-x"]
    if selection.only:
        args += ["-k", selection.only]
    # The outer pytest's own variables (xdist worker count, current test) must not shape the inner run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, cwd=report_dir.parent, env=env, timeout=300)
    seconds = time.monotonic() - started
    output = done.stdout[-3000:] + done.stderr[-2000:]
    try:
        findings: list[dict[str, Any]] = json.loads((report_dir / "findings.json").read_text())["findings"]
    except (OSError, ValueError, KeyError) as exc:
        findings = []
        output += f"\n(findings.json unreadable: {exc})"
    errors = sorted({f["rule"] for f in findings if f.get("severity") == "error"})
    return Run(done.returncode, errors, output, seconds)


SMOKE: tuple[str, ...] = ("wrong-error-type", "bad-message-id", "no-message-stop", "no-retry-after")
"""One mutant per area of MUTANT_TABLE, run as a subprocess in the default test run."""


def _smoke_or_marked(values: list[Any], is_smoke: Any) -> list[Any]:
    return [v if is_smoke(v) else pytest.param(v, marks=pytest.mark.mutants) for v in values]


def test_every_mutant_has_a_selection_covering_its_rule() -> None:
    assert sorted(SELECTIONS) == sorted(m.name for m in MUTANT_TABLE)
    assert set(SMOKE) <= set(SELECTIONS)
    for name, selection in SELECTIONS.items():
        assert MUTANTS_BY_NAME[name].rule.split(".")[0] == selection.area, name


@pytest.mark.parametrize("selection", _smoke_or_marked(sorted(set(SELECTIONS.values())),
                                                      lambda s: s in {SELECTIONS[n] for n in SMOKE}),
                         ids=lambda s: s.id)
def test_unmodified_server_passes_the_selection(selection: Selection, tmp_path: Path) -> None:
    run = _run(selection, tmp_path / "reports")
    assert (run.exit_code, run.error_rules) == (0, []), run.output
    print(f"unmodified server passes {selection.id} in {run.seconds:.1f}s")


@pytest.mark.parametrize("name", _smoke_or_marked([m.name for m in MUTANT_TABLE], lambda n: n in SMOKE))
def test_mutant_is_killed_by_its_rule(name: str, tmp_path: Path, record_property: Any) -> None:
    mutant = MUTANTS_BY_NAME[name]
    run = _run(SELECTIONS[name], tmp_path / "reports", mutant=name)
    killed = run.exit_code == 1 and mutant.rule in run.error_rules
    record_property("mutant_killed", killed)
    assert killed, (f"mutant {name} ({mutant.breaks}) survived: exit {run.exit_code}, error rules "
                    f"{run.error_rules}, expected {mutant.rule}\n{run.output}")
    assert run.error_rules == [mutant.rule], f"mutant {name} broke more than its one contract: {run.error_rules}"
    print(f"killed {name} by {mutant.rule} in {run.seconds:.1f}s")
