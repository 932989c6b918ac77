"""Findings quote a bounded amount of whatever a rule hands them."""

from __future__ import annotations

import json

from conformance.findings import MESSAGE_LIMIT, PATH_LIMIT, QUOTE_LIMIT, Finding, Severity, bounded


def test_values_that_fit_are_kept_as_they_are() -> None:
    for value in (None, 3, 2.5, True, "text", ["a", 1], {"k": {"n": [1, 2]}}):
        assert bounded(value) is value


def test_a_long_string_keeps_its_start_and_says_how_much_is_cut() -> None:
    out = bounded("x" * 10_000)
    assert out.startswith("x" * QUOTE_LIMIT) and out.endswith(f"({10_000 - QUOTE_LIMIT:,} more characters)")


def test_long_lists_and_mappings_keep_their_shape_and_first_items() -> None:
    items = bounded(list(range(100_000)))
    assert isinstance(items, list) and items[:3] == [0, 1, 2]
    assert items[-1].startswith("... (") and len(json.dumps(items)) < 2 * QUOTE_LIMIT
    mapping = bounded({f"key{i}": "v" * 50 for i in range(10_000)})
    assert isinstance(mapping, dict) and mapping["key0"] == "v" * 50
    assert len(json.dumps(mapping)) < 2 * QUOTE_LIMIT


def test_a_billion_laughs_structure_costs_the_budget_not_the_expansion() -> None:
    laughs: object = "lol"
    for _ in range(12):  # 10**12 leaves if walked whole
        laughs = [laughs] * 10
    assert len(json.dumps(bounded(laughs))) < 2 * QUOTE_LIMIT


def test_deep_nesting_is_cut() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert len(json.dumps(bounded(deep))) < 200


def test_every_finding_is_bounded_when_built() -> None:
    huge = [{"type": "text", "text": "x" * 1000}] * 3000
    f = Finding("body.response-schema", Severity.ERROR, "m" * 100_000, path="$" + ".a" * 10_000,
                expected=huge, actual=huge)
    assert len(f.message) <= MESSAGE_LIMIT and len(f.path) <= PATH_LIMIT
    assert len(json.dumps(f.to_json())) < 3 * QUOTE_LIMIT + MESSAGE_LIMIT + PATH_LIMIT + 500
    moved = f.located("file.yaml", 3)
    assert moved.actual == f.actual and moved.message == f.message
