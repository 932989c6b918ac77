"""Schema algebra for the strategy compiler: the conjunction of two schemas, and narrowing by a condition.

``allOf`` branches and ``if``/``then`` pairs are generated as one merged schema where the keywords
allow it (types intersected, bounds tightened, properties merged); what a merge cannot express is
left to the node's own validator, which filters the candidates (:mod:`conformance.strategies.jsonschema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["exclude_const", "merge", "types_of"]


def types_of(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [str(t) for t in declared]
    inferred = []
    keys = schema.keys()
    if keys & {"properties", "required", "additionalProperties", "patternProperties", "minProperties",
               "maxProperties", "propertyNames", "dependentRequired"}:
        inferred.append("object")
    if keys & {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"}:
        inferred.append("array")
    if keys & {"minLength", "maxLength", "pattern", "format"}:
        inferred.append("string")
    if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
        inferred.append("number")
    return inferred


def merge(a: Any, b: Any) -> Any:
    """Conjunction of two schemas as one, where the keywords allow; the node filter covers the rest."""
    if a is True or a == {}:
        return b
    if b is True or b == {}:
        return a
    if a is False or b is False:
        return False
    out = dict(a)
    if "if" in a and "if" in b:
        # Two conditionals: keep b's as one allOf branch so its then/else stay attached to its if.
        group = {k: b[k] for k in ("if", "then", "else") if k in b}
        b = {k: v for k, v in b.items() if k not in group}
        out["allOf"] = [*out.get("allOf", []), group]
    for key, value in b.items():
        if key not in out:
            out[key] = value
            continue
        mine = out[key]
        if key == "type":
            left = {mine} if isinstance(mine, str) else set(mine)
            right = {value} if isinstance(value, str) else set(value)
            both = left & right | ({"integer"} if ("number" in left and "integer" in right)
                                   or ("integer" in left and "number" in right) else set())
            out[key] = sorted(both)
        elif key == "required":
            out[key] = list(dict.fromkeys([*mine, *value]))
        elif key == "properties":
            merged = dict(mine)
            for name, sub in value.items():
                merged[name] = merge(merged[name], sub) if name in merged else sub
            out[key] = merged
        elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
            out[key] = max(mine, value)
        elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
            out[key] = min(mine, value)
        elif key == "enum":
            out[key] = [v for v in mine if v in value]
        elif key in ("allOf",):
            out[key] = [*mine, *value]
        elif key in ("oneOf", "anyOf"):
            out.setdefault("allOf", [])
            out["allOf"] = [*out["allOf"], {key: value}]
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames"):
            out[key] = merge(mine, value) if key != "not" else {"anyOf": [mine, value]}
        # Otherwise (const vs const, pattern vs pattern, annotations) keep ours: the enclosing
        # node's validator filters out what the dropped constraint would have rejected.
    if "const" in out and "enum" in out:
        del out["enum"]
    return out


def exclude_const(schema: Any, cond: Any) -> Any:
    """``schema`` narrowed so a discriminating ``cond`` (``{"properties": {p: {"const": c}}}``) fails.

    Returns ``None`` when nothing is left, and ``schema`` unchanged when ``cond`` is not of that form.
    """
    if schema is None or not isinstance(schema, Mapping) or not isinstance(cond, Mapping):
        return schema
    props = cond.get("properties", {})
    if set(cond) - {"properties", "required"} or len(props) != 1:
        return schema
    (name, test), = props.items()
    if not isinstance(test, Mapping) or set(test) != {"const"}:
        return schema
    mine = schema.get("properties", {}).get(name)
    if isinstance(mine, Mapping) and "enum" in mine:
        left = [v for v in mine["enum"] if v != test["const"]]
        if not left:
            return None
        return {**schema, "properties": {**schema["properties"], name: {**mine, "enum": left}}}
    if isinstance(mine, Mapping) and mine.get("const", object()) == test["const"]:
        return None
    return schema
