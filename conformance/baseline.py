"""Baselines: deviations a team has accepted, so that CI fails only on what is new.

A baseline is a plain JSON file, reviewed like code: one entry per known deviation, sorted, each with
an optional ``reason``, ``owner`` and ``expires`` date. Against it every error finding is

    known     it matches a live entry: shown and counted, but it fails nothing
    expired   it matches an entry past its ``expires`` date: it fails again, and the reports say why
    new       no entry: it fails as usual

and after a run every entry is ``seen``, ``expired``, ``fixed`` (its check or file was judged in full and
the deviation did not come back) or ``unchecked`` (this run did not look: check not run, rule not
selected, its check failed first ...). Warnings and info never fail, so a baseline only speaks of errors.

The **fingerprint** says which deviation a finding is, without anything that changes from run to run:

    rule, party         what is broken, and whose fault it is
    api_version         the profile that judged it
    endpoint            messages, count_tokens, models, model ("" for anything else)
    source              run: the check (``test_messages::test_x[2023-06-01]``), never the Hypothesis
                        example or the exchange's number; lint: the file, as given on the command line
    interaction         lint only: the interaction's number in its file (a recording does not change)
    part, path          which document and where in it, with array indexes as ``[*]``: an index counts
                        what was generated (the fourth turn of a generated conversation; the third block of
                        an answer to it), not what is wrong. Kept only where the position is the contract:
                        :data:`KEPT_INDEXES`. A stream finding's event number is left out for the same reason.

So two runs that generate other requests (another ``--seed``, more ``--max-examples``) give a deviation the
same fingerprint. Everything here is a pure function of its arguments: reading and writing the file is at the
edges (:func:`load`, :func:`dumps`), dates come in as arguments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.errors import InputError

__all__ = ["EXPIRED", "FIXED", "KINDS", "KNOWN", "NEW", "SEEN", "UNCHECKED", "Baseline", "Entry", "EntryResult",
           "Fingerprint", "Reconciled", "Scope", "counts", "dumps", "fingerprint", "load", "normal_path",
           "normal_source", "of_finding", "parse", "reconcile", "save", "update_line", "updated"]

FORMAT = 1
"""The version of the file format; a file of a newer format is refused, naming it."""
KINDS = ("run", "lint")
"""What a baseline's sources are: a run's checks or a lint's files (``proxy`` and ``sdk`` come later)."""

KNOWN, NEW, EXPIRED = "known", "new", "expired"
"""A finding's status against a baseline."""
SEEN, FIXED, UNCHECKED = "seen", "fixed", "unchecked"
"""An entry's status after a run (or ``expired``)."""

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 100_000
MAX_TEXT = 2_000
"""Characters of any one field: a path is at most 300 (findings cut theirs), a reason a paragraph."""

KEPT_INDEXES: frozenset[tuple[str, str, int]] = frozenset({
    # A version may require the first turn to be the user's: a finding there is about that position, whatever
    # was generated after it.
    ("request.body", "$.messages", 0),
})
"""(part, path of the array, index): the array positions the contract itself gives a meaning. Every other
index is ``[*]``: a content block's position depends on what came before it (thinking first, text, then
tool_use), and a rule about a position names it in its id (``stream.first-event``)."""

# One step of a finding's JSON path that may hold an index: [3], or ['a name'] (kept whole: it may hold digits).
_STEP = re.compile(r"\[(\d+)\]|\['(?:[^'\\]|\\.)*'\]")


def normal_path(part: str, path: str) -> str:
    """``path`` with every array index that is not in :data:`KEPT_INDEXES` as ``[*]``."""
    out: list[str] = []
    at = 0
    for step in _STEP.finditer(path):
        out.append(path[at:step.start()])
        index = step.group(1)
        if index is None or (part, "".join(out), int(index)) in KEPT_INDEXES:
            out.append(step.group(0))
        else:
            out.append("[*]")
        at = step.end()
    out.append(path[at:])
    return "".join(out)


@dataclasses.dataclass(frozen=True, slots=True)
class Fingerprint:
    """Which deviation a finding is (see the module docstring): equal for the same deviation in any run."""

    rule: str
    party: str
    api_version: str
    endpoint: str
    source: str
    interaction: int | None
    part: str
    path: str

    def key(self) -> tuple[Any, ...]:
        """The order entries are written in: by rule, then where."""
        return (self.rule, self.party, self.api_version, self.endpoint, self.source,
                -1 if self.interaction is None else self.interaction, self.part, self.path)

    def to_json(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "party": self.party, "api_version": self.api_version,
                               "endpoint": self.endpoint}
        if kind == "lint":
            out["file"] = self.source
            out["interaction"] = self.interaction
        else:
            out["check"] = self.source
        out["part"] = self.part
        out["path"] = self.path
        return out

    def describe(self) -> str:
        """One line: ``message.id-prefix (server) in test_x[2023-06-01] response.body $.id``."""
        where = self.source + (f" interaction {self.interaction}" if self.interaction is not None else "")
        return f"{self.rule} ({self.party}) in {where or '?'} {self.part} {self.path}"


def normal_source(source: str | None) -> str:
    """A check id as it is; a file with ``/`` separators (a baseline written on Windows matches on Linux)."""
    return (source or "").replace("\\", "/")


def fingerprint(*, rule: str, party: str, api_version: str | None, endpoint: str | None, source: str | None,
                interaction: int | None, part: str, path: str) -> Fingerprint:
    return Fingerprint(rule, party, api_version or "", endpoint or "", normal_source(source), interaction, part,
                       normal_path(part, path))


def of_finding(finding: Mapping[str, Any], kind: str) -> Fingerprint:
    """The fingerprint of a finding in the ``findings.json`` shape (``file`` is a run's check or a lint's file)."""
    interaction = finding.get("interaction")
    return fingerprint(rule=str(finding.get("rule")), party=str(finding.get("party") or "server"),
                       api_version=_text(finding.get("api_version")), endpoint=_text(finding.get("endpoint")),
                       source=_text(finding.get("file")),
                       interaction=interaction if kind == "lint" and isinstance(interaction, int) else None,
                       part=str(finding.get("part") or "exchange"), path=str(finding.get("path") or "$"))


def counts(finding: Mapping[str, Any]) -> bool:
    """Whether a baseline speaks of this finding: an error that was exercised (warnings never fail)."""
    return finding.get("severity") == "error" and not finding.get("not_exercised")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- the file -------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    fingerprint: Fingerprint
    reason: str | None = None
    owner: str | None = None
    expires: dt.date | None = None
    """The last day the entry waives its deviation; from the day after, the deviation fails again."""
    example: str | None = None
    """A finding's message when the entry was written, for a reviewer (never matched on)."""

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def to_json(self, kind: str) -> dict[str, Any]:
        out = self.fingerprint.to_json(kind)
        for name in ("reason", "owner"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.expires is not None:
            out["expires"] = self.expires.isoformat()
        if self.example:
            out["example"] = self.example
        return out


@dataclasses.dataclass(frozen=True)
class Baseline:
    kind: str
    entries: tuple[Entry, ...] = ()
    file: str | None = None
    _index: dict[Fingerprint, Entry] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {e.fingerprint: e for e in self.entries})

    def entry(self, fp: Fingerprint) -> Entry | None:
        return self._index.get(fp)

    def status(self, fp: Fingerprint, today: dt.date) -> str:
        """``known``, ``expired`` or ``new``: what the finding with this fingerprint is against the baseline."""
        entry = self._index.get(fp)
        if entry is None:
            return NEW
        return EXPIRED if entry.expired(today) else KNOWN


_SOURCE_FIELD = {"run": "check", "lint": "file"}
_FIELDS = {"rule", "party", "api_version", "endpoint", "check", "file", "interaction", "part", "path", "reason",
           "owner", "expires", "example"}


def _bad(file: str, where: str, message: str, fix: str | None = None) -> InputError:
    return InputError(message, file=file, where=where, fix=fix)


def _string(entry: Mapping[str, Any], name: str, file: str, where: str, *, required: bool) -> str | None:
    value = entry.get(name)
    if value is None:
        if required:
            raise _bad(file, where, f"{name!r} is missing", "every entry names rule, party, api_version, endpoint, "
                                                              "its check (run) or file and interaction (lint), part "
                                                              "and path")
        return None
    if not isinstance(value, str):
        raise _bad(file, where, f"{name!r} must be a string, not {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise _bad(file, where, f"{name!r} is {len(value):,} characters long (at most {MAX_TEXT:,})")
    return value


def _entry(raw: Any, kind: str, file: str, n: int) -> Entry:
    where = f"entries[{n}]"
    if not isinstance(raw, Mapping):
        raise _bad(file, where, f"an entry must be an object, not {type(raw).__name__}")
    unknown = sorted(str(k) for k in raw if k not in _FIELDS)
    if unknown:
        raise _bad(file, where, f"unknown field {unknown[0]!r}", "known: " + ", ".join(sorted(_FIELDS)))
    other = _SOURCE_FIELD["lint" if kind == "run" else "run"]
    if other in raw:
        raise _bad(file, where, f"{other!r} belongs in a {'lint' if kind == 'run' else 'run'} baseline; this one is "
                                f"for {kind}", f"name the {_SOURCE_FIELD[kind]} instead")
    interaction = raw.get("interaction")
    if kind == "lint" and (isinstance(interaction, bool) or not isinstance(interaction, int) or interaction < 0):
        raise _bad(file, where, "'interaction' must be a whole number >= 0 (the interaction's number in its file)")
    if kind != "lint" and interaction is not None:
        raise _bad(file, where, "'interaction' belongs in a lint baseline (a run's entries name their check only)")
    text = {name: _string(raw, name, file, where, required=name not in ("reason", "owner", "expires", "example"))
            for name in ("rule", "party", "api_version", "endpoint", _SOURCE_FIELD[kind], "part", "path", "reason",
                         "owner", "expires", "example")}
    expires = None
    if text["expires"] is not None:
        try:
            expires = dt.date.fromisoformat(text["expires"])
        except ValueError:
            raise _bad(file, where, f"'expires' must be a date YYYY-MM-DD, not {text['expires']!r}") from None
    fp = fingerprint(rule=str(text["rule"]), party=str(text["party"]), api_version=text["api_version"],
                     endpoint=text["endpoint"], source=text[_SOURCE_FIELD[kind]],
                     interaction=interaction if kind == "lint" else None, part=str(text["part"]),
                     path=str(text["path"]))
    return Entry(fp, text["reason"], text["owner"], expires, text["example"])


def parse(data: Any, *, kind: str, file: str) -> Baseline:
    """The baseline in ``data`` (parsed JSON); :class:`InputError` naming ``file``, the entry and the fix."""
    if not isinstance(data, Mapping):
        raise _bad(file, "$", f"a baseline is a JSON object, not {type(data).__name__}",
                   'write one with --baseline-update, or start from {"baseline": 1, "kind": "run", "entries": []}')
    version = data.get("baseline")
    if version != FORMAT:
        raise _bad(file, "baseline", f"format {version!r} is not one this suite reads (it reads {FORMAT})",
                   "write it again with --baseline-update")
    if data.get("kind") != kind:
        raise _bad(file, "kind", f"this is a {data.get('kind')!r} baseline; {kind} needs a {kind!r} one",
                   f"give a baseline written by `conformance {kind} --baseline-update`")
    raw = data.get("entries")
    if not isinstance(raw, list):
        raise _bad(file, "entries", f"'entries' must be a list, not {type(raw).__name__}")
    if len(raw) > MAX_ENTRIES:
        raise _bad(file, "entries", f"{len(raw):,} entries (at most {MAX_ENTRIES:,})")
    entries: list[Entry] = []
    first: dict[Fingerprint, int] = {}
    for n, item in enumerate(raw):
        entry = _entry(item, kind, file, n)
        if entry.fingerprint in first:
            raise _bad(file, f"entries[{n}]", f"the same deviation as entries[{first[entry.fingerprint]}]",
                       "keep one entry per deviation")
        first[entry.fingerprint] = n
        entries.append(entry)
    return Baseline(kind, tuple(entries), file)


def load(path: Path, kind: str, *, missing_ok: bool = False) -> Baseline:
    """Read and check a baseline file; ``missing_ok``: a file not there yet is an empty baseline."""
    file = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return Baseline(kind, (), file)
        raise InputError("no such baseline file", file=file,
                         fix=f"write one with `conformance {kind} ... --baseline {file} --baseline-update`") from None
    except OSError as exc:
        raise InputError(f"cannot read the baseline: {exc.strerror or exc}", file=file) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"the baseline is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", file=file)
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InputError("the baseline is nested too deeply to be one", file=file) from None
    except ValueError as exc:
        where = f"{exc.lineno}:{exc.colno}" if isinstance(exc, json.JSONDecodeError) else None
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise InputError(f"not JSON: {message}", file=file, where=where) from None
    return parse(data, kind=kind, file=file)


def dumps(baseline: Baseline) -> str:
    """The file's text: sorted, one entry per deviation, one field per line (a review diff shows each change)."""
    entries = sorted(baseline.entries, key=lambda e: e.fingerprint.key())
    doc = {"baseline": FORMAT, "kind": baseline.kind, "entries": [e.to_json(baseline.kind) for e in entries]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def save(path: Path, baseline: Baseline) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(baseline), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the baseline: {exc.strerror or exc}", file=str(path)) from None


# -- after a run ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """What a run judged in full, so an entry it did not see is called fixed only when it looked."""

    sources: frozenset[str]
    """Checks that passed (run), files read (lint)."""
    failed: frozenset[str] = frozenset()
    """Checks that failed: they stopped at their first failing example, so an unseen entry there is unchecked."""
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    parties: frozenset[str] = frozenset({"client", "server"})
    not_looked: str = "its check did not run or was not exercised"
    """What to say of an entry whose source is not among ``sources`` (lint: its file was not read)."""

    def why_unchecked(self, fp: Fingerprint) -> str | None:
        from conformance.engine import selected

        if not selected(fp.rule, self.select, self.ignore):
            return "its rule was not selected"
        if fp.party not in self.parties:
            return f"a {fp.party} rule; this run judged {', '.join(sorted(self.parties))} only"
        if fp.source in self.failed:
            return "its check failed on something else first"
        if fp.source not in self.sources:
            return self.not_looked
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class EntryResult:
    entry: Entry
    status: str
    """``seen``, ``expired``, ``fixed`` or ``unchecked``."""
    findings: int = 0
    why: str | None = None
    """Why it is unchecked."""

    def to_json(self, kind: str) -> dict[str, Any]:
        out = {**self.entry.to_json(kind), "status": self.status, "findings": self.findings}
        if self.why:
            out["why"] = self.why
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Reconciled:
    """A run against its baseline: how many of its error findings were known, new, expired; each entry's fate."""

    file: str | None
    kind: str
    findings: Mapping[str, int]
    """``known`` / ``new`` / ``expired`` -> how many error findings."""
    entries: tuple[EntryResult, ...]

    def with_status(self, status: str) -> list[EntryResult]:
        return [e for e in self.entries if e.status == status]

    def to_json(self) -> dict[str, Any]:
        statuses = Counter(e.status for e in self.entries)
        return {"file": self.file, "kind": self.kind,
                "findings": {s: self.findings.get(s, 0) for s in (KNOWN, NEW, EXPIRED)},
                "entries": {s: statuses.get(s, 0) for s in (SEEN, EXPIRED, FIXED, UNCHECKED)},
                "entry_results": [e.to_json(self.kind) for e in self.entries]}


def reconcile(baseline: Baseline, observed: Iterable[Fingerprint], scope: Scope, today: dt.date) -> Reconciled:
    """Each error finding's status and each entry's fate, from the fingerprints of a run's error findings."""
    seen = Counter(observed)
    statuses: Counter[str] = Counter()
    for fp, n in seen.items():
        statuses[baseline.status(fp, today)] += n
    results = []
    for entry in sorted(baseline.entries, key=lambda e: e.fingerprint.key()):
        n = seen.get(entry.fingerprint, 0)
        if n:
            results.append(EntryResult(entry, EXPIRED if entry.expired(today) else SEEN, n))
            continue
        why = scope.why_unchecked(entry.fingerprint)
        results.append(EntryResult(entry, UNCHECKED if why else FIXED, 0, why))
    return Reconciled(baseline.file, baseline.kind, dict(statuses), tuple(results))


def updated(baseline: Baseline, reconciled: Reconciled,
            observed: Sequence[tuple[Fingerprint, str]]) -> Baseline:
    """The refreshed baseline: fixed entries dropped, every other entry kept as it was (its reason, owner and
    expiry with it), an entry added for each new deviation (``observed``: fingerprint and a finding's message)."""
    fixed = {r.entry.fingerprint for r in reconciled.entries if r.status == FIXED}
    kept = [e for e in baseline.entries if e.fingerprint not in fixed]
    added: dict[Fingerprint, Entry] = {}
    for fp, message in observed:
        if baseline.entry(fp) is None and fp not in added:
            added[fp] = Entry(fp, example=message[:300] or None)
    return Baseline(baseline.kind, (*kept, *added.values()), baseline.file)


def update_line(old: Baseline, new: Baseline) -> str:
    """What ``--baseline-update`` did, in one line."""
    before, after = {e.fingerprint for e in old.entries}, {e.fingerprint for e in new.entries}
    return (f"baseline: wrote {new.file}: {len(after)} entries ({len(after - before)} added, {len(before - after)} "
            "fixed and removed; reasons, owners and expiry dates kept)")
