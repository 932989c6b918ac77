"""Tool inputs the reference server generates validate against the tool's input_schema (and never blow up).

The suite judges "a tool_use block's input validates against the tool's input_schema", so the faithful
server must pass it for every schema the suite sends (strategies/requests.py ``_TOOLS``) and the
keywords tools commonly use: enums, nested objects, arrays, integer and number bounds, patterns,
formats, ``$ref``. Whatever a client sends as a schema (type-confused keywords, huge bounds,
patterns outside the supported subset), generation returns a bounded value without raising.
"""

from __future__ import annotations

import random
import re
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.server.instances import schema_instance
from conformance.server.patterns import MAX_STRING, pattern_string
from conformance.strategies.requests import TOOLS as _TOOLS
from tests.server.support import body, headers

EXTRA: dict[str, dict[str, Any]] = {
    "enums_and_consts": {"type": "object", "required": ["unit", "mode", "level"], "properties": {
        "unit": {"enum": ["celsius", "fahrenheit"]}, "mode": {"const": "fast"},
        "level": {"type": "integer", "enum": [1, 2, 3]}}},
    "nested_objects": {"type": "object", "required": ["address"], "additionalProperties": False, "properties": {
        "address": {"type": "object", "required": ["street", "geo"], "properties": {
            "street": {"type": "string", "minLength": 3},
            "geo": {"type": "object", "required": ["lat", "lon"], "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "exclusiveMinimum": -180, "exclusiveMaximum": 180}}}}}}},
    "arrays": {"type": "object", "required": ["tags", "matrix", "pair"], "properties": {
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "minItems": 2, "maxItems": 4,
                 "uniqueItems": True},
        "matrix": {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 2,
                                                             "items": {"type": "integer"}}},
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "minItems": 2}}},
    "integer_bounds": {"type": "object", "required": ["a", "b", "c", "d"], "properties": {
        "a": {"type": "integer", "minimum": 10, "maximum": 10},
        "b": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
        "c": {"type": "integer", "minimum": 1.5, "maximum": 3.5},
        "d": {"type": "integer", "minimum": 7, "multipleOf": 5}}},
    "patterns": {"type": "object", "required": ["sku", "zip", "hex", "word", "alt", "email"], "properties": {
        "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
        "zip": {"type": "string", "pattern": r"^\d{5}(-\d{4})?$"},
        "hex": {"type": "string", "pattern": r"^#(?:[0-9a-fA-F]{3}){1,2}$"},
        "word": {"type": "string", "pattern": r"^\w+\.\w+$", "minLength": 5, "maxLength": 12},
        "alt": {"type": "string", "pattern": r"^(red|green|blue)[^a-z\s]*$"},
        "email": {"type": "string", "format": "email"}}},
    "refs_and_unions": {"type": "object", "required": ["item", "either", "maybe", "both"], "$defs": {
        "item": {"type": "object", "required": ["id"],
                 "properties": {"id": {"type": "string", "pattern": "^it_[a-z]{4}$"}}}},
        "properties": {
            "item": {"$ref": "#/$defs/item"},
            "either": {"oneOf": [{"type": "integer", "minimum": 5}, {"type": "string", "maxLength": 2}]},
            "maybe": {"type": ["null", "string"], "format": "date-time"},
            "both": {"allOf": [{"type": "object", "required": ["x"], "properties": {"x": {"type": "integer"}}},
                               {"required": ["y"], "properties": {"y": {"type": "boolean"}}}]}}},
    "min_properties": {"type": "object", "minProperties": 2, "properties": {"only": {"type": "string"}}},
}
SCHEMAS = {**_TOOLS, **EXTRA}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_generated_inputs_validate_against_the_tools_schema(name: str) -> None:
    schema = SCHEMAS[name]
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    bad = []
    for seed in range(200):
        value = schema_instance(schema, random.Random(seed))
        errors = [e.message for e in validator.iter_errors(value)]
        if errors:
            bad.append((value, errors))
    assert bad == [], f"{len(bad)}/200 invalid, e.g. {bad[:2]}"


@pytest.mark.parametrize("pattern", [
    r"^[0-9]{1,4}( [+*/-] [0-9]{1,4}){1,3}$", r"^ord_[0-9]{6}$", r"^[A-Z]{3}-\d{4}$", r"\d+", r"^a.c$",
    r"^(?:ab|cd)*x?$", r"^[^0-9]{2,3}$", r"^\$\d+\.\d\d$", r"^[\w.-]+@[a-z]+\.(com|org)$", r"^$", r"colou?r",
    r"^[a-c-]{4}$", r"^[\]\\]{2}$", r"^\x41\u0042\t$",
])
def test_pattern_strings_match_their_pattern(pattern: str) -> None:
    for seed in range(50):
        text = pattern_string(pattern, random.Random(seed))
        assert text is not None and re.search(pattern, text), (pattern, text)


@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"^(?=x)x$", r"^a\bb$", "^[a-", "(", r"a{2,1}", "^a{99999}$"])
def test_patterns_outside_the_subset_give_none(pattern: str) -> None:
    assert pattern_string(pattern, random.Random(0)) is None


def test_an_unsatisfiable_pattern_falls_back_to_a_bounded_word() -> None:
    value = schema_instance({"type": "string", "pattern": r"^(a)\1$", "maxLength": 4}, random.Random(0))
    assert isinstance(value, str) and len(value) <= 4


keywords = st.sampled_from(["type", "properties", "required", "items", "prefixItems", "minItems", "maxItems",
                            "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                            "exclusiveMaximum", "multipleOf", "pattern", "enum", "const", "anyOf", "oneOf",
                            "allOf", "$ref", "$defs", "additionalProperties", "minProperties", "format",
                            "uniqueItems"])
junk = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                 st.text(max_size=6), st.sampled_from(["object", "array", "string", "integer", "number",
                                                       "#/$defs/a", "#", "^(a+)+$", "[", "a{9999999}"]))
schemas = st.recursive(st.dictionaries(keywords, junk, max_size=4), lambda inner: st.one_of(
    st.dictionaries(keywords, st.one_of(junk, inner, st.lists(inner, max_size=3),
                                        st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_size=5)),
    max_leaves=12)


@given(schema=schemas, seed=st.integers(0, 2**32))
def test_any_client_schema_gives_a_bounded_value_without_raising(schema: dict[str, Any], seed: int) -> None:
    value = schema_instance(schema, random.Random(seed))
    assert len(orjson.dumps(value)) < 64 * MAX_STRING


@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": 1e300}, {"type": "integer", "maximum": -1e300},  # were ints JSON cannot carry
    {"type": "number", "minimum": 1e308}, {"type": "number", "minimum": -1e308, "maximum": 1e308},
    {"type": "number", "multipleOf": 1e-320}, {"type": "integer", "multipleOf": 1e300},
    {"type": "number", "exclusiveMinimum": 1.7e308, "exclusiveMaximum": 1.79e308},
])
def test_extreme_numeric_bounds_give_json_numbers(schema: dict[str, Any]) -> None:
    value = schema_instance(schema, random.Random(0))
    assert isinstance(value, (int, float)) and orjson.loads(orjson.dumps(value)) == value


def test_huge_bounds_are_capped() -> None:
    value = schema_instance({"type": "object", "required": ["a", "s"], "properties": {
        "a": {"type": "array", "minItems": 10**9}, "s": {"type": "string", "minLength": 10**9}}},
        random.Random(0))
    assert len(orjson.dumps(value)) < 64 * MAX_STRING


@pytest.mark.parametrize("name", sorted(_TOOLS))
def test_the_server_calls_each_suite_tool_with_a_valid_input(client: Any, name: str) -> None:
    tool = {"name": name, "input_schema": _TOOLS[name]}
    for i in range(5):
        r = client.post("/v1/messages", headers=headers(), json=body(f"call {name} {i}", tools=[tool],
                                                                     tool_choice={"type": "tool", "name": name}))
        block = r.json()["content"][-1]
        assert block["type"] == "tool_use" and block["name"] == name
        jsonschema.validate(block["input"], _TOOLS[name])
