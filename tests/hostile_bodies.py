"""Type-confused request bodies: a valid, feature-rich request with any JSON value put at any path.

Shared by the request-rule property (tests/test_request_rules_hostile.py) and the reference server's
(tests/server/test_hostile_bodies.py): both must survive every such body without an exception.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

#: Every feature the cross-field rules read: tools and tool_choice, a tool loop, thinking, system,
#: stop sequences, metadata, a document and citations (the version rules).
RICH: dict[str, Any] = {
    "model": "claude-sonnet-4-20250514",
    "max_tokens": 2048,
    "system": [{"type": "text", "text": "Be brief."}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather?", "citations": None}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "Sunny"}]},
    ],
    "tools": [{"name": "get_weather", "description": "Weather.",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    "tool_choice": {"type": "tool", "name": "get_weather"},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "stop_sequences": ["END"],
    "metadata": {"user_id": "u-1"},
    "temperature": 0.5,
}

Path = tuple[str | int, ...]


def _paths(value: Any, here: Path = ()) -> Iterator[Path]:
    yield here
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*here, i))


PATHS = sorted(set(_paths(RICH)), key=lambda p: (len(p), str(p)))

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)
# Values of the shapes the rules expect elsewhere (an object where a name goes, a list where an id goes).
confusing = st.one_of(json_values, st.sampled_from([[], {}, [None], {"name": "x"}, {"type": "tool_use"},
                                                    [{"type": "tool_result"}], {"id": []}]))


def replaced(path: Path, value: Any) -> Any:
    if not path:
        return value
    body = copy.deepcopy(RICH)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return body


bodies = st.builds(replaced, st.sampled_from(PATHS), confusing)
