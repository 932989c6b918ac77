"""``conformance lint``: check recorded traffic against the contract.

Reads each recording (any supported format), runs the rule tables over its
exchanges and collects findings. Rendering is in :mod:`conformance.reports`;
this module only produces data.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from conformance.cassettes import ReadLimits, read_recording
from conformance.cassettes.files import SkippedFile, walk_recordings
from conformance.engine import check_exchanges
from conformance.errors import InputError
from conformance.exchange import Exchange
from conformance.findings import Finding, Severity
from conformance.profiles import Profiles, load_profiles

ProgressFn = Callable[[int, int, Path], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Skipped:
    file: str | None
    interaction: int | None
    reason: str


@dataclasses.dataclass
class LintResult:
    findings: list[Finding] = dataclasses.field(default_factory=list)
    files: int = 0
    interactions: int = 0
    skipped: list[Skipped] = dataclasses.field(default_factory=list)
    input_errors: list[InputError] = dataclasses.field(default_factory=list)
    formats: Counter[str] = dataclasses.field(default_factory=Counter)
    labels: dict[tuple[str | None, int | None], str] = dataclasses.field(default_factory=dict)
    """A short human label per interaction: ``POST /v1/messages -> 200 (stream)``."""

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        if self.input_errors:
            return 2
        return 1 if self.count(Severity.ERROR) else 0


def label(exchange: Exchange) -> str:
    parts = []
    if exchange.request is not None and exchange.request.url:
        parts.append(f"{exchange.request.method} {exchange.request.path}")
    if exchange.response is not None and exchange.response.status is not None:
        parts.append(f"-> {exchange.response.status}")
    if exchange.is_stream:
        parts.append("(stream)")
    return " ".join(parts) or "capture"


def lint_paths(paths: Sequence[Path], *, api_version: str | None = None, select: Sequence[str] | None = None,
               party: str = "all", profiles: Profiles | None = None, progress: ProgressFn | None = None,
               limits: ReadLimits | None = None) -> LintResult:
    """Lint every recording under ``paths``. Bad paths and files are collected as input errors, not raised:
    every readable input is reported whatever else was given.

    ``party`` (``client``, ``server`` or ``all``) keeps only the findings against that party, so the
    exit code counts only its errors: ``client`` when validating an SDK, ``server`` for a gateway.
    """
    profiles = profiles or load_profiles()
    if api_version is not None:
        profiles.get(api_version)  # fail early, naming the known versions
    result = LintResult()
    files: list[Path] = []
    for item in walk_recordings(paths):
        if isinstance(item, InputError):
            result.input_errors.append(item)
        elif isinstance(item, SkippedFile):
            result.skipped.append(Skipped(str(item.path), None, item.reason))
        else:
            files.append(item)
    for n, path in enumerate(files, 1):
        if progress is not None:
            progress(n, len(files), path)
        try:
            recording = read_recording(path, limits)
            # A stream read from disk is read while it is checked: it may break (an event over the
            # limit) half-way, and then the file is unreadable, not half-checked.
            checked = check_exchanges(recording.exchanges, profiles, api_version=api_version, select=select,
                                      party=party)
        except InputError as exc:
            result.input_errors.append(exc)
            continue
        result.files += 1
        result.formats[recording.format] += 1
        for ex in recording.exchanges:
            result.labels[(ex.file, ex.interaction)] = label(ex)
        result.skipped.extend(Skipped(ex.file, ex.interaction, f"{reason}: {label(ex)}")
                              for ex, reason in checked.skipped)
        result.interactions += checked.checked
        result.findings.extend(checked.findings)
    return result
