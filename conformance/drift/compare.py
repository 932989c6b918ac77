"""Walk an SDK's type and a profile's schema side by side and list how they differ.

Each :class:`Difference` names who is behind (``blame``), from the direction of the data:

* request shapes (the SDK builds them, the API judges them): a field, value or type the SDK
  can send and the strict profile rejects is the **profile**'s lag (a real client's valid
  request would be refused); something the profile accepts and the SDK cannot express,
  or a required field the SDK lets its users omit, is the **SDK**'s;
* response shapes (the API sends them, the SDK parses them): something the SDK knows and the
  profile does not describe is the **profile**'s lag; something the SDK requires or
  restricts beyond what the profile promises (``lifecycle`` required by ``anthropic`` >= 1.12,
  a closed ``Literal`` missing a value the API sends) is the **SDK**'s drift: under strict
  response validation it fails on a conformant answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Literal

from conformance.drift.nodes import Node, Ref, base, normalize, variant, variant_values

Kind = Literal["sdk-only-field", "profile-only-field", "sdk-requires", "sdk-requires-nullable", "profile-requires",
               "sdk-only-value",
               "profile-only-value", "sdk-only-variant", "profile-only-variant", "type", "untyped"]
Blame = Literal["profile", "sdk"]

KINDS: dict[str, str] = {
    "sdk-only-field": "the SDK declares a field the profile does not have",
    "profile-only-field": "the profile has a field the SDK's types do not",
    "sdk-requires": "the SDK requires a field the profile does not",
    "sdk-requires-nullable": "the SDK's type says a field is always there (possibly null); the profile does not "
                             "promise it",
    "profile-requires": "the profile requires a field the SDK does not",
    "sdk-only-value": "an enum value (or known value) only the SDK lists",
    "profile-only-value": "an enum value (or known value) only the profile lists",
    "sdk-only-variant": "a `type` variant (block, delta, event, tool ...) only the SDK has",
    "profile-only-variant": "a `type` variant only the profile has",
    "type": "the JSON types allowed differ",
    "untyped": "the profile leaves an object undescribed that the SDK types field by field",
}

_MAX_DEPTH = 10


@dataclasses.dataclass(frozen=True, slots=True)
class Difference:
    """One way an SDK's types and a profile's schema disagree."""

    shape: str
    """The profile shape (``request``, ``message``, ``stream_event``, ``model`` ...)."""
    path: str
    """Where, in instance terms: ``$.usage.cache_creation``, ``$.content[*]{type=text}.citations``."""
    kind: Kind
    blame: Blame
    """Who is behind: ``profile`` (it lags the SDK) or ``sdk`` (the SDK drifts from the profile)."""
    detail: str


@dataclasses.dataclass
class _Walk:
    shape: str
    request_side: bool
    numbers_alike: bool
    """TypeScript has one ``number`` type: integer and number compare equal."""
    validates: bool = True
    """Whether the SDK checks answers against its types (Python's strict mode); TypeScript's types only claim."""
    out: list[Difference] = dataclasses.field(default_factory=list)
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = dataclasses.field(default_factory=set)

    @property
    def _check(self) -> str:
        return "strict validation fails on it" if self.validates else "types only: not checked at run time"

    def emit(self, path: str, kind: Kind, blame: Blame, detail: str) -> None:
        self.out.append(Difference(self.shape, path, kind, blame, detail))

    def walk(self, sdk_refs: list[Ref], prof_refs: list[Ref], path: str, depth: int) -> None:
        key = (tuple(id(r.schema) for r in sdk_refs), tuple(id(r.schema) for r in prof_refs))
        if depth > _MAX_DEPTH or key in self.seen:
            return
        self.seen.add(key)
        self.nodes(normalize(sdk_refs), normalize(prof_refs), path, depth)

    def nodes(self, sdk: Node, prof: Node, path: str, depth: int, *, skip_type_values: bool = False) -> None:
        if sdk.is_any or prof.is_any:
            return
        self.types(sdk, prof, path)
        if not skip_type_values:
            self.values(sdk, prof, path)
        if sdk.variants or prof.variants:
            self.variants(sdk, prof, path, depth)
            return
        if sdk.is_object and prof.is_object:
            self.objects(sdk, prof, path, depth)
        if sdk.items and prof.items:
            self.walk(sdk.items, prof.items, f"{path}[*]", depth + 1)

    def _types(self, node: Node) -> set[str]:
        types = set(node.types or ())
        if "number" in types:
            types.add("integer")
        if self.numbers_alike and "integer" in types:
            types.add("number")
        return types

    def types(self, sdk: Node, prof: Node, path: str) -> None:
        if sdk.types is None or prof.types is None:
            return
        a, b = self._types(sdk), self._types(prof)
        if a == b:
            return
        shown = f"SDK {sorted(sdk.types)}, profile {sorted(prof.types)}"
        if self.request_side:
            if not a <= b:
                self.emit(path, "type", "profile", f"the profile rejects a type the SDK sends: {shown}")
        elif a < b:
            self.emit(path, "type", "sdk", f"the SDK's type excludes a type the profile allows ({self._check}): "
                                           f"{shown}")
        elif b < a:
            self.emit(path, "type", "profile", f"the profile is stricter than the SDK: {shown}")
        else:
            self.emit(path, "type", "sdk", f"types disagree: {shown}")

    def values(self, sdk: Node, prof: Node, path: str) -> None:
        sdk_values = (sdk.values or set()) - {"null"}
        if sdk.values is None or not sdk_values:
            return  # the SDK takes any value: nothing to compare
        prof_closed = prof.values is not None
        prof_values = ((prof.values or set()) | prof.known) - {"null"}
        if not prof_values:
            if not self.request_side and prof.types and prof.types - {"null"} <= {"string"}:
                self.emit(path, "sdk-only-value", "profile",
                          f"the profile lists no known values; the SDK: {_show(sdk_values)}")
            return
        if len(sdk_values) == 1 and len(prof_values) == 1 and sdk_values == prof_values:
            return
        for v in sorted(sdk_values - prof_values):
            why = "the profile rejects it" if self.request_side and prof_closed else "the profile does not list it"
            self.emit(path, "sdk-only-value", "profile", f"{v}: {why}")
        for v in sorted(prof_values - sdk_values):
            why = ("the SDK cannot send it" if self.request_side
                   else f"the SDK's closed enum lacks it ({self._check})")
            self.emit(path, "profile-only-value", "sdk", f"{v}: {why}")

    def objects(self, sdk: Node, prof: Node, path: str, depth: int, *, loose: bool = False) -> None:
        sdk_fields = {n for n in sdk.props if sdk.locations.get(n) in (None, "body")}
        if prof.opaque and sdk_fields - {"type"}:
            if not self.request_side:
                self.emit(path, "untyped", "profile",
                          f"the profile does not describe its fields; the SDK: {', '.join(sorted(sdk_fields))}")
            return
        for name in sorted(sdk_fields - set(prof.props)):
            if self.request_side and not prof.closed:
                continue  # an open profile object accepts it
            why = "the profile rejects it (additionalProperties: false)" if self.request_side \
                else "the profile does not describe it"
            self.emit(f"{path}.{name}", "sdk-only-field", "profile", why)
        for name in sorted(set(prof.props) - sdk_fields):
            if name in sdk.props or loose:
                continue  # the SDK sends it elsewhere (a header or query parameter)
            self.emit(f"{path}.{name}", "profile-only-field", "sdk",
                      "the SDK has no parameter for it" if self.request_side else "the SDK's type does not declare it")
        for name in sorted(sdk_fields & set(prof.props)):
            in_sdk, in_prof = name in sdk.required, name in prof.required
            if in_sdk and not in_prof and not loose and not self.request_side \
                    and "null" in (normalize(sdk.props[name]).types or ()):
                self.emit(f"{path}.{name}", "sdk-requires-nullable", "sdk",
                          "declared present-or-null (`T | null`, not optional); real answers may leave it out")
            elif in_sdk and not in_prof and not loose:
                self.emit(f"{path}.{name}", "sdk-requires", "sdk",
                          "the SDK always sends it" if self.request_side
                          else "the SDK requires it, the profile does not promise it (strict validation fails "
                               "on a conformant answer without it)" if self.validates
                          else "the SDK's type says it is always there, the profile does not promise it (code "
                               "reading it may get undefined)")
            elif in_prof and not in_sdk:
                self.emit(f"{path}.{name}", "profile-requires", "sdk",
                          "the SDK lets a request omit it (the API rejects that)" if self.request_side
                          else "the profile promises it, the SDK treats it as optional")
            self.walk(sdk.props[name], prof.props[name], f"{path}.{name}", depth + 1)

    def variants(self, sdk: Node, prof: Node, path: str, depth: int) -> None:
        sdk_names, _ = variant_values(sdk)
        prof_names, prof_closed = variant_values(prof)
        if not sdk.variants:
            sdk_names = set()
        for name in sorted(sdk_names - prof_names):
            if prof.others:
                target = variant(prof, name)
                if target is not None and not self.request_side:
                    self.emit(f"{path}{{type={name}}}", "sdk-only-variant", "profile",
                              "the profile does not list this type")
                if target is not None:
                    self._variant(sdk, name, target, path, depth, loose=True)
                continue
            if self.request_side and not prof_closed:
                continue
            why = "the profile rejects this type" if self.request_side else "the profile does not list this type"
            self.emit(f"{path}{{type={name}}}", "sdk-only-variant", "profile", why)
        for name in sorted(prof_names - sdk_names):
            if sdk.others:
                continue
            why = "the SDK cannot send this type" if self.request_side \
                else f"the SDK's union has no member for it ({self._check})"
            self.emit(f"{path}{{type={name}}}", "profile-only-variant", "sdk", why)
        for name in sorted(sdk_names & prof_names):
            # A type the profile only names (no dispatch branch) is the common part alone: shown as untyped.
            target = variant(prof, name) or base(prof)
            self._variant(sdk, name, target, path, depth)

    def _variant(self, sdk: Node, name: str, prof_shape: Node, path: str, depth: int, *, loose: bool = False) -> None:
        """Compare one variant; ``loose``: the profile's shape is its catch-all for every other ``type``
        (server tools ...), so only what it rejects is a difference, not what it leaves unsaid."""
        sdk_shape = variant(sdk, name)
        if sdk_shape is None:
            return
        where = f"{path}{{type={name}}}"
        if prof_shape.opaque and not self.request_side:
            fields = sorted(set(sdk_shape.props) - {"type"})
            if fields:
                self.emit(where, "untyped", "profile",
                          f"the profile checks only `type`; the SDK: {', '.join(fields)}")
            return
        sdk_shape.props.pop("type", None)
        prof_shape.props.pop("type", None)
        sdk_shape.required.discard("type")
        prof_shape.required.discard("type")
        self.objects(sdk_shape, prof_shape, where, depth + 1, loose=loose)


def _show(values: set[str]) -> str:
    return ", ".join(sorted(str(json.loads(v)) for v in values))


def compare(shape: str, sdk: Ref, profile: Ref, *, request_side: bool, numbers_alike: bool,
            validates: bool = True) -> list[Difference]:
    """Every difference between one SDK type and one profile shape."""
    walk = _Walk(shape, request_side, numbers_alike, validates)
    walk.walk([sdk], [profile], "$", 0)
    return walk.out


def iter_kinds() -> Iterator[tuple[str, str]]:
    yield from KINDS.items()
