"""A recorded run, indexed by the check that sent each exchange, for re-judging with today's rules.

Replaying walks the recording, not the generators: a check's recorded exchanges (with the intents
they were sent with, :mod:`conformance.intent`) are judged again, so a newer suite (new rules, new
profiles, different generators) gives its verdict on traffic recorded once. Exchanges name their
check in their metadata; a recording made before metadata existed is matched by cassette file name
(one cassette per check), and its exchanges are judged by the exchange rules only.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from pathlib import Path

from conformance.cassettes import iter_recording_files, read_recording
from conformance.errors import InputError
from conformance.exchange import Exchange
from conformance.intent import check_id

__all__ = ["Recording", "recording_of"]


@dataclasses.dataclass
class Recording:
    directory: Path
    by_check: dict[str, list[Exchange]]
    by_file_stem: dict[str, list[Exchange]]
    suite_versions: set[str]
    unreadable: list[InputError]

    def exchanges_of(self, check: str) -> list[Exchange]:
        """What ``check`` (a pytest node id) sent when the recording was made, in order ([] if nothing)."""
        found = self.by_check.get(check_id(check))
        if found:
            return list(found)
        from conformance.cassettes.recorder import cassette_name

        return [ex for ex in self.by_file_stem.get(cassette_name(check_id(check)), []) if ex.meta is None or
                ex.meta.check is None]

    def deterministic(self, check: str) -> bool:
        """Whether the recording of ``check`` came from a target that repeats itself (it says so per exchange)."""
        return all(ex.meta is not None and ex.meta.deterministic is True for ex in self.exchanges_of(check))

    def describe(self) -> str:
        made = ", ".join(sorted(self.suite_versions)) or "an unknown version (no metadata)"
        return f"{self.directory}, made with suite {made}"


@functools.lru_cache(maxsize=4)
def recording_of(directory: Path) -> Recording:
    """Read every recording under ``directory`` once; unreadable files are kept as input errors."""
    by_check: dict[str, list[Exchange]] = defaultdict(list)
    by_stem: dict[str, list[Exchange]] = defaultdict(list)
    versions: set[str] = set()
    unreadable: list[InputError] = []
    for path in iter_recording_files([directory]):
        try:
            recording = read_recording(path)
        except InputError as exc:
            unreadable.append(exc)
            continue
        for ex in recording.exchanges:
            by_stem[path.stem].append(ex)
            meta = ex.meta
            if meta is not None and meta.check is not None:
                by_check[check_id(meta.check)].append(ex)
            if meta is not None and meta.suite_version:
                versions.add(meta.suite_version)
    return Recording(directory, dict(by_check), dict(by_stem), versions, unreadable)
