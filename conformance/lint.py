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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance.baseline import KNOWN, Baseline, Fingerprint, Scope, counts, normal_source, of_finding, reconcile
from conformance.cassettes import ReadLimits, read_recording
from conformance.cassettes.files import SkippedFile, walk_recordings
from conformance.engine import check_exchanges, parties, profile_for
from conformance.errors import InputError
from conformance.exchange import Exchange, endpoint_of
from conformance.exchange_log import exchange_fields
from conformance.findings import Finding, Severity
from conformance.profiles import Profiles, load_profiles

if TYPE_CHECKING:
    import datetime as dt

    from conformance.baseline import Reconciled

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
    exchanges: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """The exchange log (:mod:`conformance.exchange_log`, not yet redacted), when asked for."""
    places: dict[tuple[str | None, int | None], tuple[str | None, str]] = dataclasses.field(default_factory=dict)
    """Per interaction: its endpoint and the API version that judged it (a finding's fingerprint names both)."""
    statuses: list[str | None] = dataclasses.field(default_factory=list)
    """With a baseline: each finding's status (``known``, ``new``, ``expired``; ``None`` for a non-error)."""
    baseline: Reconciled | None = None

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def status(self, n: int) -> str | None:
        """The baseline status of finding ``n`` (``None`` without a baseline, or for a non-error)."""
        return self.statuses[n] if n < len(self.statuses) else None

    @property
    def known(self) -> int:
        return sum(1 for s in self.statuses if s == KNOWN)

    @property
    def exit_code(self) -> int:
        if self.input_errors:
            return 2
        # A known deviation (matching a live baseline entry) is shown and counted, never failing.
        return 1 if self.count(Severity.ERROR) > self.known else 0

    def finding_json(self, f: Finding) -> dict[str, Any]:
        """A finding in the ``findings.json`` shape, with the endpoint and API version of its interaction."""
        endpoint, version = self.places.get((f.file, f.interaction), (None, None))
        return {**f.to_json(), "endpoint": endpoint, "api_version": version}


def describe(method: str | None, url: str | None, status: int | None, stream: bool) -> str:
    """``POST /v1/messages -> 200 (stream)``: an interaction in a few words."""
    parts = []
    if url:
        parts.append(f"{method} {urlsplit(url).path or '/'}")
    if status is not None:
        parts.append(f"-> {status}")
    if stream:
        parts.append("(stream)")
    return " ".join(parts) or "capture"


def label(exchange: Exchange) -> str:
    req, resp = exchange.request, exchange.response
    return describe(req.method if req is not None else None, req.url if req is not None else None,
                    resp.status if resp is not None else None, exchange.is_stream)


def lint_paths(paths: Sequence[Path], *, api_version: str | None = None, select: Sequence[str] | None = None,
               party: str = "all", profiles: Profiles | None = None, progress: ProgressFn | None = None,
               limits: ReadLimits | None = None, keep_exchanges: bool = False,
               ignore: Sequence[str] | None = None) -> LintResult:
    """Lint every recording under ``paths``. Bad paths and files are collected as input errors, not raised:
    every readable input is reported whatever else was given.

    ``party`` (``client``, ``server`` or ``all``) keeps only the findings against that party, so the
    exit code counts only its errors: ``client`` when validating an SDK, ``server`` for a gateway.
    ``keep_exchanges`` keeps each exchange's log entry for the reports (``lint --report-dir``).
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
                                      party=party, ignore=ignore)
        except InputError as exc:
            result.input_errors.append(exc)
            continue
        result.files += 1
        result.formats[recording.format] += 1
        for ex in recording.exchanges:
            result.labels[(ex.file, ex.interaction)] = label(ex)
            result.places[(ex.file, ex.interaction)] = (endpoint_of(ex), profile_for(ex, profiles, api_version).version)
        result.skipped.extend(Skipped(ex.file, ex.interaction, f"{reason}: {label(ex)}")
                              for ex, reason in checked.skipped)
        result.interactions += checked.checked
        if keep_exchanges:
            result.exchanges.extend(_log_entry(ex, profiles, api_version) for ex in recording.exchanges)
        result.findings.extend(checked.findings)
    return result


def apply_baseline(result: LintResult, baseline: Baseline, *, today: dt.date, select: Sequence[str] | None = None,
                   ignore: Sequence[str] | None = None, party: str = "all") -> list[tuple[Fingerprint, str]]:
    """Each error finding's status against ``baseline``, and each entry's fate (fixed only in a file that was read).

    Returns each error finding's fingerprint and message (what ``--baseline-update`` writes new entries from)."""
    fingerprints = [of_finding(result.finding_json(f), "lint") if counts(f.to_json()) else None
                    for f in result.findings]
    result.statuses = [baseline.status(fp, today) if fp is not None else None for fp in fingerprints]
    read = frozenset(normal_source(file) for file, _ in result.labels if file is not None)
    scope = Scope(read, select=tuple(select or ()), ignore=tuple(ignore or ()), parties=parties(party),
                  not_looked="its file was not read")
    result.baseline = reconcile(baseline, [fp for fp in fingerprints if fp is not None], scope, today)
    return [(fp, f.message) for fp, f in zip(fingerprints, result.findings, strict=True) if fp is not None]


def _log_entry(exchange: Exchange, profiles: Profiles, api_version: str | None) -> dict[str, Any]:
    intent = exchange.intent
    return {"file": exchange.file, "interaction": exchange.interaction, "label": label(exchange),
            "api_version": profile_for(exchange, profiles, api_version).version,
            "intent": intent.to_json() if intent is not None else None, **exchange_fields(exchange)}
