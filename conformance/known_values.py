"""``x-known-values``: strings a response may carry beyond what a profile lists, found without validating.

Enums that may grow in responses (stop reasons, error types, block and event types) are plain strings
annotated with ``"x-known-values": [...]``. :func:`unknown_values` walks schema and instance together
and returns each such string the profile does not list, so a rule can report it as info.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from referencing._core import Resolver  # not re-exported by referencing, but the public return type

__all__ = ["UnknownValue", "json_path", "unknown_values"]

_IDENTIFIER = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")  # the same rule as jsonschema's json_path


class UnknownValue(NamedTuple):
    """A string in an instance that its schema marks ``x-known-values`` but does not list."""

    path: str
    """JSON path, same style as :attr:`Violation.path`."""
    value: str
    known: tuple[str, ...]


_MAX_DEPTH = 64
MAX_WALK_STEPS = 20_000
"""Schema/instance pairs one walk looks at (tens of microseconds each)."""
MAX_UNKNOWN_VALUES = 100


def json_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{parent}['{escaped}']"


def _deref(schema: Any, resolver: Resolver[Any]) -> tuple[Any, Resolver[Any]]:
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    if not isinstance(ref, str):
        return schema, resolver
    try:
        resolved = resolver.lookup(ref)
    except Exception:  # an unresolvable $ref is schemacheck's to report, not this walk's
        return True, resolver
    return resolved.contents, resolved.resolver


_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "integer": (int,), "number": (int, float),
}


def _is_type(instance: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(instance, bool):
        return False
    if name == "integer" and isinstance(instance, float):
        return instance.is_integer()
    return isinstance(instance, _JSON_TYPES.get(name, (object,)))


def _matches(schema: Any, instance: Any, resolver: Resolver[Any], depth: int) -> bool:
    """Whether ``instance`` passes the discriminating keywords of ``schema`` (others are ignored).

    Enough for the ``if`` conditions and union branches our schemas use, which all
    discriminate on ``type``/``const``/``enum``/``required``; schemacheck keeps it so.
    """
    schema, resolver = _deref(schema, resolver)
    if isinstance(schema, bool) or not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return schema is not False
    if "const" in schema and instance != schema["const"]:
        return False
    if isinstance(schema.get("enum"), list) and instance not in schema["enum"]:
        return False
    t = schema.get("type")
    if t is not None and not any(_is_type(instance, n) for n in ([t] if isinstance(t, str) else t)):
        return False
    if isinstance(instance, dict):
        if any(k not in instance for k in schema.get("required", ())):
            return False
        for key, sub in (schema.get("properties") or {}).items():
            if key in instance and not _matches(sub, instance[key], resolver, depth + 1):
                return False
    if "not" in schema and _matches(schema["not"], instance, resolver, depth + 1):
        return False
    if not all(_matches(s, instance, resolver, depth + 1) for s in schema.get("allOf", ())):
        return False
    for key in ("anyOf", "oneOf"):
        if key in schema and not any(_matches(s, instance, resolver, depth + 1) for s in schema[key]):
            return False
    return True


def _walk_known(schema: Any, instance: Any, path: str, resolver: Resolver[Any],
                out: dict[str, UnknownValue], depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0 or len(out) >= MAX_UNKNOWN_VALUES:
        return
    schema, resolver = _deref(schema, resolver)
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return
    known = schema.get("x-known-values")
    if isinstance(known, list) and isinstance(instance, str) and instance not in known:
        out.setdefault(path, UnknownValue(path, instance, tuple(str(k) for k in known)))
    for sub in _applicable(schema, instance, resolver, depth):
        _walk_known(sub, instance, path, resolver, out, depth + 1, budget)
    if isinstance(instance, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in instance:
                _walk_known(sub, instance[key], json_path(path, key), resolver, out, depth + 1, budget)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for key, value in instance.items():
                if budget[0] < 0:
                    break
                if key not in props:
                    _walk_known(extra, value, json_path(path, key), resolver, out, depth + 1, budget)
    elif isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(instance):
            if budget[0] < 0:
                break  # (a million items would cost a million calls that each return at once)
            _walk_known(schema["items"], item, json_path(path, i), resolver, out, depth + 1, budget)


def _applicable(schema: Mapping[str, Any], instance: Any, resolver: Resolver[Any], depth: int) -> Iterator[Any]:
    """The in-place subschemas that apply to ``instance``."""
    yield from schema.get("allOf", ())
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            if _matches(sub, instance, resolver, depth + 1):
                yield sub
    if "if" in schema:
        branch = "then" if _matches(schema["if"], instance, resolver, depth + 1) else "else"
        if branch in schema:
            yield schema[branch]


def unknown_values(schema: Any, instance: Any, resolver: Resolver[Any]) -> list[UnknownValue]:
    """Each string in ``instance`` annotated ``x-known-values`` in ``schema`` whose value is not listed.

    Bounded: the walk looks at the first :data:`MAX_WALK_STEPS` schema/instance pairs and reports at
    most :data:`MAX_UNKNOWN_VALUES` values, so a body of a million blocks costs a fraction of a second.
    """
    out: dict[str, UnknownValue] = {}
    _walk_known(schema, instance, "$", resolver, out, 0, [MAX_WALK_STEPS])
    return list(out.values())
