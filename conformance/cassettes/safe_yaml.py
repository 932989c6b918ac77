"""YAML, loaded safely and within bounds.

Always a safe loader: a ``!!python/...`` tag is an input error and nothing is ever constructed from it.
One family is read, never executed: the ``multidict`` ``istr`` header names vcrpy writes for aiohttp
(``? !!python/object/apply:multidict._multidict.istr [Accept]``) become the plain string they hold.
Aliases are checked before anything is built from the node graph: a small file whose aliases expand
to gigabytes ("billion laughs") or contain themselves is refused in one line.
"""

from __future__ import annotations

from typing import Any

import yaml

from conformance.cassettes._common import Source

# libyaml's safe loader when available: same safety, several times faster on big cassettes.
_BaseSafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ISTR_TAGS = tuple(f"tag:yaml.org,2002:python/object/apply:{name}.istr"
                  for name in ("multidict._multidict", "multidict._multidict_py", "multidict"))
"""How PyYAML spells a ``multidict.istr`` (aiohttp's case-insensitive header name) in the C and the
pure-Python builds of multidict: the only ``!!python/...`` tags read, and only as the string they hold."""

_STR_TAG = "tag:yaml.org,2002:str"


class _IstrError(yaml.constructor.ConstructorError):
    """An istr tag holding anything but one string."""


def _istr(loader: Any, node: yaml.Node) -> str:
    # Read straight off the node: nothing is constructed, so nothing nested in it can run.
    if (isinstance(node, yaml.SequenceNode) and len(node.value) == 1
            and isinstance(node.value[0], yaml.ScalarNode) and node.value[0].tag == _STR_TAG):
        loader.istr_keys = True
        return str(node.value[0].value)
    raise _IstrError(None, None, f"{node.tag.rsplit(':', 1)[-1]} holds {_shape(node)}, not one header name",
                     node.start_mark)


def _shape(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return f"a list of {len(node.value)} items" if len(node.value) != 1 else "a list of one non-string"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a scalar"


class _SafeLoader(_BaseSafeLoader):  # type: ignore[misc]  # a safe loader (see _BaseSafeLoader), never yaml.Loader
    istr_keys = False
    """Set once a multidict istr was read, so the recording can say how its header names were stored."""


for _tag in ISTR_TAGS:
    _SafeLoader.add_constructor(_tag, _istr)


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
        data = loader.construct_document(node)
        if loader.istr_keys:
            src.note("header names stored as multidict istr tags (vcrpy with aiohttp): read as plain strings")
        return data
    except _IstrError as exc:
        raise src.error(f"YAML multidict istr tag refused: {exc.problem}", _mark(exc),
                        "an istr tag holds a one-item list with the header name, e.g. [Content-Type]; "
                        "re-record the cassette") from None
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
