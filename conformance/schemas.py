"""Schema registry and compiled validators for one profile.

Two validators per shape, for two jobs:

* ``jsonschema_rs`` answers "is this valid?" in well under a microsecond; it is
  the hot path (every stream event, every body).
* ``jsonschema`` (pure Python) explains *why* something is invalid, with exact
  paths, once the fast path has said it is. Its errors are copied into
  :class:`Violation` objects (paths included), never re-derived.

Both are built from the same schema documents, so they cannot disagree on data
the suite ships; ``tests/test_schemas.py`` checks that they agree on generated data.
The schemas use no ``format`` keyword (RFC 3339 is a ``pattern``) because the two
libraries treat ``format`` differently by default.

Enums that may grow in responses (stop reasons, error types, block and event
types) are plain strings annotated with ``"x-known-values": [...]``.
:meth:`SchemaSet.unknown_values` walks schema and instance together and returns
each such string that the profile does not list, so a rule can report it as info.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.errors import ProfileError
from conformance.known_values import UnknownValue, json_path, unknown_values

if TYPE_CHECKING:
    from referencing._core import Resolver  # not re-exported by referencing, but the public return type

#: shape name -> file name under ``schemas/<version>/``
SHAPES: Mapping[str, str] = {
    "request": "request.schema.json",
    "count_tokens_request": "count-tokens-request.schema.json",
    "count_tokens_response": "count-tokens-response.schema.json",
    "message": "message.schema.json",
    "error": "error.schema.json",
    "stream_event": "stream-event.schema.json",
    "model": "model.schema.json",
    "models_list": "models-list.schema.json",
    "models_list_query": "models-list-query.schema.json",
    "response_headers": "response-headers.schema.json",
    "request_headers": "request-headers.schema.json",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """One schema error, with paths copied from ``jsonschema``."""

    path: str
    """JSON path into the instance, e.g. ``$.messages[0].role``."""
    message: str
    schema_path: str
    keyword: str
    expected: Any = None
    actual: Any = None

    @property
    def dotted(self) -> str:
        """The path in the API's own error style: ``messages.0.role``."""
        return _dotted(self.path)


# One step of a jsonschema json_path: .name, [3] or ['any name'] (with \\ and \' escaped).
_STEP = re.compile(r"\.([A-Za-z][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def _dotted(json_path: str) -> str:
    out = json_path[1:] if json_path.startswith("$") else json_path
    steps = []
    for name, index, quoted in _STEP.findall(out):
        steps.append(name or index or re.sub(r"\\(.)", r"\1", quoted))
    return ".".join(steps)


def _violation(err: jsonschema.ValidationError) -> Violation:
    expected: Any = err.validator_value if err.validator in (
        "enum", "const", "type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "minLength", "maxLength", "minItems", "maxItems", "pattern", "required",
    ) else None
    schema_path = "/".join(str(p) for p in err.absolute_schema_path)
    return Violation(err.json_path, err.message, schema_path, str(err.validator), expected,
                     err.instance if not isinstance(err.instance, (dict, list)) else None)


_EXTRA_KEYWORDS = ("additionalProperties", "unevaluatedProperties")


def is_unknown_field(v: Violation) -> bool:
    """Whether ``v`` is a key the schema does not know (a problem a newer API could explain)."""
    return v.keyword in _EXTRA_KEYWORDS


# The ``type`` of a block or a tool: an item of a list (content blocks, tools, a tool result's blocks), or a
# block held alone (an advisor result's ``content``, a tool change's ``tool``).
_BLOCK_TYPE = re.compile(r"(?:\[\d+\]|\.content|\.tool)\.type$")


def is_unknown_type(v: Violation, known: AbstractSet[str]) -> bool:
    """Whether ``v`` refuses the ``type`` of a block or tool for a value the schema lists nowhere (``known``:
    :meth:`SchemaSet.type_values`): like an unknown key, a problem a newer API could explain. A type the
    schema knows, refused where it stands, is not one."""
    return (v.keyword in ("enum", "const") and isinstance(v.actual, str) and v.actual not in known
            and _BLOCK_TYPE.search(v.path) is not None)


def split_profile_lag(violations: Iterable[Violation],
                      known: AbstractSet[str]) -> tuple[list[Violation], list[Violation]]:
    """``(lag, rest)``: the violations a profile lagging the API explains (an unknown key, an unknown block or
    tool type), and the others. What lies inside a block of an unknown type is in neither: it was judged
    against another type's schema, which says nothing about it."""
    listed = list(violations)
    types = [v for v in listed if is_unknown_type(v, known)]
    blocks = tuple(v.path[:-len(".type")] for v in types)

    def inside(v: Violation) -> bool:
        return any(v.path.startswith(b) and v.path[len(b):len(b) + 1] in (".", "[") for b in blocks)

    lag = [v for v in listed if v in types or (is_unknown_field(v) and not inside(v))]
    rest = [v for v in listed if v not in lag and not inside(v)]
    return lag, rest


def _violations(err: jsonschema.ValidationError) -> list[Violation]:
    """One violation per error; an object with unexpected keys gives one per key, at the key's path.

    jsonschema reports them together at the object's path; a reader (and the API's own messages)
    names the field, so each gets its own path and ``actual`` is the key.
    """
    if err.validator not in _EXTRA_KEYWORDS or not isinstance(err.instance, dict):
        return [_violation(err)]
    schema = err.schema if isinstance(err.schema, Mapping) else {}
    known = set(schema.get("properties") or ())
    patterns = [re.compile(p) for p in (schema.get("patternProperties") or ())]
    extra = [k for k in err.instance if k not in known and not any(p.search(k) for p in patterns)]
    if not extra:
        return [_violation(err)]
    schema_path = "/".join(str(p) for p in err.absolute_schema_path)
    return [Violation(json_path(err.json_path, key), f"Additional properties are not allowed ({key!r} was unexpected)",
                      schema_path, str(err.validator), None, key) for key in extra]


def _leaf_errors(errors: list[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    """Each error, with an ``anyOf``/``oneOf`` wrapper replaced by the inner error jsonschema ranks best.

    ``best_match`` descends into the branch that got deepest into the instance and matched its type
    ("content is an array of blocks, block 2 is wrong"), not the "is not of type 'string'" of the
    branch that never applied; where branches tie it keeps the wrapper, which is then the honest message.
    """
    out = []
    for err in errors:
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        out.append(best if best is not None else err)
    return out


def _dispatch_branches(node: Any, key: str, *, top_level: bool) -> list[tuple[str, int]] | None:
    """``[(value, index)]`` when ``node`` is an object schema that only dispatches on a string ``key``
    through ``allOf`` of ``{"if": {key: const}, "then": ...}``; ``None`` for any other form."""
    allowed = {"$schema", "$id", "$defs", "title", "description", "type", "required", "properties", "allOf"}
    if not isinstance(node, Mapping) or set(node) - allowed or node.get("type") != "object":
        return None
    if not top_level and ("$id" in node or "$defs" in node):
        return None
    base = node.get("properties", {})
    if set(base) - {key} or set(node.get("required", [])) - {key}:
        return None
    if base and base.get(key, {}).get("type") not in (None, "string"):
        return None
    out = []
    for i, branch in enumerate(node.get("allOf", [])):
        condition = branch.get("if", {}) if isinstance(branch, Mapping) else {}
        const = condition.get("properties", {}).get(key, {}).get("const")
        if set(branch) != {"if", "then"} or set(condition) - {"properties", "required"} \
                or set(condition.get("properties", {})) != {key} or not isinstance(const, str):
            return None  # not the plain dispatch shape: no shortcut is safe
        out.append((const, i))
    return out


def _type_values(node: Any) -> Iterable[str]:
    if isinstance(node, list):
        for item in node:
            yield from _type_values(item)
        return
    if not isinstance(node, Mapping):
        return
    props = node.get("properties")
    typed = props.get("type") if isinstance(props, Mapping) else None
    if isinstance(typed, Mapping):
        enum = typed.get("enum")
        values = [typed.get("const"), *(enum if isinstance(enum, list) else ())]
        yield from (v for v in values if isinstance(v, str))
    for value in node.values():
        yield from _type_values(value)


MAX_VIOLATIONS = 100
"""Schema errors listed for one instance (then one violation saying there are more)."""


class SchemaSet:
    """The compiled schemas of one profile."""

    def __init__(self, version: str, documents: Mapping[str, Mapping[str, Any]],
                 registry: Registry[Any], directory: Path) -> None:
        self.version = version
        self.documents = documents
        self.directory = directory
        self._registry = registry
        self._fast: dict[str, Any] = {}
        self._slow: dict[str, Any] = {}
        self._dispatch: dict[tuple[str, str], dict[str, Callable[[Any], bool]]] = {}
        self._type_values: dict[str, frozenset[str]] = {}

    @classmethod
    def load(cls, root: Path, version: str) -> SchemaSet:
        directory = root / version
        documents: dict[str, Mapping[str, Any]] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for path in sorted(list(directory.glob("*.schema.json")) + list((root / "shared").glob("*.schema.json"))):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ProfileError(f"cannot read schema: {exc}", file=str(path)) from None
            uri = doc.get("$id") or path.resolve().as_uri()
            resources.append((uri, Resource.from_contents(doc, default_specification=DRAFT202012)))
            if path.parent == directory:
                documents[path.name] = doc
        registry: Registry[Any] = Registry().with_resources(resources)
        by_shape = {shape: documents[f] for shape, f in SHAPES.items() if f in documents}
        return cls(version, by_shape, registry, directory)

    def has(self, shape: str) -> bool:
        return shape in self.documents

    def schema(self, shape: str) -> Mapping[str, Any]:
        try:
            return self.documents[shape]
        except KeyError:
            raise ProfileError(f"profile {self.version} has no {shape!r} schema",
                               file=str(self.directory / SHAPES.get(shape, shape))) from None

    def _compile_fast(self, shape: str, schema: Mapping[str, Any]) -> Any:
        resources = [(uri, res.contents) for uri, res in self._registry.items()]
        try:
            rs_registry = jsonschema_rs.Registry(resources)
            return jsonschema_rs.validator_for(dict(schema), registry=rs_registry)
        except ValueError as exc:
            raise ProfileError(f"schema does not compile: {exc}", file=str(self.directory / SHAPES[shape]),
                               fix="run python -m conformance.schemacheck") from None

    def _fast_validator(self, shape: str) -> Any:
        v = self._fast.get(shape)
        if v is None:
            v = self._fast[shape] = self._compile_fast(shape, self.schema(shape))
        return v

    def dispatched_checks(self, shape: str, key: str = "type") -> dict[str, Callable[[Any], bool]]:
        """Per-value compiled checks for a shape that dispatches on ``key`` with ``allOf`` of ``if``/``then``.

        For an instance that is an object whose ``key`` is the string ``value``, the whole
        schema holds exactly when the ``then`` of the branch whose ``if`` is ``key == value``
        holds: the other branches' conditions fail, and the top level only asks for an
        object with a string ``key``. Checking that one branch skips walking every
        condition, which is most of the cost on the stream hot path.
        ``tests/test_schemas.py`` checks the equivalence against the whole schema.
        Values with no such branch are absent: use :meth:`fast_check` for them.
        """
        cached = self._dispatch.get((shape, key))
        if cached is not None:
            return cached
        out = self._dispatch[(shape, key)] = self._compile_dispatch(shape, key)
        return out

    def _compile_dispatch(self, shape: str, key: str) -> dict[str, Callable[[Any], bool]]:
        schema = self.schema(shape)
        branches = _dispatch_branches(schema, key, top_level=True)
        out: dict[str, Callable[[Any], bool]] = {}
        for const, i in branches or ():
            out[const] = self._compile_fast(shape, {"$ref": f"{schema.get('$id', '')}#/allOf/{i}/then"}).is_valid
        return out

    def nested_dispatched_checks(self, shape: str, value: str, prop: str,
                                 key: str = "type") -> dict[str, Callable[[Any], bool]]:
        """One level further: checks for instances whose ``key`` is ``value`` and whose ``prop`` is an
        object with the string ``key`` ``inner``, keyed by ``inner``.

        Applies when the branch for ``value`` gives ``prop`` as a plain ``$ref`` to a ``$defs`` schema
        that dispatches on ``key`` the same way (the stream's ``content_block_delta.delta``). By the
        argument of :meth:`dispatched_checks`, applied twice, the compiled branch equals the whole
        schema for such instances. ``{}`` when the shape does not have that form.
        """
        cache_key = (shape, f"{value}.{prop}.{key}")
        cached = self._dispatch.get(cache_key)
        if cached is not None:
            return cached
        out: dict[str, Callable[[Any], bool]] = {}
        self._dispatch[cache_key] = out
        schema = self.schema(shape)
        root_id = str(schema.get("$id", ""))
        branch = dict(_dispatch_branches(schema, key, top_level=True) or ())
        if value not in branch:
            return out
        then = schema["allOf"][branch[value]]["then"]
        ref = then.get("properties", {}).get(prop)
        if not isinstance(ref, dict) or set(ref) != {"$ref"} or not str(ref["$ref"]).startswith("#/$defs/"):
            return out
        name = str(ref["$ref"])[len("#/$defs/"):]
        inner = _dispatch_branches(schema.get("$defs", {}).get(name, {}), key, top_level=False)
        for inner_value, k in inner or ():
            composed = copy.deepcopy(then)
            composed["properties"][prop] = {"$ref": f"{root_id}#/$defs/{name}/allOf/{k}/then"}
            # A sibling $id keeps the branch's relative $refs resolving as they do in the shape.
            composed["$id"] = root_id.rsplit("/", 1)[0] + f"/{shape}.{value}.{prop}.{inner_value}.dispatch.json"
            out[inner_value] = self._compile_fast(shape, composed).is_valid
        return out

    def _slow_validator(self, shape: str) -> Any:
        v = self._slow.get(shape)
        if v is None:
            cls = jsonschema.validators.validator_for(self.schema(shape), default=jsonschema.Draft202012Validator)
            v = cls(self.schema(shape), registry=self._registry,
                    format_checker=cls.FORMAT_CHECKER)
            self._slow[shape] = v
        return v

    @property
    def registry(self) -> Registry[Any]:
        """Every schema of this profile (and ``shared/``) by ``$id``, for tools that walk schemas."""
        return self._registry

    def resolver(self, shape: str) -> Resolver[Any]:
        """A resolver whose base is ``shape``'s ``$id``, so its relative ``$ref`` values resolve."""
        return self._registry.resolver(base_uri=str(self.schema(shape).get("$id", "")))

    def type_values(self, shape: str) -> frozenset[str]:
        """Every value the ``shape`` schema names for a ``type`` property anywhere (``const`` or ``enum``): the
        block, tool and option types the profile knows."""
        cached = self._type_values.get(shape)
        if cached is None:
            cached = self._type_values[shape] = frozenset(_type_values(self.schema(shape)))
        return cached

    def unknown_values(self, shape: str, instance: Any) -> list[UnknownValue]:
        """Each string in ``instance`` annotated ``x-known-values`` whose value is not listed.

        Cheap (no validation): follows ``properties``, ``items``, ``$ref``, ``allOf``,
        the ``if``/``then``/``else`` type dispatch and the ``anyOf``/``oneOf`` branches
        whose discriminating keywords (``type``, ``const``, ``enum``, ``required``)
        the instance satisfies. Call it on valid instances; on invalid ones it reports
        what it can.
        """
        return unknown_values(self.schema(shape), instance, self.resolver(shape))

    def is_valid(self, shape: str, instance: Any) -> bool:
        return bool(self._fast_validator(shape).is_valid(instance))

    def fast_check(self, shape: str) -> Callable[[Any], bool]:
        """The compiled ``is_valid`` of one shape, for loops that call it once per event."""
        check: Callable[[Any], bool] = self._fast_validator(shape).is_valid
        return check

    def violations(self, shape: str, instance: Any) -> list[Violation]:
        """Every violation of ``shape`` by ``instance`` (at most :data:`MAX_VIOLATIONS`); ``[]`` (fast) when valid."""
        if self.is_valid(shape, instance):
            return []
        # The first errors jsonschema finds, then one saying there are more: every error of a body with a
        # million wrong items would take minutes to find and megabytes to print.
        listed = list(itertools.islice(self._slow_validator(shape).iter_errors(instance), MAX_VIOLATIONS + 1))
        # Most relevant first, as jsonschema ranks them: shallow before deep (a missing "messages" explains
        # everything under it), then by position, a strong keyword before a weak one.
        errors = sorted(listed[:MAX_VIOLATIONS], key=jsonschema.exceptions.relevance, reverse=True)
        found = [v for e in _leaf_errors(errors) for v in _violations(e)]
        if len(listed) > MAX_VIOLATIONS:
            found.append(Violation("$", f"more violations than the {MAX_VIOLATIONS} listed (not listed)", "",
                                   "truncated"))
        if not found:
            # The fast path rejected what the detailed one accepts: a schema or
            # library disagreement. Report it rather than hide it.
            found = [Violation("$", f"rejected by jsonschema-rs but accepted by jsonschema ({shape})",
                               "", "disagreement")]
        return found
