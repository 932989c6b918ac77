"""Real-traffic acceptance: every real recording lints with zero error-severity findings.

Reads the corpus from CONFORMANCE_CORPUS (CI points it at ../shared/corpus); skipped, with the reason
shown, when it is not set. One test per file, so a failure names the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cassettes import iter_recording_files
from conformance.findings import Severity
from conformance.lint import lint_paths
from tests.conftest import corpus_dir

_CORPUS = corpus_dir()
_FILES = sorted(iter_recording_files([_CORPUS])) if _CORPUS is not None and _CORPUS.is_dir() else []


@pytest.mark.corpus
def test_corpus_is_present(corpus: Path) -> None:
    assert _FILES, f"no recordings found under {corpus}"


@pytest.mark.corpus
@pytest.mark.parametrize("path", _FILES, ids=[p.name for p in _FILES])
def test_real_recording_has_no_error_findings(path: Path) -> None:
    result = lint_paths([path])
    assert not result.input_errors, [str(e) for e in result.input_errors]
    assert result.files == 1
    errors = [f for f in result.findings if f.severity == Severity.ERROR]
    assert not errors, "\n".join(f"{f.rule} {f.part} {f.path} event={f.event}: {f.message}" for f in errors)
