"""API keys of the reference server: what each may do, the built-in test keys, and the keys file.

Built-in keys (documented in ``conformance serve --help`` and the README):

    sk-ant-test-free        Free tier
    sk-ant-test-build       Build tier
    sk-ant-test-scale       Scale tier
    sk-ant-test-forbidden   403 permission_error on every API call
    sk-ant-test-no-credit   402 billing_error (400 where the profile has no billing_error)

A keys file (``--keys FILE``) is JSON: ``{"keys": {"<key>": {"tier": "build", "forbidden": false,
"out_of_credit": false}}}``; ``{"<key>": "build"}`` is short for a key with only a tier.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.errors import InputError
from conformance.profiles import Profiles, load_profiles


@dataclasses.dataclass(frozen=True, slots=True)
class KeySpec:
    """What an API key may do."""

    tier: str = "build"
    forbidden: bool = False
    """Every API call answers 403 ``permission_error``."""
    out_of_credit: bool = False
    """Every messages call answers 402 ``billing_error``."""


TEST_KEYS: Mapping[str, str] = {
    "free": "sk-ant-test-free",
    "build": "sk-ant-test-build",
    "scale": "sk-ant-test-scale",
    "forbidden": "sk-ant-test-forbidden",
    "no-credit": "sk-ant-test-no-credit",
}
"""The built-in keys by purpose (public, test-only): what a run against the reference server sends."""

DEFAULT_KEYS: Mapping[str, KeySpec] = {
    TEST_KEYS["free"]: KeySpec("free"),
    TEST_KEYS["build"]: KeySpec("build"),
    TEST_KEYS["scale"]: KeySpec("scale"),
    TEST_KEYS["forbidden"]: KeySpec("build", forbidden=True),
    TEST_KEYS["no-credit"]: KeySpec("build", out_of_credit=True),
}

def _key_spec(raw: Any, file: str, key: str, tiers: set[str]) -> KeySpec:
    if isinstance(raw, str):
        raw = {"tier": raw}
    if not isinstance(raw, Mapping):
        raise InputError("a key's value must be a tier name or an object", file=file, where=f"keys.{key}",
                         fix='e.g. {"tier": "build", "forbidden": false, "out_of_credit": false}')
    unknown = set(raw) - {"tier", "forbidden", "out_of_credit"}
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(sorted(unknown))}", file=file, where=f"keys.{key}",
                         fix="allowed: tier, forbidden, out_of_credit")
    tier = raw.get("tier", "build")
    if not isinstance(tier, str) or tier.lower() not in tiers:
        raise InputError(f"unknown tier {tier!r}", file=file, where=f"keys.{key}.tier",
                         fix="tiers: " + ", ".join(sorted(tiers)))
    flags = {}
    for name in ("forbidden", "out_of_credit"):
        value = raw.get(name, False)
        if not isinstance(value, bool):
            raise InputError(f"{name} must be true or false", file=file, where=f"keys.{key}.{name}")
        flags[name] = value
    return KeySpec(tier.lower(), **flags)


MAX_KEYS_FILE_BYTES = 16 * 1024 * 1024
"""A keys file is small; anything larger (or a device like /dev/zero) is refused before it is read."""


def load_keys_file(path: str | Path, profiles: Profiles | None = None) -> dict[str, KeySpec]:
    """Read a keys file (see the module docstring); an :class:`InputError` names what is wrong."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError("cannot read keys file: not a regular file", file=file)
            raw = handle.read(MAX_KEYS_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read keys file: {exc.strerror or exc}", file=file) from None
    if len(raw) > MAX_KEYS_FILE_BYTES:
        raise InputError(f"cannot read keys file: larger than {MAX_KEYS_FILE_BYTES // (1024 * 1024)} MiB", file=file)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=file, fix="save it as UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=file, where=f"{exc.lineno}:{exc.colno}") from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", file=file) from None
    if isinstance(data, Mapping) and "keys" in data:
        data = data["keys"]
    if not isinstance(data, Mapping) or not data:
        raise InputError("expected an object mapping API keys to tiers", file=file,
                         fix='e.g. {"keys": {"sk-mine": {"tier": "scale"}}}')
    profiles = profiles or load_profiles()
    tiers = {t.name.lower() for p in profiles for t in p.tiers}
    out: dict[str, KeySpec] = {}
    for key, raw in data.items():
        if not isinstance(key, str) or not key.strip():
            raise InputError("an API key must be a non-empty string", file=file, where="keys")
        out[key] = _key_spec(raw, file, key, tiers)
    return out
