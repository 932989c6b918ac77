"""One normal form for two kinds of JSON Schema: the suite's profiles and the SDKs' types.

The profiles dispatch on ``type`` with ``allOf`` of ``if``/``then`` and mark open enums
``x-known-values``; pydantic writes ``anyOf``/``oneOf`` with ``const`` members; the TypeScript
reader writes ``anyOf`` of ``const``. :func:`normalize` reads any of them into a :class:`Node`:
which JSON types a value may have, which values a closed enum allows, which are known in an
open one, the object's properties and required names, its variants by ``type``, the array's items.

Children stay unread (:class:`Ref`: a schema and how to resolve its ``$ref``) until the
comparison walks into them, so recursive SDK types cost nothing beyond what is compared.
The reading is an approximation made for comparing: ``allOf`` members are merged, ``anyOf``
and ``if``/``then``/``else`` branches are joined, and a property given several schemas keeps
the ones that say something.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Resolve = Callable[[str], "Ref"]
"""Resolve a ``$ref`` string, relative to the schema that holds it, into its target."""


@dataclasses.dataclass(frozen=True)
class Ref:
    """A schema not read yet, with what resolves the ``$ref`` values inside it."""

    schema: Any
    resolve: Resolve


@dataclasses.dataclass
class Node:
    types: set[str] | None = None
    """JSON types a value may have (``integer`` and ``number`` distinct); ``None``: any."""
    values: set[str] | None = None
    """The only values allowed (JSON-encoded), for closed enums and consts; ``None``: not constrained."""
    known: set[str] = dataclasses.field(default_factory=set)
    """``x-known-values`` (JSON-encoded): an open enum's documented members."""
    props: dict[str, list[Ref]] = dataclasses.field(default_factory=dict)
    required: set[str] = dataclasses.field(default_factory=set)
    closed: bool = False
    """``additionalProperties: false``: unknown properties are rejected."""
    items: list[Ref] = dataclasses.field(default_factory=list)
    variants: dict[str, list[Node]] = dataclasses.field(default_factory=dict)
    """Object shapes by the value of their ``type`` property."""
    others: list[Node] = dataclasses.field(default_factory=list)
    """Object shapes for any other ``type`` value (a branch that does not fix ``type``)."""
    locations: dict[str, str] = dataclasses.field(default_factory=dict)
    """Where the SDK sends a parameter that is not in the JSON body (``header``, ``query``)."""

    @property
    def is_any(self) -> bool:
        return self.types is None and self.values is None and not self.props and not self.variants \
            and not self.items and not self.known

    @property
    def is_object(self) -> bool:
        return self.types is not None and "object" in self.types

    @property
    def opaque(self) -> bool:
        """An open object whose properties are not described (beyond, at most, its ``type``)."""
        return self.is_object and not self.closed and not self.variants and not (set(self.props) - {"type"})


def _encode(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _trivial(schema: Any) -> bool:
    """A schema that says nothing (``true``, ``{}``, or only annotations)."""
    if schema is True:
        return True
    return isinstance(schema, Mapping) and not (set(schema) - {"title", "description", "default", "examples",
                                                                   "$comment", "x-param-location"})


def type_dispatch(condition: Any) -> str | None:
    """The ``type`` value an ``if`` selects (``{"properties": {"type": {"const": X}}}``), else ``None``."""
    if not isinstance(condition, Mapping):
        return None
    props = condition.get("properties")
    if not isinstance(props, Mapping) or set(props) != {"type"}:
        return None
    const = props["type"].get("const") if isinstance(props["type"], Mapping) else None
    return const if isinstance(const, str) else None


def normalize(refs: Iterable[Ref], depth: int = 0) -> Node:
    """The union of several schemas (one schema: just it) read into a :class:`Node`."""
    nodes = [_read(r, depth) for r in refs if not _trivial(r.schema)]
    if not nodes:
        return Node()
    return nodes[0] if len(nodes) == 1 else join(nodes)


def _read(ref: Ref, depth: int) -> Node:
    schema, resolve = ref.schema, ref.resolve
    node = Node()
    if schema is False:
        node.types = set()
        return node
    if not isinstance(schema, Mapping) or depth > 40:
        return node
    parts: list[Node] = []
    if isinstance(schema.get("$ref"), str):
        parts.append(_read(resolve(schema["$ref"]), depth + 1))
    if "type" in schema:
        node.types = {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
    if "const" in schema:
        node.values = {_encode(schema["const"])}
        node.types = node.types or {_json_type(schema["const"])}
    if isinstance(schema.get("enum"), list):
        node.values = {_encode(v) for v in schema["enum"]}
        node.types = node.types or {_json_type(v) for v in schema["enum"]}
    if isinstance(schema.get("x-known-values"), list):
        node.known = {_encode(v) for v in schema["x-known-values"]}
    for name, sub in (schema.get("properties") or {}).items():
        node.props.setdefault(str(name), []).append(Ref(sub, resolve))
    if isinstance(schema.get("properties"), Mapping) and node.types is None:
        node.types = {"object"}
    node.required = {str(r) for r in schema.get("required") or ()}
    if schema.get("additionalProperties") is False:
        node.closed = True
    if "items" in schema:
        node.items.append(Ref(schema["items"], resolve))
    node.locations = dict(schema.get("x-param-location") or {})
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            parts.append(join([_read(Ref(s, resolve), depth + 1) for s in schema[key]]))
    for member in schema.get("allOf") or ():
        value = type_dispatch(member.get("if")) if isinstance(member, Mapping) else None
        if value is not None and "then" in member:
            node.variants.setdefault(value, []).append(_read(Ref(member["then"], resolve), depth + 1))
        else:
            parts.append(_read(Ref(member, resolve), depth + 1))
    if "if" in schema and ("then" in schema or "else" in schema):
        value = type_dispatch(schema["if"])
        branches = [_read(Ref(schema[k], resolve), depth + 1) for k in ("then", "else") if k in schema]
        if value is not None and "then" in schema:
            node.variants.setdefault(value, []).append(branches[0])
        else:
            parts.append(join(branches))
    return merge([node, *parts]) if parts else node


def merge(nodes: list[Node]) -> Node:
    """All of the nodes at once (``allOf``): constraints add up."""
    out = Node()
    for n in nodes:
        if n.types is not None:
            out.types = set(n.types) if out.types is None else _meet_types(out.types, n.types)
        if n.values is not None:
            out.values = set(n.values) if out.values is None else out.values & n.values
        out.known |= n.known
        for name, refs in n.props.items():
            out.props.setdefault(name, []).extend(refs)
        out.required |= n.required
        out.closed = out.closed or n.closed
        out.items.extend(n.items)
        for value, shapes in n.variants.items():
            out.variants.setdefault(value, []).extend(shapes)
        out.others.extend(n.others)
        out.locations.update(n.locations)
    return out


def _meet_types(a: set[str], b: set[str]) -> set[str]:
    both = a & b
    if ("number" in a and "integer" in b) or ("number" in b and "integer" in a):
        both.add("integer")
    return both


def _discriminator(node: Node) -> str | None:
    """The one ``type`` value an object node fixes, if it fixes one."""
    refs = node.props.get("type")
    if not refs or not node.is_object:
        return None
    values: set[str] = set()
    for ref in refs:
        sub = _read(ref, 0)
        if sub.values is None:
            continue
        values |= {v for v in sub.values if v != "null"}
    if len(values) != 1:
        return None
    decoded = json.loads(next(iter(values)))
    return decoded if isinstance(decoded, str) else None


def join(nodes: list[Node]) -> Node:
    """Any one of the nodes (``anyOf``): what one allows, the union allows.

    Object branches that fix their ``type`` become variants; an object branch that does not,
    next to ones that do, stands for every other ``type`` value.
    """
    if not nodes or any(n.is_any for n in nodes):
        return Node()
    out = Node(types=set())
    objects: list[Node] = []
    keyed: dict[str, list[Node]] = {}
    open_values, values, nullable = False, set(), False
    for n in nodes:
        types = n.types if n.types is not None else {"object"} if (n.props or n.variants) else set()
        out.types |= types  # type: ignore[operator]
        nullable = nullable or "null" in types
        if types - {"null"}:
            if n.values is None:
                open_values = True
            else:
                values |= n.values - {"null"}
        out.known |= n.known
        out.items.extend(n.items)
        if "object" in types:
            key = _discriminator(n) if not n.variants else None
            if key is not None:
                keyed.setdefault(key, []).append(n)
            else:
                objects.append(n)
    if not open_values and values:
        out.values = values | ({"null"} if nullable else set())
    if len(objects) == 1 and not keyed:
        _take_object(out, objects[0])
        return out
    dispatching = [o for o in objects if o.variants]
    plain = [o for o in objects if not o.variants]
    if keyed or dispatching:
        out.variants = {k: list(v) for k, v in keyed.items()}
        for o in dispatching:
            for value, shapes in o.variants.items():
                out.variants.setdefault(value, []).extend(shapes)
        _join_objects(out, dispatching)
        out.others.extend(plain)
        for o in dispatching:
            out.others.extend(o.others)
    else:
        _join_objects(out, plain)
    return out


def _take_object(out: Node, obj: Node) -> None:
    out.props, out.required, out.closed = dict(obj.props), set(obj.required), obj.closed
    out.variants, out.others, out.locations = dict(obj.variants), list(obj.others), dict(obj.locations)


def _join_objects(out: Node, objects: list[Node]) -> None:
    """Properties of any branch; required only where every branch requires; closed only if all are."""
    if not objects:
        return
    out.required = set.intersection(*(o.required for o in objects))
    out.closed = all(o.closed for o in objects)
    for obj in objects:
        for name, refs in obj.props.items():
            out.props.setdefault(name, []).extend(refs)
        out.locations.update(obj.locations)


def variant(node: Node, value: str) -> Node | None:
    """The shape of the object variant whose ``type`` is ``value``: the common part and that variant."""
    if value in node.variants:
        return merge([base(node), *node.variants[value]])
    if node.others:
        return merge([base(node), join(node.others) if len(node.others) > 1 else node.others[0]])
    return None


def base(node: Node) -> Node:
    """The part of a union of objects common to every variant."""
    return Node(types={"object"}, props=dict(node.props), required=set(node.required), closed=node.closed,
                locations=dict(node.locations))


def variant_values(node: Node) -> tuple[set[str], bool]:
    """The ``type`` values a union of objects names, and whether it is closed to others.

    A profile names values by its dispatch branches, by the ``type`` property's enum or
    ``x-known-values``; it is closed when that property is a closed enum and no branch stands
    for "any other type".
    """
    names = set(node.variants)
    closed = False
    for ref in node.props.get("type", ()):
        sub = _read(ref, 0)
        decoded = {json.loads(v) for v in (sub.values or set()) | sub.known}
        names |= {v for v in decoded if isinstance(v, str)}
        if sub.values is not None and not node.others:
            closed = True
    return names, closed
