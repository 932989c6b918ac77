"""``conformance drift``: where the profiles and an official SDK's types disagree.

The SDKs' types are the most machine-readable record of what the API sends and accepts, version
by version; the profiles are what the suite judges traffic by. :func:`drift` compares them shape
by shape (request params, Message with its content blocks and usage, stream events with their
deltas, errors, models, the models list and its query) and returns typed :class:`Difference`
records, each with who is behind (see :mod:`conformance.drift.compare`). Known, explained
differences live in ``schemas/drift-allow.json`` (:mod:`conformance.drift.allow`); anything else
is unexplained, and ``conformance drift`` exits 1.

    run_drift()             -> DriftRun (one SDK, several profiles)
    ├── sdks.load_sdk()     the SDK's types as JSON Schema (pydantic / .d.ts reader)
    ├── compare.compare()   one shape: SDK type vs profile schema -> [Difference]
    └── allow               the reviewed explanations
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.drift.allow import ALLOW_FILE, AllowEntry, AllowList, load_allow_list
from conformance.drift.compare import KINDS, Difference, compare
from conformance.drift.nodes import Ref
from conformance.drift.sdks import SdkMissing, SdkTypes, load_sdk
from conformance.profiles import Profile, Profiles, load_profiles, schemas_root

__all__ = ["ALLOW_FILE", "KINDS", "AllowList", "Difference", "DriftRun", "Explained", "SdkMissing", "SdkTypes",
           "drift", "load_allow_list", "run_drift"]

#: shapes compared, and whether the client produces them (request side)
DRIFT_SHAPES: Mapping[str, bool] = {
    "request": True, "count_tokens_request": True, "models_list_query": True,
    "message": False, "stream_event": False, "error": False, "model": False, "models_list": False,
    "count_tokens_response": False,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Explained:
    """A difference, and the allow-list entry that explains it (``None``: unexplained)."""

    difference: Difference
    allowed: AllowEntry | None


@dataclasses.dataclass
class ProfileDrift:
    profile: str
    results: list[Explained]
    notes: list[str]
    """Shapes not compared, and why."""

    @property
    def unexplained(self) -> list[Difference]:
        return [r.difference for r in self.results if r.allowed is None]


@dataclasses.dataclass
class DriftRun:
    sdk: SdkTypes
    allow: AllowList
    profiles: list[ProfileDrift]

    @property
    def unexplained(self) -> int:
        return sum(len(p.unexplained) for p in self.profiles)

    @property
    def unused_allow(self) -> list[AllowEntry]:
        used = {r.allowed.index for p in self.profiles for r in p.results if r.allowed is not None}
        return [e for e in self.allow.entries if e.index not in used]

    @property
    def exit_code(self) -> int:
        return 1 if self.unexplained else 0


def _sdk_resolver(document: Mapping[str, Any]) -> Any:
    defs = document.get("$defs", {})

    def resolve(ref: str) -> Ref:
        if ref.startswith("#/$defs/"):
            return Ref(defs.get(ref[len("#/$defs/"):], True), resolve)
        return Ref(True, resolve)

    return resolve


def _profile_resolver(resolver: Any) -> Any:
    def make(current: Any) -> Any:
        def resolve(ref: str) -> Ref:
            try:
                found = current.lookup(ref)
            except Exception:  # an unresolvable $ref is check-schemas' to report; compare it as "any"
                return Ref(True, resolve)
            return Ref(found.contents, make(found.resolver))
        return resolve
    return make(resolver)


def drift(sdk: SdkTypes, profile: Profile) -> tuple[list[Difference], list[str]]:
    """Every difference between the SDK's types and one profile, and notes on shapes not compared."""
    out: list[Difference] = []
    notes: list[str] = []
    for shape, request_side in DRIFT_SHAPES.items():
        if shape not in sdk.schemas:
            notes.append(f"{shape}: not compared ({sdk.missing.get(shape, 'no type in this SDK')})")
            continue
        if not profile.schemas.has(shape):
            notes.append(f"{shape}: not compared (profile {profile.version} has no {shape} schema)")
            continue
        document = sdk.schemas[shape]
        sdk_ref = Ref(document, _sdk_resolver(document))
        prof_ref = Ref(profile.schemas.schema(shape), _profile_resolver(profile.schemas.resolver(shape)))
        typescript = sdk.sdk == "typescript"
        found = compare(shape, sdk_ref, prof_ref, request_side=request_side, numbers_alike=typescript,
                        validates=not typescript)
        if shape == "models_list":
            # Its items are model objects, compared (and reported) as the model shape.
            found = [d for d in found if not d.path.startswith("$.data[*].")]
        out.extend(found)
    known = set(profile.model_ids) | set(profile.model_aliases)
    for model in sorted(sdk.model_ids - known):
        out.append(Difference("models", f"$.model={model}", "sdk-only-value", "profile",
                              "a model the SDK's Model type names that the profile does not list "
                              "(the reference server answers 404)"))
    return out, notes


def run_drift(sdk_name: str, versions: Iterable[str] | None = None, *, sdk_path: str | None = None,
              profiles: Profiles | None = None, allow: AllowList | None = None) -> DriftRun:
    """Compare the installed SDK with each profile (default: every profile of the real API)."""
    profiles = profiles or load_profiles()
    chosen = [profiles.get(v) for v in versions] if versions else [p for p in profiles if p.source == "real-api"]
    allow = allow if allow is not None else load_allow_list(schemas_root() / ALLOW_FILE)
    sdk = load_sdk(sdk_name, sdk_path)
    out: list[ProfileDrift] = []
    for profile in chosen:
        differences, notes = drift(sdk, profile)
        results = [Explained(d, allow.explain(sdk.sdk, sdk.version, profile.version, d)) for d in differences]
        out.append(ProfileDrift(profile.version, results, notes))
    return DriftRun(sdk, allow, out)
