"""Hypothesis strategies compiled from the subset of JSON Schema 2020-12 our schemas use.

Why our own compiler: ``hypothesis-jsonschema`` breaks on current Hypothesis
(0.23.1 fails on hypothesis >= 6.170.10), and owning the schemas lets us generate *realistic* values
(short readable text, sane numbers, small collections) so examples stay fast.

How it works: each schema node becomes a strategy built constructively from
its keywords (types, bounds, properties, items, patterns, formats). Keywords
that cannot be built exactly (``oneOf`` exclusivity, ``not``, ``if`` without
its branch, overlapping ``allOf``) are handled by building a close candidate
and filtering it with a compiled validator (jsonschema-rs) for that very node,
so everything generated is valid by the same definition the validators use.

A keyword outside the supported set raises :class:`UnsupportedSchemaError` at
build time, naming the keyword and its schema path: never silent garbage.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema_rs
from hypothesis import strategies as st
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.profiles import Profile
from conformance.schemas import SHAPES
from conformance.strategies.scalars import (
    FORMATS,
    UnsupportedSchemaError,
    ecma_classes,
    json_values,
    numbers,
    readable_text,
)
from conformance.strategies.schema_algebra import exclude_const, merge, types_of

__all__ = ["UnsupportedSchemaError", "field_values", "from_schema", "json_values", "profile_shape", "readable_text",
           "schema_registry"]

#: The URI a schema without ``$id`` is registered under, so refs into it resolve.
ANONYMOUS_URI = "urn:conformance:strategy-root"

# Keywords that only annotate: they never constrain an instance.
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$defs", "definitions", "$anchor", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
    "contentSchema",
})
_SUPPORTED = frozenset({
    "type", "const", "enum", "properties", "required", "additionalProperties", "patternProperties",
    "minProperties", "maxProperties", "propertyNames", "dependentRequired", "items", "prefixItems",
    "minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains", "minLength",
    "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "oneOf", "anyOf", "allOf", "not", "if", "then", "else", "$ref",
})
# Keywords whose meaning the constructive part does not fully honour: a node
# holding one is filtered with its own validator.
_NEEDS_FILTER = frozenset({"oneOf", "anyOf", "allOf", "not", "if", "$ref", "uniqueItems", "contains",
                           "dependentRequired", "propertyNames", "patternProperties", "minProperties",
                           "maxProperties", "multipleOf", "enum"})
Overrides = Mapping[str, st.SearchStrategy[Any]]


def schema_registry(documents: Mapping[str, Mapping[str, Any]]) -> Registry[Any]:
    """A ``referencing`` registry from ``{uri: schema document}``."""
    return Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in documents.items())


def from_schema(schema: Mapping[str, Any] | bool, *, registry: Registry[Any] | None = None,
                overrides: Overrides | None = None, base_uri: str | None = None) -> st.SearchStrategy[Any]:
    """A strategy for instances valid against ``schema``.

    ``registry`` resolves ``$ref`` to other documents (refs inside ``schema``
    resolve without it); ``base_uri`` is where ``schema`` lives when it has no
    ``$id`` (relative refs resolve against it). ``overrides`` replaces what a part generates; keys are

    * a JSON pointer of a schema location, ``"#/properties/model"`` or
      ``"#/$defs/text_block"`` (for a ``$ref`` target, its pointer inside its own
      document; ``"other.json#/$defs/x"`` for another document);
    * ``"format:NAME"``: every string with that ``format``;
    * a bare property name, ``"model"``: the value of that property wherever it appears.

    Overridden values are still filtered by any enclosing combinator's validator,
    so an override should produce valid values.

    Raises :class:`UnsupportedSchemaError` for any keyword outside the supported subset.
    """
    if not isinstance(schema, (Mapping, bool)):
        raise UnsupportedSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}",
                                     where="#")
    compiler = _Compiler(schema, registry or Registry(), dict(overrides or {}), base_uri)
    return compiler.root()


def profile_shape(profile: Profile, shape: str, *, pointer: str = "",
                  overrides: Overrides | None = None) -> st.SearchStrategy[Any]:
    """A strategy for one shape of a profile (``"request"``, ``"message"``, ...), refs resolved as the validators do.

    ``pointer`` narrows it to a part of that shape's document, e.g. ``"/$defs/image_block"``.
    """
    schemas = profile.schemas
    documents: dict[str, Mapping[str, Any]] = {}
    shape_uri = ""
    for path in sorted([*schemas.directory.glob("*.schema.json"), *(schemas.directory.parent / "shared").glob(
            "*.schema.json")]):
        doc = json.loads(path.read_text(encoding="utf-8"))
        uri = str(doc.get("$id") or path.resolve().as_uri())
        documents[uri] = doc
        if path.parent == schemas.directory and path.name == SHAPES.get(shape):
            shape_uri = uri
    document = schemas.schema(shape)
    registry = schema_registry(documents)
    if pointer:
        return from_schema({"$ref": f"{shape_uri}#{pointer}"}, registry=registry, overrides=overrides)
    return from_schema(document, registry=registry, overrides=overrides, base_uri=shape_uri or None)


_FIELDS: dict[tuple[str, str, str], st.SearchStrategy[Any]] = {}


def field_values(profile: Profile, shape: str, name: str) -> st.SearchStrategy[Any]:
    """Values of one top-level property ``name`` of a profile's ``shape``, from its schema (built once)."""
    key = (str(profile.schemas.directory), shape, name)
    found = _FIELDS.get(key)
    if found is None:
        escaped = name.replace("~", "~0").replace("/", "~1")
        found = _FIELDS[key] = profile_shape(profile, shape, pointer=f"/properties/{escaped}")
    return found


class _Compiler:
    def __init__(self, schema: Mapping[str, Any] | bool, registry: Registry[Any], overrides: dict[str, Any],
                 base_uri: str | None) -> None:
        base = str(schema.get("$id", base_uri or ANONYMOUS_URI)) if isinstance(schema, Mapping) else ANONYMOUS_URI
        self.base = base
        self.schema = schema
        self.registry = registry.with_resource(base, Resource.from_contents(schema, DRAFT202012))
        self.overrides = overrides
        self._cache: dict[str, st.SearchStrategy[Any]] = {}
        self._busy: set[str] = set()
        self._rs_registry: Any = None
        self._validators: dict[str, Callable[[Any], bool]] = {}

    def root(self) -> st.SearchStrategy[Any]:
        resolver = self.registry.resolver(self.base)
        strategy = self.compile(self.schema, resolver, self.base + "#")
        return strategy.filter(self.validator(self.base + "#"))

    # -- validation of one located node -------------------------------------------------------------

    def validator(self, loc: str) -> Callable[[Any], bool]:
        found = self._validators.get(loc)
        if found is None:
            if self._rs_registry is None:
                self._rs_registry = jsonschema_rs.Registry(
                    [(uri, res.contents) for uri, res in self.registry.items()])
            compiled = jsonschema_rs.validator_for({"$ref": loc}, registry=self._rs_registry,
                                                   validate_formats=True)
            found = self._validators[loc] = compiled.is_valid
        return found

    # -- dispatch ------------------------------------------------------------------------------------

    def compile(self, schema: Any, resolver: Any, loc: str | None, prop: str | None = None) -> st.SearchStrategy[Any]:
        """Compile the node at ``loc`` (``None`` for a node synthesized by merging)."""
        if loc is not None:
            pointer = "#" + loc.split("#", 1)[1]
            for key in (pointer, pointer[1:] or "/", loc):
                if key in self.overrides:
                    return _strategy(self.overrides[key])
        if prop is not None and prop in self.overrides:
            return _strategy(self.overrides[prop])
        if schema is True or schema == {}:
            return json_values()
        if schema is False:
            raise UnsupportedSchemaError("schema `false` admits no value", where=loc or "<merged schema>")
        if not isinstance(schema, Mapping):
            raise UnsupportedSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}",
                                         where=loc or "<merged schema>")
        self._check_keywords(schema, loc)
        if loc is None:
            return self._build(schema, resolver, loc)
        if loc in self._cache:
            return self._cache[loc]
        if loc in self._busy:  # a recursive $ref: defer to the strategy being built
            return st.deferred(lambda: self._cache[loc])
        self._busy.add(loc)
        try:
            strategy = self._build(schema, resolver, loc)
            if _NEEDS_FILTER & schema.keys():
                strategy = strategy.filter(self.validator(loc))
        finally:
            self._busy.discard(loc)
        self._cache[loc] = strategy
        return strategy

    def _check_keywords(self, schema: Mapping[str, Any], loc: str | None) -> None:
        for key in schema:
            if key in _SUPPORTED or key in _ANNOTATIONS or key.startswith("x-"):
                continue
            raise UnsupportedSchemaError(f"unsupported JSON Schema keyword {key!r}",
                                         where=loc or "<merged schema>",
                                         fix="extend conformance/strategies/jsonschema.py or avoid the keyword")
        fmt = schema.get("format")
        if fmt is not None and fmt not in FORMATS and f"format:{fmt}" not in self.overrides:
            raise UnsupportedSchemaError(f"unsupported format {fmt!r}", where=_child(loc, "format"),
                                         fix="supported: " + ", ".join(sorted(FORMATS)))

    def _build(self, schema: Mapping[str, Any], resolver: Any, loc: str | None,
               depth: int = 0) -> st.SearchStrategy[Any]:
        if depth > 40:
            raise UnsupportedSchemaError("combinators nest too deeply to merge", where=loc or "<merged schema>")
        self._check_keywords(schema, loc)
        if "$ref" in schema:
            target, target_resolver, target_loc = self._resolve(schema["$ref"], resolver, loc)
            rest = {k: v for k, v in schema.items() if k != "$ref" and k not in _ANNOTATIONS}
            if not rest:
                return self.compile(target, target_resolver, target_loc)
            # $ref beside other keywords means "both": merge (the node filter checks the result).
            return self._build(merge(self._inline(target, target_resolver), rest), resolver, None, depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                rest = {k: v for k, v in schema.items() if k != key}
                if not set(rest) - _ANNOTATIONS and loc is not None:
                    # Plain alternatives: compile each at its own location, keeping its refs' base.
                    return st.one_of([self.compile(b, resolver, _child(_child(loc, key), str(i)))
                                      for i, b in enumerate(schema[key])])
                branches = [self._inline(b, resolver) for b in schema[key]]
                return st.one_of([self._build(merge(rest, b), resolver, None, depth + 1) for b in branches])
        conditionals, base = self._split_conditionals(schema, resolver)
        if conditionals:
            return self._conditional(base, conditionals, resolver, depth)
        if "allOf" in schema:
            merged: Mapping[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for branch in schema["allOf"]:
                merged = merge(merged, self._inline(branch, resolver))
            return self._build(merged, resolver, None, depth + 1)
        return self._typed(schema, resolver, loc)

    def _split_conditionals(self, schema: Mapping[str, Any], resolver: Any) -> tuple[list[tuple[Any, Any, Any]],
                                                                                       dict[str, Any]]:
        """``if``/``then``/``else`` triples of the node and of its pure-conditional ``allOf`` branches."""
        found: list[tuple[Any, Any, Any]] = []
        base = dict(schema)
        if "if" in base:
            found.append((base.pop("if"), base.pop("then", True), base.pop("else", True)))
        else:
            base.pop("then", None)
            base.pop("else", None)
        kept = []
        for branch in base.get("allOf", []):
            pure = isinstance(branch, Mapping) and not set(branch) - _ANNOTATIONS - {"if", "then", "else"}
            if pure and "if" in branch:
                found.append((branch["if"], branch.get("then", True), branch.get("else", True)))
            else:
                kept.append(branch)
        if "allOf" in base:
            base["allOf"] = kept
            if not kept:
                del base["allOf"]
        return [(self._inline(i, resolver), self._inline(t, resolver), self._inline(e, resolver))
                for i, t, e in found], base

    def _conditional(self, base: dict[str, Any], conditionals: list[tuple[Any, Any, Any]], resolver: Any,
                     depth: int) -> st.SearchStrategy[Any]:
        """One alternative per condition holding, plus one where none holds.

        Conditions usually discriminate on a property's ``const`` (``type: "url"``); the
        "none holds" alternative then drops those constants from the property's ``enum``
        so it does not keep generating values the node filter must throw away.
        """
        alternatives = [merge(merge(base, cond), then) for cond, then, _ in conditionals]
        otherwise: Any = base
        for cond, _, other in conditionals:
            otherwise = merge(exclude_const(otherwise, cond), other)
        if otherwise is not None:
            alternatives.append(otherwise)
        return st.one_of([self._build(a, resolver, None, depth + 1) for a in alternatives if a is not False])

    def _resolve(self, ref: str, resolver: Any, loc: str | None) -> tuple[Any, Any, str]:
        try:
            resolved = resolver.lookup(ref)
        except Exception as exc:  # referencing raises several unrelated types
            raise UnsupportedSchemaError(f"cannot resolve $ref {ref!r}: {exc}", where=_child(loc, "$ref")) from None
        uri, fragment = urldefrag(urljoin(resolver._base_uri, ref))  # no public accessor for the base
        return resolved.contents, resolved.resolver, f"{uri or self.base}#{fragment}"

    def _inline(self, schema: Any, resolver: Any) -> Any:
        """A branch with a bare top-level ``$ref`` replaced by its target, for merging."""
        while isinstance(schema, Mapping) and set(schema) - _ANNOTATIONS == {"$ref"}:
            schema, resolver, _ = self._resolve(schema["$ref"], resolver, None)
        if isinstance(schema, Mapping) and "$ref" in schema:
            target, target_resolver, _ = self._resolve(schema["$ref"], resolver, None)
            schema = merge(self._inline(target, target_resolver), {k: v for k, v in schema.items() if k != "$ref"})
        return schema

    # -- typed generation ------------------------------------------------------------------------------

    def _typed(self, schema: Mapping[str, Any], resolver: Any, loc: str | None) -> st.SearchStrategy[Any]:
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            values = list(schema["enum"])
            if not values:
                raise UnsupportedSchemaError("empty enum admits no value", where=_child(loc, "enum"))
            return st.sampled_from(values)
        types = types_of(schema)
        parts = []
        for t in types:
            if t == "object":
                parts.append(self._object(schema, resolver, loc))
            elif t == "array":
                parts.append(self._array(schema, resolver, loc))
            elif t == "string":
                parts.append(self._string(schema, loc))
            elif t in ("integer", "number"):
                parts.append(numbers(schema, integer=(t == "integer"), loc=loc))
            elif t == "boolean":
                parts.append(st.booleans())
            elif t == "null":
                parts.append(st.none())
            else:
                raise UnsupportedSchemaError(f"unknown type {t!r}", where=_child(loc, "type"))
        if not parts:
            return json_values()
        return st.one_of(parts)

    def _object(self, schema: Mapping[str, Any], resolver: Any, loc: str | None) -> st.SearchStrategy[Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fixed: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for name, sub in props.items():
            sub_loc = _child(_child(loc, "properties"), name) if loc is not None else None
            target = fixed if name in required else optional
            target[name] = self.compile(sub, resolver, sub_loc, prop=name)
        extra = schema.get("additionalProperties", True)
        for name in required - set(props):
            if extra is False:
                raise UnsupportedSchemaError(f"required property {name!r} is forbidden by additionalProperties",
                                             where=_child(loc, "required"))
            sub_loc = _child(loc, "additionalProperties") if loc is not None and extra is not True else None
            fixed[name] = self.compile(extra, resolver, sub_loc, prop=name)
        base = st.fixed_dictionaries(fixed, optional=optional)
        min_props = int(schema.get("minProperties", 0))
        if extra is True or extra is False or min_props <= len(fixed):
            return base
        # An open schema with a minimum size: add a few extra keys beyond the declared ones.
        extra_loc = _child(loc, "additionalProperties") if loc is not None else None
        extras = st.dictionaries(readable_text(1, 10).filter(lambda k: k not in props),
                                 self.compile(extra, resolver, extra_loc), max_size=3)
        return st.tuples(base, extras).map(lambda pair: {**pair[1], **pair[0]})

    def _array(self, schema: Mapping[str, Any], resolver: Any, loc: str | None) -> st.SearchStrategy[Any]:
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", True)
        lo = int(schema.get("minItems", 0))
        hi = schema.get("maxItems")
        prefix_parts = [self.compile(s, resolver, _child(_child(loc, "prefixItems"), str(i)) if loc else None)
                        for i, s in enumerate(prefix)]
        head = st.tuples(*prefix_parts).map(list) if prefix_parts else st.just([])
        if items is False:
            return head
        item = self.compile(items, resolver, _child(loc, "items") if loc is not None else None)
        rest_lo = max(0, lo - len(prefix))
        rest_hi = (int(hi) - len(prefix)) if hi is not None else rest_lo + 3
        rest_hi = max(rest_lo, min(rest_hi, rest_lo + 3))
        unique = bool(schema.get("uniqueItems"))
        tail = st.lists(item, min_size=rest_lo, max_size=rest_hi,
                        unique_by=(lambda v: json.dumps(v, sort_keys=True)) if unique else None)
        if "contains" in schema:
            contained = self.compile(schema["contains"], resolver, _child(loc, "contains") if loc else None)
            tail = st.tuples(tail, contained, st.integers(0, 8)).map(
                lambda t: [*t[0][: t[2]], t[1], *t[0][t[2]:]] if hi is None or len(t[0]) < rest_hi else t[0])
        return st.tuples(head, tail).map(lambda p: p[0] + p[1])

    def _string(self, schema: Mapping[str, Any], loc: str | None) -> st.SearchStrategy[Any]:
        lo = int(schema.get("minLength", 0))
        hi = schema.get("maxLength")

        def fits(s: str) -> bool:
            return len(s) >= lo and (hi is None or len(s) <= hi)

        if "format" in schema:
            fmt = schema["format"]
            base = _strategy(self.overrides.get(f"format:{fmt}", FORMATS.get(fmt)))
            return base.filter(fits) if ("minLength" in schema or "maxLength" in schema) else base
        if "pattern" in schema:
            try:
                return st.from_regex(ecma_classes(schema["pattern"]), fullmatch=True).filter(fits)
            except Exception as exc:  # re.error or hypothesis' InvalidArgument
                raise UnsupportedSchemaError(f"pattern cannot be generated: {exc}",
                                             where=_child(loc, "pattern")) from None
        if schema.get("contentEncoding") == "base64":
            payload = st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode())
            return payload.filter(fits)
        return readable_text(lo, hi)


def _strategy(value: Any) -> st.SearchStrategy[Any]:
    if not isinstance(value, st.SearchStrategy):
        raise UnsupportedSchemaError(f"an override must be a Hypothesis strategy, not {type(value).__name__}")
    return value


def _child(loc: str | None, key: str) -> str:
    """The location of a child keyword, with JSON pointer escaping."""
    base = loc if loc is not None else "#"
    return f"{base}/{key.replace('~', '~0').replace('/', '~1')}"
