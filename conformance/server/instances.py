"""Values valid against a JSON Schema, deterministically: the ``input`` of the tool_use blocks the server writes.

The suite judges that a tool_use block's input validates against the tool's ``input_schema``, so the
faithful server must produce valid inputs for the keywords tools use: ``type`` (and lists of types),
``properties``/``required``/``additionalProperties``/``minProperties``, ``items``/``prefixItems``/
``minItems``/``maxItems``/``uniqueItems``, numeric bounds (exclusive too) and ``multipleOf``,
``minLength``/``maxLength``, ``pattern``, ``format``, ``enum``/``const``, ``anyOf``/``oneOf``/``allOf`` and
local ``$ref``. Randomness comes from the caller's seeded PRNG; there is no Hypothesis at run time.

``pattern`` is met by patterns.py, a small generator for the regular-expression subset tool schemas
use; outside that subset the server falls back to a plain word within the length bounds: a documented
gap, never an error.

A schema comes from the client, so nothing here trusts it: every keyword is type-checked before use,
and strings, arrays, objects and nesting are capped (:data:`MAX_STRING` ...), so a hostile schema
(``minItems: 1e9``, ``a{99999}``, a ``$ref`` loop) costs a bounded amount of work and memory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from conformance.server.patterns import MAX_STRING, pattern_string

__all__ = ["schema_instance"]

MAX_ITEMS = 16
MAX_PROPERTIES = 16
MAX_DEPTH = 8
_INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers are kept to what JSON encoders write (a schema asking for more gets the nearest)."""

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
          "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango")

_FORMATS: Mapping[str, str] = {
    "date-time": "2024-01-01T12:00:00Z", "date": "2024-01-01", "time": "12:00:00Z", "duration": "P1D",
    "email": "user@example.com", "idn-email": "user@example.com", "hostname": "example.com",
    "idn-hostname": "example.com", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "uri": "https://example.com/",
    "uri-reference": "https://example.com/", "iri": "https://example.com/", "iri-reference": "https://example.com/",
    "uuid": "123e4567-e89b-42d3-a456-426614174000", "json-pointer": "/a", "regex": "^a$",
}

# -- values valid against a schema ------------------------------------------------------------------------


def _number(schema: Mapping[str, Any], key: str) -> float | None:
    value = schema.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _count(schema: Mapping[str, Any], key: str, cap: int) -> int | None:
    value = _number(schema, key)
    return None if value is None else max(0, min(cap, math.floor(value)))


def _resolve(root: Any, ref: str) -> Any:
    """A local ``$ref`` (``#/$defs/name``) in ``root``; ``None`` when it does not resolve."""
    if not ref.startswith("#"):
        return None
    node = root
    for raw in ref[1:].split("/")[1:]:
        step = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


def _merged(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """``allOf`` as one schema: properties and required united, other keywords from the last part."""
    out: dict[str, Any] = {}
    props: dict[str, Any] = {}
    required: list[Any] = []
    for part in parts:
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                props.update(value)
            elif key == "required" and isinstance(value, list):
                required.extend(value)
            elif key != "allOf":
                out[key] = value
    if props:
        out["properties"] = props
    if required:
        out["required"] = required
    return out


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        names = [k for k in kind if isinstance(k, str)]
        kind = next((k for k in names if k != "null"), names[0] if names else None)
    if isinstance(kind, str) and kind in ("object", "array", "string", "integer", "number", "boolean", "null"):
        return kind
    if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def schema_instance(schema: Any, rng: random.Random, depth: int = 0, root: Any = None) -> Any:
    """A value valid against ``schema`` (see the module docstring for what is covered), bounded in size."""
    root = schema if root is None else root
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(root, ref)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return schema_instance({**target, **rest} if isinstance(target, Mapping) else rest, rng, depth + 1, root)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return rng.choice(enum)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            usable = [o for o in options if isinstance(o, Mapping)]
            if usable:
                # The first option: oneOf needs exactly one to match, and options usually differ at once.
                rest = {k: v for k, v in schema.items() if k != key}
                return schema_instance(_merged([rest, usable[0]]), rng, depth + 1, root)
    parts = schema.get("allOf")
    if isinstance(parts, list) and parts:
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return schema_instance(_merged([rest, *(p for p in parts if isinstance(p, Mapping))]), rng, depth + 1, root)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, rng, depth, root)
    if kind == "array":
        return _array(schema, rng, depth, root)
    if kind == "integer":
        return _integer(schema, rng)
    if kind == "number":
        return _float(schema, rng)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def _object(schema: Mapping[str, Any], rng: random.Random, depth: int, root: Any) -> dict[str, Any]:
    raw_props = schema.get("properties")
    props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
    extra = schema.get("additionalProperties")
    raw_required = schema.get("required")
    names = [r for r in raw_required if isinstance(r, str)] if isinstance(raw_required, list) else []
    wanted = _count(schema, "minProperties", MAX_PROPERTIES) or 0
    out: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        if len(out) >= MAX_PROPERTIES:
            break
        sub = props.get(name, extra if isinstance(extra, Mapping) else {})
        out[name] = schema_instance(sub, rng, depth + 1, root)
    for name, sub in props.items():
        if len(out) >= wanted:
            break
        if name not in out:
            out[name] = schema_instance(sub, rng, depth + 1, root)
    n = 0
    while len(out) < wanted and extra is not False:
        out[f"extra_{n}"] = schema_instance(extra if isinstance(extra, Mapping) else {"type": "string"},
                                            rng, depth + 1, root)
        n += 1
    return out


def _array(schema: Mapping[str, Any], rng: random.Random, depth: int, root: Any) -> list[Any]:
    raw_prefix = schema.get("prefixItems")
    prefix = raw_prefix if isinstance(raw_prefix, list) else []
    items = schema.get("items")
    least = _count(schema, "minItems", MAX_ITEMS)
    most = _count(schema, "maxItems", MAX_ITEMS)
    n = least if least is not None else (len(prefix) or 1)
    if most is not None:
        n = min(n, most)
    if depth >= MAX_DEPTH:
        n = least or 0
    if items is False:
        n = min(n, len(prefix))
    unique = schema.get("uniqueItems") is True
    out: list[Any] = []
    for i in range(min(n, MAX_ITEMS)):
        sub = prefix[i] if i < len(prefix) else (items if isinstance(items, Mapping) else {})
        value = schema_instance(sub, rng, depth + 1, root)
        for _ in range(8):  # distinct values for uniqueItems: draw again (the PRNG moves on)
            if not unique or value not in out:
                break
            value = schema_instance(sub, rng, depth + 1, root)
        out.append(value)
    return out


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low exclusive, high, high exclusive), from the tightest of the plain and exclusive keywords."""
    low, low_x, high, high_x = _number(schema, "minimum"), False, _number(schema, "maximum"), False
    xlow, xhigh = _number(schema, "exclusiveMinimum"), _number(schema, "exclusiveMaximum")
    if xlow is not None and (low is None or xlow >= low):
        low, low_x = xlow, True
    if xhigh is not None and (high is None or xhigh <= high):
        high, high_x = xhigh, True
    return low, low_x, high, high_x


def _integer(schema: Mapping[str, Any], rng: random.Random) -> int:
    low, low_x, high, high_x = _bounds(schema)
    lo = None if low is None else (math.floor(low) + 1 if low_x else math.ceil(low))
    hi = None if high is None else (math.ceil(high) - 1 if high_x else math.floor(high))
    if lo is None:
        lo = 0 if hi is None or hi >= 0 else hi - 100
    if hi is None:
        hi = lo + 100
    lo, hi = (min(max(v, _INT_RANGE[0]), _INT_RANGE[1]) for v in (lo, hi))
    if lo > hi:
        return lo  # unsatisfiable: the nearest to what was asked
    step = _number(schema, "multipleOf")
    if step is not None and step > 0 and float(step).is_integer():
        m = int(step)
        first, last = -(-lo // m), hi // m
        if first <= last:
            return m * rng.randint(first, last)
    return rng.randint(lo, hi)


def _float(schema: Mapping[str, Any], rng: random.Random) -> float | int:
    low, low_x, high, high_x = _bounds(schema)
    lo = 0.0 if low is None else float(low)
    hi = lo + 100.0 if high is None else float(high)
    if low is None and hi < lo:
        lo = hi - 100.0
    step = _number(schema, "multipleOf")
    if step is not None and step > 0 and math.isfinite(lo / step) and math.isfinite(hi / step):
        first, last = math.ceil(lo / step), math.floor(hi / step)
        for k in (rng.randint(first, last) if first <= last else first, first, last):
            for value in (k * step, round(k * step, 12)):
                if _inside(value, low, low_x, high, high_x) and (value / step).is_integer():
                    return int(value) if float(value).is_integer() else value
    value = round(rng.uniform(lo, hi), 2)
    if not _inside(value, low, low_x, high, high_x):
        value = lo / 2 + hi / 2  # halves first: lo + hi may overflow
    return value if math.isfinite(value) else lo


def _inside(value: float, low: float | None, low_x: bool, high: float | None, high_x: bool) -> bool:
    if low is not None and (value < low or (low_x and value == low)):
        return False
    return not (high is not None and (value > high or (high_x and value == high)))


def _string(schema: Mapping[str, Any], rng: random.Random) -> str:
    shortest = _count(schema, "minLength", MAX_STRING) or 0
    longest = _count(schema, "maxLength", MAX_STRING * 64)
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        found = pattern_string(pattern, rng, shortest, longest)
        if found is not None:
            return found
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    word = rng.choice(_WORDS)
    while len(word) < shortest:
        word += rng.choice(_WORDS)
    return word[:longest] if longest is not None else word
