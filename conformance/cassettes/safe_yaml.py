"""YAML, loaded safely and within bounds.

Always a safe loader: a ``!!python/...`` tag is an input error and nothing is ever constructed from it.
Aliases are checked before anything is built from the node graph: a small file whose aliases expand
to gigabytes ("billion laughs") or contain themselves is refused in one line.
"""

from __future__ import annotations

from typing import Any

import yaml

from conformance.cassettes._common import Source

# libyaml's safe loader when available: same safety, several times faster on big cassettes.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


ALIAS_ALLOWANCE = 1_000_000
"""How much YAML aliases may add to a document beyond its own length (in characters of scalars and
nodes): cassette writers alias only small repeated values (a shared header list), while a 1 KB
"billion laughs" file expands to gigabytes the moment anything walks or serialises it."""


def load_yaml(src: Source, text: str, name: str) -> Any:
    loader = _SafeLoader(text)  # a safe loader (see _SafeLoader), never yaml.Loader
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # no anchor, no alias
            _check_alias_expansion(src, node, len(text) + ALIAS_ALLOWANCE)
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        where = _mark(exc)
        if "python/" in str(exc.problem or "") or "python/" in str(exc):
            raise src.error("YAML !!python/... tag refused: recordings are read with a safe loader, "
                            "never executed", where, "remove the tag; a cassette needs only plain YAML and !!binary"
                            ) from None
        raise src.error(f"unreadable YAML value: {exc.problem}", where,
                        "the file is damaged or uses a YAML tag other than !!binary; re-record it") from None
    except yaml.YAMLError as exc:
        if name.endswith((".yaml", ".yml")) or "interactions:" in text:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise src.error(f"invalid YAML: {problem}", _mark(exc),
                            "the file is truncated or damaged; re-record it") from None
        return None
    finally:
        loader.dispose()


def _check_alias_expansion(src: Source, root: yaml.Node, limit: int) -> None:
    """Refuse a node graph whose aliases expand it past ``limit`` or make it contain itself.

    Each distinct node is sized once (an alias is the same node object as its anchor), so this costs
    the size of the file, not of the expansion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1 + len(node.value)
            continue
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value))
        if children_done:
            on_path.discard(key)
            size = sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if size > limit:
                raise src.error(f"YAML aliases expand the document past {limit:,} characters (an alias bomb)",
                                _node_mark(node), "cassette writers alias only small repeated values; "
                                "remove the aliases or re-record the cassette")
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise src.error("a YAML alias refers to a node that contains it", _node_mark(child),
                                "a recording is a tree; remove the alias or re-record the cassette")
            if id(child) not in sizes:
                stack.append((child, False))


def _node_mark(node: yaml.Node) -> str | None:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


def _mark(exc: yaml.YAMLError) -> str | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return None
    return f"line {mark.line + 1}, column {mark.column + 1}"
