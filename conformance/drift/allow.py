"""The reviewed list of known, explained differences: ``schemas/drift-allow.json``.

Each entry names what it explains and why::

    {"sdk": "python", "profiles": ["2023-06-01"], "shape": "request", "path": "$.temperature",
     "kind": "profile-only-field", "reason": "..."}

``sdk`` (``python``, ``typescript`` or ``*``), ``sdk_versions`` (e.g. ``1.*``; default any),
``profiles`` (a list or ``*``), ``shape`` (or ``*``) and ``path`` select differences; ``kind``
narrows to one kind. In ``sdk_versions`` and ``path`` only ``*`` is special (any characters), so
paths are written as drift prints them (``$.messages[*].role``). Every entry needs a ``reason``:
an explained difference is shown with it, never hidden.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

from conformance.drift.compare import KINDS, Difference
from conformance.errors import InputError

ALLOW_FILE = "drift-allow.json"
_KEYS = {"sdk", "sdk_versions", "profiles", "shape", "path", "kind", "reason"}


@dataclasses.dataclass(frozen=True, slots=True)
class AllowEntry:
    index: int
    sdk: str
    sdk_versions: str
    profiles: tuple[str, ...]
    shape: str
    path: str
    kind: str | None
    reason: str

    def matches(self, sdk: str, sdk_version: str, profile: str, diff: Difference) -> bool:
        return (self.sdk in ("*", sdk) and _glob(self.sdk_versions).fullmatch(sdk_version) is not None
                and ("*" in self.profiles or profile in self.profiles)
                and self.shape in ("*", diff.shape) and (self.kind is None or self.kind == diff.kind)
                and _glob(self.path).fullmatch(diff.path) is not None)


@functools.lru_cache(maxsize=512)
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches any characters; everything else, brackets included, is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


@dataclasses.dataclass(frozen=True)
class AllowList:
    file: str
    entries: tuple[AllowEntry, ...]

    def explain(self, sdk: str, sdk_version: str, profile: str, diff: Difference) -> AllowEntry | None:
        return next((e for e in self.entries if e.matches(sdk, sdk_version, profile, diff)), None)


def load_allow_list(path: Path) -> AllowList:
    """Read and check the allow file; a broken one is an :class:`InputError` naming the entry and the fix."""
    if not path.is_file():
        return AllowList(str(path), ())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the drift allow list: {exc}", file=str(path)) from None
    raw = data.get("allow") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise InputError("must be an object with an 'allow' list of entries", file=str(path))
    return AllowList(str(path), tuple(_entry(path, i, e) for i, e in enumerate(raw)))


def _entry(path: Path, i: int, e: Any) -> AllowEntry:
    where = f"allow[{i}]"
    if not isinstance(e, dict):
        raise InputError("an entry must be an object", file=str(path), where=where)
    unknown = set(e) - _KEYS
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}", file=str(path), where=where,
                         fix=f"keys are {', '.join(sorted(_KEYS))}")
    for key in ("shape", "path", "reason"):
        if not isinstance(e.get(key), str) or not e[key].strip():
            raise InputError(f"{key!r} must be a non-empty string", file=str(path), where=where)
    if e.get("sdk", "*") not in ("*", "python", "typescript"):
        raise InputError(f"sdk {e['sdk']!r} is not python, typescript or *", file=str(path), where=where)
    if e.get("kind") is not None and e["kind"] not in KINDS:
        raise InputError(f"kind {e['kind']!r} is unknown", file=str(path), where=where,
                         fix=f"kinds are {', '.join(KINDS)}")
    profiles = e.get("profiles", "*")
    if profiles != "*" and not (isinstance(profiles, list) and all(isinstance(p, str) for p in profiles)):
        raise InputError("'profiles' must be a list of versions or '*'", file=str(path), where=where)
    return AllowEntry(i, str(e.get("sdk", "*")), str(e.get("sdk_versions", "*")),
                      ("*",) if profiles == "*" else tuple(profiles), e["shape"], e["path"], e.get("kind"),
                      e["reason"].strip())
