"""What changed between two API-version profiles: the regression report behind ``conformance diff``.

:func:`diff_profiles` compares the schemas structurally (after inlining every
``$ref``) and the profile data (error table, rate-limit headers, models, tiers,
request-header and request rules), and returns typed :class:`Change` records.
Rendering is separate: :func:`render_text` and :func:`to_json`.

Who a change breaks depends on which side produces the data:

* request shapes (``request``, ``count_tokens_request``, ``request_headers``)
  are produced by clients and accepted by servers: *tightening* them breaks
  clients (a request that used to pass is now rejected), *loosening* them breaks
  servers (a server built for the old profile rejects what is now valid);
* response shapes (everything else) are produced by servers and read by clients:
  *tightening* breaks servers, *loosening* breaks clients.

Changes to ``x-known-values`` break nobody: those enums are open by contract.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from conformance.schemas import SHAPES

if TYPE_CHECKING:
    from referencing._core import Resolver

    from conformance.profiles import Profile

Kind = Literal["added", "removed", "tightened", "loosened", "changed"]
KINDS: tuple[Kind, ...] = ("added", "removed", "tightened", "loosened", "changed")

#: shape -> area name in the report
SHAPE_AREAS: Mapping[str, str] = {
    "request": "request", "count_tokens_request": "count_tokens_request", "request_headers": "request_headers",
    "message": "response", "stream_event": "stream_event", "error": "error_body", "model": "model",
    "models_list": "models_list", "models_list_query": "models_list_query",
    "count_tokens_response": "count_tokens_response",
    "response_headers": "response_headers",
}
REQUEST_SHAPES = frozenset({"request", "count_tokens_request", "request_headers", "models_list_query"})

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_MAX_DEPTH = 48


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One difference between two profiles."""

    kind: Kind
    area: str
    """``request``, ``response``, ``stream_event``, ``errors``, ``rate_limit_headers``, ``models``, ``tiers`` ..."""
    path: str
    """Where: an instance path into the shape (``$.temperature``) or a key into the profile data."""
    detail: str
    breaking_for_clients: bool
    breaking_for_servers: bool


# -- schema comparison ---------------------------------------------------------------------------------------

def _inline(schema: Any, resolver: Resolver[Any], depth: int = 0) -> Any:
    """The schema with every ``$ref`` replaced by its target (siblings merged), ``$defs`` dropped."""
    if isinstance(schema, list):
        return [_inline(s, resolver, depth + 1) for s in schema]
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return schema
    out: dict[str, Any] = {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            resolved = resolver.lookup(ref)
        except Exception:  # an unresolvable $ref is schemacheck's to report; compare it as written
            out["$ref"] = ref
        else:
            target = _inline(resolved.contents, resolved.resolver, depth + 1)
            if isinstance(target, Mapping):
                out.update(target)
    for key, value in schema.items():
        if key in ("$ref", "$defs", "$id", "$schema", "title", "description"):
            continue
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, Mapping):
            out[key] = {k: _inline(v, resolver, depth + 1) for k, v in value.items()}
        elif key in ("const", "enum", "x-known-values", "required", "default", "examples"):
            out[key] = value
        else:
            out[key] = _inline(value, resolver, depth + 1)
    return out


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    t = schema.get("type")
    if t is None:
        return None
    types = {t} if isinstance(t, str) else set(t)
    if "number" in types:
        types.add("integer")
    return types


def _values(schema: Mapping[str, Any]) -> set[str] | None:
    if "const" in schema:
        return {json.dumps(schema["const"], sort_keys=True)}
    if isinstance(schema.get("enum"), list):
        return {json.dumps(v, sort_keys=True) for v in schema["enum"]}
    return None


def _discriminator(schema: Any) -> str | None:
    """``type=text`` for an ``if`` or a branch that selects one value of one property."""
    if not isinstance(schema, Mapping):
        return None
    props = schema.get("properties")
    if isinstance(props, Mapping) and len(props) == 1:
        (name, sub), = props.items()
        if isinstance(sub, Mapping) and "const" in sub:
            return f"{name}={sub['const']}"
    if set(schema) == {"required"}:
        return "requires " + ",".join(map(str, schema["required"]))
    if isinstance(schema.get("type"), str) and "properties" not in schema:
        return f"as {schema['type']}"
    return None


def _keyed(items: Sequence[Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        key = None
        if isinstance(item, Mapping):
            key = _discriminator(item.get("if")) or _discriminator(item)
        out[f"{{{key}}}" if key else f".{prefix}[{i}]"] = item
    return out


class _SchemaDiff:
    def __init__(self, area: str, request_side: bool) -> None:
        self.area = area
        self.request_side = request_side
        self.changes: list[Change] = []

    def emit(self, kind: Kind, path: str, detail: str, direction: str | None = None) -> None:
        """``direction``: ``tighter``/``looser``/``both``/``none``; derived from ``kind`` when omitted."""
        direction = direction or {"tightened": "tighter", "loosened": "looser", "changed": "both"}.get(kind, "none")
        tighter = direction in ("tighter", "both")
        looser = direction in ("looser", "both")
        if self.request_side:
            clients, servers = tighter, looser
        else:
            clients, servers = looser, tighter
        self.changes.append(Change(kind, self.area, path, detail, clients, servers))

    def compare(self, old: Any, new: Any, path: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH or old == new:
            return
        if isinstance(old, bool) or isinstance(new, bool) or not isinstance(old, Mapping) \
                or not isinstance(new, Mapping):
            if old is False or new is True:
                self.emit("loosened", path, f"schema {json.dumps(old)} -> {json.dumps(new)}")
            elif new is False or old is True:
                self.emit("tightened", path, f"schema {json.dumps(old)} -> {json.dumps(new)}")
            return
        self._types(old, new, path)
        self._values(old, new, path)
        self._known(old, new, path)
        self._bounds(old, new, path)
        if old.get("pattern") != new.get("pattern"):
            self.emit("changed", path, f"pattern {old.get('pattern')!r} -> {new.get('pattern')!r}")
        self._required(old, new, path)
        self._properties(old, new, path, depth)
        if "items" in old or "items" in new:
            self.compare(old.get("items", True), new.get("items", True), f"{path}[*]", depth + 1)
        if isinstance(old.get("not"), Mapping) or isinstance(new.get("not"), Mapping):
            if old.get("not") != new.get("not"):
                self.emit("changed", path, "forbidden shape ('not') changed")
        for key in ("allOf", "anyOf", "oneOf"):
            self._branches(old.get(key, []), new.get(key, []), path, key, depth)
        if "if" in old or "if" in new:
            cond = _discriminator(new.get("if")) or _discriminator(old.get("if")) or "if"
            if old.get("if") != new.get("if"):
                self.emit("changed", path, f"condition {cond!r} changed")
            self.compare(old.get("then", True), new.get("then", True), f"{path}{{{cond}}}", depth + 1)
            self.compare(old.get("else", True), new.get("else", True), f"{path}{{not {cond}}}", depth + 1)

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        a, b = _types(old), _types(new)
        if a == b:
            return
        show = f"type {sorted(a) if a else 'any'} -> {sorted(b) if b else 'any'}"
        if b is None or (a is not None and a < b):
            self.emit("loosened", path, show)
        elif a is None or b < a:
            self.emit("tightened", path, show)
        else:
            self.emit("changed", path, show)

    def _values(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        a, b = _values(old), _values(new)
        if a == b:
            return
        if a is None or b is None:
            self.emit("loosened" if b is None else "tightened", path,
                      f"allowed values {sorted(a) if a else 'any'} -> {sorted(b) if b else 'any'}")
            return
        for v in sorted(a - b):
            self.emit("removed", path, f"value {v} no longer allowed", "tighter")
        for v in sorted(b - a):
            self.emit("added", path, f"value {v} now allowed", "looser")

    def _known(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        a, b = set(old.get("x-known-values", [])), set(new.get("x-known-values", []))
        for v in sorted(a - b):
            self.emit("removed", path, f"known value {v!r} no longer listed (open enum: not breaking)", "none")
        for v in sorted(b - a):
            self.emit("added", path, f"known value {v!r} listed (open enum: not breaking)", "none")

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            lower = key in _LOWER_BOUNDS
            if a is None:
                kind: Kind = "tightened"
            elif b is None:
                kind = "loosened"
            else:
                kind = "tightened" if (b > a) == lower else "loosened"
            self.emit(kind, path, f"{key} {a} -> {b}")

    def _required(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        a, b = set(old.get("required", [])), set(new.get("required", [])),
        for name in sorted(b - a):
            self.emit("tightened", f"{path}.{name}", "now required")
        for name in sorted(a - b):
            self.emit("loosened", f"{path}.{name}", "no longer required")

    def _properties(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str, depth: int) -> None:
        a, b = old.get("properties", {}), new.get("properties", {})
        old_closed, new_closed = old.get("additionalProperties") is False, new.get("additionalProperties") is False
        if old_closed != new_closed:
            self.emit("tightened" if new_closed else "loosened", path,
                      "unknown properties now rejected" if new_closed else "unknown properties now accepted")
        for name in sorted(set(a) - set(b)):
            if new_closed:
                self.emit("removed", f"{path}.{name}", "no longer accepted (unknown properties are rejected)",
                          "tighter")
            else:
                self.emit("removed", f"{path}.{name}", "no longer described", "none")
        for name in sorted(set(b) - set(a)):
            if old_closed:
                self.emit("added", f"{path}.{name}", "newly accepted", "looser")
            else:
                self.emit("added", f"{path}.{name}", "newly described", "none")
        for name in sorted(set(a) & set(b)):
            self.compare(a[name], b[name], f"{path}.{name}", depth + 1)
        extra_a, extra_b = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(extra_a, Mapping) and isinstance(extra_b, Mapping):
            self.compare(extra_a, extra_b, f"{path}.*", depth + 1)

    def _branches(self, old: Sequence[Any], new: Sequence[Any], path: str, key: str, depth: int) -> None:
        a, b = _keyed(old, key), _keyed(new, key)
        union = key != "allOf"  # a union accepts more with more branches; allOf accepts less
        for name in sorted(set(a) - set(b)):
            if _is_dispatch(a[name]):
                # Only says how one value is shaped; whether the value is allowed at all is the
                # enum's business, reported on its own.
                self.emit("removed", f"{path}{name}", "shape rule removed", "none")
            else:
                self.emit("removed", f"{path}{name}", f"{key} branch removed", "tighter" if union else "looser")
        for name in sorted(set(b) - set(a)):
            if _is_dispatch(b[name]):
                self.emit("added", f"{path}{name}", "shape rule added", "none")
            else:
                self.emit("added", f"{path}{name}", f"{key} branch added", "looser" if union else "tighter")
        for name in sorted(set(a) & set(b)):
            x, y = a[name], b[name]
            if isinstance(x, Mapping) and isinstance(y, Mapping) and "if" in x:
                self.compare(x.get("then", True), y.get("then", True), f"{path}{name}", depth + 1)
            else:
                self.compare(x, y, f"{path}{name}", depth + 1)


def _is_dispatch(schema: Any) -> bool:
    return isinstance(schema, Mapping) and _discriminator(schema.get("if")) is not None


def _shape_changes(old: Profile, new: Profile, shape: str) -> list[Change]:
    area = SHAPE_AREAS.get(shape, shape)
    d = _SchemaDiff(area, shape in REQUEST_SHAPES)
    has_old, has_new = old.schemas.has(shape), new.schemas.has(shape)
    if not has_old and not has_new:
        return []
    if has_old != has_new:
        d.emit("added" if has_new else "removed", "$", f"{shape} schema {'added' if has_new else 'removed'}",
               "both")
        return d.changes
    a = _inline(old.schemas.schema(shape), old.schemas.resolver(shape))
    b = _inline(new.schemas.schema(shape), new.schemas.resolver(shape))
    d.compare(a, b, "$")
    return d.changes


# -- profile data comparison ---------------------------------------------------------------------------------

def _errors(old: Profile, new: Profile) -> Iterator[Change]:
    a = {e.type: e for e in old.errors}
    b = {e.type: e for e in new.errors}
    for t in sorted(set(a) - set(b)):
        yield Change("removed", "errors", t, f"{a[t].status} {t} no longer in the error table", False, True)
    for t in sorted(set(b) - set(a)):
        yield Change("added", "errors", t, f"{b[t].status} {t} added: clients must map and handle it", True, False)
    for t in sorted(set(a) & set(b)):
        x, y = a[t], b[t]
        if x.status != y.status:
            yield Change("changed", "errors", t, f"status {x.status} -> {y.status}", True, True)
        if x.envelope != y.envelope:
            yield Change("loosened" if not y.envelope else "tightened", "errors", f"{t}.envelope",
                         f"envelope guaranteed {x.envelope} -> {y.envelope}", not y.envelope, y.envelope)
        if x.retryable != y.retryable:
            yield Change("changed", "errors", f"{t}.retryable", f"retryable {x.retryable} -> {y.retryable}",
                         True, False)


def _rate_limits(old: Profile, new: Profile) -> Iterator[Change]:
    a, b = old.rate_limits, new.rate_limits
    if a.family != b.family:
        yield Change("changed", "rate_limit_headers", "family", f"header family {a.family!r} -> {b.family!r}",
                     True, True)
    names_a, names_b = a.all_names(), b.all_names()
    for n in sorted(names_a - names_b):
        yield Change("removed", "rate_limit_headers", n, "header no longer sent", True, False)
    for n in sorted(names_b - names_a):
        yield Change("added", "rate_limit_headers", n, "header now expected", False, True)


def _model_facts(profile: Profile, model: str, levels: Sequence[str]) -> dict[str, bool | None]:
    """One model's ``accepts`` as flat facts (``thinking.adaptive``, ``speed``, ``effort.xhigh`` ...)."""
    accepts = profile.accepts(model)
    facts: dict[str, bool | None] = {f"thinking.{k}": v for k, v in accepts.thinking.items()}
    facts.update({f"sampling.{k}": v for k, v in accepts.sampling.items()})
    facts.update(temperature_with_top_p=accepts.temperature_with_top_p, speed=accepts.speed,
                 forced_tool_choice=accepts.forced_tool_choice)
    facts.update({f"effort.{level}": None if accepts.effort is None else level in accepts.effort for level in levels})
    return facts


_TAKES = {True: "taken", False: "refused (400)", None: "unknown"}


def _model_accepts(old: Profile, new: Profile, model: str) -> Iterator[Change]:
    levels = sorted(set(old.accepts(model).effort or ()) | set(new.accepts(model).effort or ()))
    x, y = _model_facts(old, model, levels), _model_facts(new, model, levels)
    for fact in sorted(set(x) | set(y)):
        u, v = x.get(fact), y.get(fact)
        if u == v:
            continue
        detail = f"{_TAKES[u]} -> {_TAKES[v]}"
        if v is False:  # a request that was taken (or not judged) is now refused
            yield Change("tightened", "models", f"{model}.accepts.{fact}", detail, True, False)
        elif u is False and v is True:  # a server must now take what it refused
            yield Change("loosened", "models", f"{model}.accepts.{fact}", detail, False, True)
        else:
            yield Change("changed", "models", f"{model}.accepts.{fact}", detail, False, False)


def _models(old: Profile, new: Profile) -> Iterator[Change]:
    a, b = set(old.model_ids), set(new.model_ids)
    for m in sorted(a - b):
        yield Change("removed", "models", m, "model no longer listed: requests naming it get 404", True, False)
    for m in sorted(b - a):
        yield Change("added", "models", m, "model listed: servers must accept it", False, True)
    for m in sorted(a & b):
        yield from _model_accepts(old, new, m)


def _tiers(old: Profile, new: Profile) -> Iterator[Change]:
    a = {t.name: t for t in old.tiers}
    b = {t.name: t for t in new.tiers}
    for n in sorted(set(a) - set(b)):
        yield Change("removed", "tiers", n, "tier removed", True, False)
    for n in sorted(set(b) - set(a)):
        yield Change("added", "tiers", n, "tier added", False, True)
    for n in sorted(set(a) & set(b)):
        for f in dataclasses.fields(a[n]):
            x, y = getattr(a[n], f.name), getattr(b[n], f.name)
            if f.name != "name" and x != y:
                lower = y < x
                yield Change("tightened" if lower else "loosened", "tiers", f"{n}.{f.name}", f"{x} -> {y}",
                             lower, not lower)


def _request_headers(old: Profile, new: Profile) -> Iterator[Change]:
    a, b = old.data.get("request_headers", {}), new.data.get("request_headers", {})
    for style in sorted(set(a.get("auth", [])) - set(b.get("auth", []))):
        yield Change("removed", "request_headers", f"auth.{style}", "authentication style no longer accepted",
                     True, False)
    for style in sorted(set(b.get("auth", [])) - set(a.get("auth", []))):
        yield Change("added", "request_headers", f"auth.{style}", "authentication style now accepted",
                     False, True)


_HANDLED = frozenset({"version", "source", "errors", "rate_limit_headers", "tiers", "models", "request_headers"})


def _other_data(old: Profile, new: Profile) -> Iterator[Change]:
    for key in sorted((set(old.data) | set(new.data)) - _HANDLED):
        x, y = old.data.get(key), new.data.get(key)
        if x == y:
            continue
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            for sub in sorted(set(x) | set(y)):
                if sub not in y:
                    yield Change("removed", key, f"{key}.{sub}", f"was {json.dumps(x[sub])}", False, False)
                elif sub not in x:
                    yield Change("added", key, f"{key}.{sub}", json.dumps(y[sub]), False, False)
                elif x[sub] != y[sub]:
                    yield Change("changed", key, f"{key}.{sub}", f"{json.dumps(x[sub])} -> {json.dumps(y[sub])}",
                                 False, False)
        else:
            yield Change("changed", key, key, f"{json.dumps(x)} -> {json.dumps(y)}", False, False)


def diff_profiles(old: Profile, new: Profile) -> list[Change]:
    """Every change from ``old`` to ``new``: schemas first (in SHAPES order), then the profile data."""
    changes: list[Change] = []
    for shape in SHAPES:
        changes.extend(_shape_changes(old, new, shape))
    for part in (_errors, _rate_limits, _models, _tiers, _request_headers, _other_data):
        changes.extend(part(old, new))
    return changes


# -- rendering -----------------------------------------------------------------------------------------------

def _breaks(c: Change) -> str:
    who = [w for w, b in (("clients", c.breaking_for_clients), ("servers", c.breaking_for_servers)) if b]
    return f"  BREAKING for {' and '.join(who)}" if who else ""


def render_text(changes: Sequence[Change], old: Profile, new: Profile) -> str:
    """A human-readable report, grouped by area."""
    lines = [f"API profile diff {old.version} ({old.status}) -> {new.version} ({new.status})"]
    if not changes:
        lines.append("no differences")
        return "\n".join(lines) + "\n"
    areas: dict[str, list[Change]] = {}
    for c in changes:
        areas.setdefault(c.area, []).append(c)
    for area, items in areas.items():
        lines.append("")
        lines.append(f"{area}:")
        for c in items:
            lines.append(f"  {c.kind:<9} {c.path}: {c.detail}{_breaks(c)}")
    s = _summary(changes)
    lines.append("")
    lines.append(f"{len(changes)} change(s): {s['breaking_for_clients']} breaking for clients, "
                 f"{s['breaking_for_servers']} breaking for servers")
    return "\n".join(lines) + "\n"


def _summary(changes: Sequence[Change]) -> dict[str, int]:
    out: dict[str, int] = {k: sum(1 for c in changes if c.kind == k) for k in KINDS}
    out["breaking_for_clients"] = sum(1 for c in changes if c.breaking_for_clients)
    out["breaking_for_servers"] = sum(1 for c in changes if c.breaking_for_servers)
    return out


def to_json(changes: Sequence[Change], old: Profile | None = None, new: Profile | None = None) -> dict[str, Any]:
    """``{"old", "new", "changes": [...], "summary": {...}}`` (versions only when given)."""
    out: dict[str, Any] = {}
    if old is not None and new is not None:
        out.update(old=old.version, new=new.version)
    out["changes"] = [dataclasses.asdict(c) for c in changes]
    out["summary"] = _summary(changes)
    return out
