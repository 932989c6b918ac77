"""The schema -> strategy compiler: everything it generates validates against the same schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.profiles import schemas_root
from conformance.strategies.jsonschema import UnsupportedSchemaError, from_schema, schema_registry

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# One toy schema per keyword (and a few combinations), each a realistic use.
TOY_SCHEMAS: dict[str, dict[str, Any]] = {
    "type-string": {"type": "string"},
    "type-list": {"type": ["string", "null", "integer"]},
    "const": {"const": "message"},
    "enum": {"enum": ["end_turn", "max_tokens", "stop_sequence", None]},
    "object-required": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                        "required": ["a"], "additionalProperties": False},
    "additional-schema": {"type": "object", "additionalProperties": {"type": "boolean"}, "minProperties": 2},
    "required-undeclared": {"type": "object", "required": ["x"]},
    "items": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 4},
    "prefix-items": {"type": "array", "prefixItems": [{"const": 1}, {"type": "string"}], "items": False},
    "unique-items": {"type": "array", "items": {"enum": [1, 2, 3, 4]}, "uniqueItems": True, "minItems": 2},
    "contains": {"type": "array", "items": {"type": "integer"}, "contains": {"const": 7}},
    "lengths": {"type": "string", "minLength": 3, "maxLength": 5},
    "min-max": {"type": "number", "minimum": 0, "maximum": 1},
    "exclusive": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "int-bounds": {"type": "integer", "minimum": 1, "maximum": 256},
    "int-exclusive": {"type": "integer", "exclusiveMinimum": 1023},
    "multiple-of": {"type": "integer", "multipleOf": 5, "minimum": 3, "maximum": 40},
    "pattern": {"type": "string", "pattern": "^toolu_[A-Za-z0-9]{4,12}$"},
    "pattern-unanchored": {"type": "string", "pattern": "[0-9]{3}"},
    "pattern-classes": {"type": "string", "pattern": r"^\d{4}-[\d.]+ \w+$"},
    "format-date-time": {"type": "string", "format": "date-time"},
    "format-uri": {"type": "string", "format": "uri"},
    "base64": {"type": "string", "contentEncoding": "base64"},
    "one-of": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0.5}]},
    "one-of-objects": {"type": "object", "required": ["type"], "oneOf": [
        {"properties": {"type": {"const": "text"}, "text": {"type": "string"}}, "required": ["text"]},
        {"properties": {"type": {"const": "image"}, "url": {"type": "string", "format": "uri"}},
         "required": ["url"]}]},
    "any-of": {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "boolean"}]},
    "all-of": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}},
                          "required": ["a"]},
                         {"properties": {"a": {"maximum": 10}, "b": {"const": True}}, "required": ["b"]}]},
    "if-then-else": {"type": "object", "properties": {"type": {"enum": ["enabled", "disabled"]},
                                                       "budget_tokens": {"type": "integer", "minimum": 1024}},
                     "required": ["type"],
                     "if": {"properties": {"type": {"const": "enabled"}}},
                     "then": {"required": ["budget_tokens"]},
                     "else": {"not": {"required": ["budget_tokens"]}}},
    "not": {"type": "string", "maxLength": 3, "not": {"const": "ab"}},
    "ref-defs": {"$defs": {"block": {"type": "object", "properties": {"type": {"const": "text"}},
                                     "required": ["type"]}},
                 "type": "array", "items": {"$ref": "#/$defs/block"}},
    "ref-with-siblings": {"$defs": {"n": {"type": "integer", "minimum": 0}}, "$ref": "#/$defs/n", "maximum": 5},
    "recursive": {"$defs": {"node": {"type": "object", "properties": {
        "children": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"}}}}},
        "$ref": "#/$defs/node"},
    "true": {},
    "annotations": {"title": "x", "description": "y", "x-since": "2023-06-01", "type": "boolean"},
}


def _validator(schema: Any, registry: Any = None) -> jsonschema.Draft202012Validator:
    kwargs = {"registry": registry} if registry is not None else {}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                                           **kwargs)


@pytest.mark.parametrize("name", sorted(TOY_SCHEMAS))
def test_toy_schema_values_validate(name: str) -> None:
    schema = TOY_SCHEMAS[name]
    validator = _validator(schema)

    @FAST
    @given(from_schema(schema))
    def check(value: Any) -> None:
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, (value, errors)

    check()


def test_branches_are_all_reached() -> None:
    # Not only valid, but covering: every oneOf branch and both if/else sides are generated.
    seen: set[str] = set()

    @settings(max_examples=60, deadline=None)
    @given(from_schema(TOY_SCHEMAS["one-of-objects"]), from_schema(TOY_SCHEMAS["if-then-else"]))
    def collect(block: dict[str, Any], thinking: dict[str, Any]) -> None:
        seen.add(block["type"])
        seen.add(thinking["type"])

    collect()
    assert seen == {"text", "image", "enabled", "disabled"}


def test_pattern_classes_are_ascii_as_in_json_schema() -> None:
    # ECMA 262 \d and \w are ASCII; Python's match any script, which jsonschema-rs would reject.
    @FAST
    @given(from_schema(TOY_SCHEMAS["pattern-classes"]))
    def check(value: str) -> None:
        assert value.isascii(), value

    check()


def test_ref_into_another_document_through_the_registry() -> None:
    shared = {"$id": "https://schemas.test/shared.json",
              "$defs": {"id": {"type": "string", "pattern": "^msg_[a-z]{3}$"}}}
    schema = {"$id": "https://schemas.test/main.json", "type": "object",
              "properties": {"id": {"$ref": "shared.json#/$defs/id"}}, "required": ["id"]}
    registry = schema_registry({shared["$id"]: shared})

    @FAST
    @given(from_schema(schema, registry=registry))
    def check(value: dict[str, Any]) -> None:
        assert value["id"].startswith("msg_") and len(value["id"]) == 7

    check()


def test_overrides_by_pointer_property_and_format() -> None:
    schema = {"type": "object", "required": ["model", "when", "n"],
              "properties": {"model": {"type": "string"}, "when": {"type": "string", "format": "date-time"},
                             "n": {"type": "integer"}}}
    strategy = from_schema(schema, overrides={"model": st.just("claude-x"), "#/properties/n": st.just(3),
                                              "format:date-time": st.just("2024-02-29T12:00:00Z")})

    @FAST
    @given(strategy)
    def applied(value: dict[str, Any]) -> None:
        assert value == {"model": "claude-x", "when": "2024-02-29T12:00:00Z", "n": 3}

    applied()


@pytest.mark.parametrize(("schema", "keyword", "where"), [
    ({"type": "object", "properties": {"a": {"$dynamicRef": "#x"}}}, "$dynamicRef", "#/properties/a"),
    ({"type": "array", "items": {"unevaluatedProperties": False}}, "unevaluatedProperties", "#/items"),
    ({"type": "string", "format": "hostname"}, "hostname", "#/format"),
])
def test_unsupported_keyword_names_keyword_and_path(schema: dict[str, Any], keyword: str, where: str) -> None:
    with pytest.raises(UnsupportedSchemaError) as info:
        from_schema(schema)  # at build time, before any example is drawn
    message = str(info.value)
    assert keyword in message
    assert where in message


def test_unresolvable_ref_is_a_build_error() -> None:
    with pytest.raises(UnsupportedSchemaError, match="cannot resolve"):
        from_schema({"$ref": "#/$defs/missing"})


def _profile_shapes() -> list[tuple[str, str]]:
    root = schemas_root()
    if not (root / "versions.json").is_file():
        return []
    from conformance.profiles import load_profiles

    return [(p.version, shape) for p in load_profiles() for shape in p.schemas.documents]


@pytest.mark.parametrize(("version", "shape"), _profile_shapes() or [pytest.param("-", "-", marks=pytest.mark.skip(
    reason="schemas/versions.json is not there yet"))])
def test_every_profile_shape_generates_valid_values(version: str, shape: str) -> None:
    from conformance.profiles import get_profile
    from conformance.strategies.jsonschema import profile_shape

    profile = get_profile(version)
    # The pure-Python jsonschema validator: independent of the jsonschema-rs filter inside the strategy.
    validator = profile.schemas._slow_validator(shape)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(profile_shape(profile, shape))
    def check(value: Any) -> None:
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(value)]
        assert not errors, (json.dumps(value)[:500], errors)

    check()
