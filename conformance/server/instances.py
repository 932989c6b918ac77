"""Values valid against a JSON Schema, deterministically: the ``input`` of the tool_use blocks the server writes.

The suite judges that a tool_use block's input validates against the tool's ``input_schema``, so the
faithful server must produce valid inputs for the keywords tools use: ``type`` (and lists of types),
``properties``/``required``/``additionalProperties``/``minProperties``, ``items``/``prefixItems``/
``minItems``/``maxItems``/``uniqueItems``, numeric bounds (exclusive too) and ``multipleOf``,
``minLength``/``maxLength``, ``pattern``, ``format``, ``enum``/``const``, ``anyOf``/``oneOf``/``allOf`` and
local ``$ref``. Randomness comes from the caller's seeded PRNG; there is no Hypothesis at run time.

``pattern`` is met by a small generator for the regular-expression subset tool schemas use:
literals and escapes, ``.``, classes (ranges, negation, ``\\d \\w \\s`` and their complements),
groups (capturing, ``(?:...)``, ``(?<name>...)``), alternation, anchors and the quantifiers
``? * + {n} {n,} {n,m}`` (unbounded ones repeat at most 3 more times than their minimum). Outside that
subset (backreferences, lookarounds, ``\\b``, Unicode properties) the server falls back to a plain word
within the length bounds: a documented gap, never an error.

A schema comes from the client, so nothing here trusts it: every keyword is type-checked before use,
and strings, arrays, objects and nesting are capped (:data:`MAX_STRING` ...), so a hostile schema
(``minItems: 1e9``, ``a{99999}``, a ``$ref`` loop) costs a bounded amount of work and memory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

MAX_STRING = 256
"""Longest string generated (a pattern or ``minLength`` asking for more is not met)."""
MAX_ITEMS = 16
MAX_PROPERTIES = 16
MAX_DEPTH = 8
MAX_PATTERN = 1000
"""Longest pattern the generator parses."""
_INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers are kept to what JSON encoders write (a schema asking for more gets the nearest)."""
_EXTRA_REPEATS = 3

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
          "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango")

_FORMATS: Mapping[str, str] = {
    "date-time": "2024-01-01T12:00:00Z", "date": "2024-01-01", "time": "12:00:00Z", "duration": "P1D",
    "email": "user@example.com", "idn-email": "user@example.com", "hostname": "example.com",
    "idn-hostname": "example.com", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "uri": "https://example.com/",
    "uri-reference": "https://example.com/", "iri": "https://example.com/", "iri-reference": "https://example.com/",
    "uuid": "123e4567-e89b-42d3-a456-426614174000", "json-pointer": "/a", "regex": "^a$",
}

# -- strings matching a pattern ---------------------------------------------------------------------------

_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
_DIGITS = "0123456789"
_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_SPACE = " "
_CLASS_ESCAPES = {"d": _DIGITS, "w": _WORD, "s": _SPACE,
                  "D": "".join(c for c in _PRINTABLE if c not in _DIGITS),
                  "W": "".join(c for c in _PRINTABLE if c not in _WORD),
                  "S": "".join(c for c in _PRINTABLE if c != " ")}
_CONTROL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}

# A parsed pattern: ("chars", options) one character of options; ("seq", [nodes]); ("alt", [nodes]);
# ("rep", node, least, most).
_Node = tuple[Any, ...]


class _Unsupported(Exception):
    """The pattern uses syntax outside the subset (or is malformed)."""


class _TooLong(Exception):
    """The string would exceed MAX_STRING."""


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def take(self) -> str:
        if self.i >= len(self.p):
            raise _Unsupported("unexpected end")
        c = self.p[self.i]
        self.i += 1
        return c

    def parse(self) -> _Node:
        node = self.alternation()
        if self.i != len(self.p):
            raise _Unsupported(f"unexpected {self.peek()!r}")
        return node

    def alternation(self) -> _Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else ("alt", options)

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            items.append(self.quantified(atom))
        return ("seq", items)

    def quantified(self, atom: _Node) -> _Node:
        c = self.peek()
        if c in ("*", "+", "?"):
            self.i += 1
            least, most = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif c == "{" and self._bounds() is not None:
            least, most = self._bounds() or (0, 0)
            self.i = self.p.index("}", self.i) + 1
        else:
            return atom
        if self.peek() in ("?", "+"):  # lazy or possessive: the same strings match
            self.i += 1
        if most is not None and most < least:
            raise _Unsupported("quantifier with max below min")
        return ("rep", atom, least, least + _EXTRA_REPEATS if most is None else most)

    def _bounds(self) -> tuple[int, int | None] | None:
        end = self.p.find("}", self.i)
        inner = self.p[self.i + 1:end] if end > 0 else ""
        low, comma, high = inner.partition(",")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        return int(low), (int(high) if high else None) if comma else int(low)

    def atom(self) -> _Node:
        c = self.take()
        if c == "(":
            if self.peek() == "?":
                self.i += 1
                kind = self.take()
                if kind == "<" and self.peek() not in ("=", "!"):
                    close = self.p.find(">", self.i)
                    if close < 0:
                        raise _Unsupported("unterminated group name")
                    self.i = close + 1
                elif kind != ":":
                    raise _Unsupported("lookaround or inline flag")
            inner = self.alternation()
            if self.take() != ")":
                raise _Unsupported("unbalanced group")
            return inner
        if c == "[":
            return ("chars", self.char_class())
        if c == ".":
            return ("chars", _WORD)
        if c in ("^", "$"):
            return ("seq", [])  # anchors: the generated string is the whole match
        if c == "\\":
            return ("chars", self.escape(in_class=False))
        if c in ("*", "+", "?", ")"):
            raise _Unsupported(f"nothing to repeat before {c!r}")
        return ("chars", c)

    def escape(self, in_class: bool) -> str:
        c = self.take()
        if c in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[c]
        if c in _CONTROL_ESCAPES and not (c == "0" and self.peek().isdigit()):
            return _CONTROL_ESCAPES[c]
        if c in ("x", "u"):
            width = 2 if c == "x" else 4
            digits = self.p[self.i:self.i + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise _Unsupported(f"bad \\{c} escape")
            self.i += width
            return chr(int(digits, 16))
        if c.isalnum():
            # \b \B, backreferences \1.., \p{..}, \k<..>: no fixed set of characters to draw from
            raise _Unsupported(f"escape \\{c}")
        return c

    def char_class(self) -> str:
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        chars: list[str] = []
        first = True
        while True:
            c = self.take()
            if c == "]" and not first:
                break
            first = False
            if c == "\\":
                chars.append(self.escape(in_class=True))
                continue
            if self.peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
                self.i += 1
                end = self.take()
                if end == "\\":
                    end = self.escape(in_class=True)
                    if len(end) != 1:
                        raise _Unsupported("class escape as a range end")
                if ord(end) < ord(c):
                    raise _Unsupported("reversed range")
                if ord(end) - ord(c) > 0xFFFF:
                    raise _Unsupported("range too wide")
                chars.append("".join(chr(o) for o in range(ord(c), ord(end) + 1)))
                continue
            chars.append(c)
        members = "".join(sorted(set("".join(chars))))
        if negated:
            members = "".join(ch for ch in _PRINTABLE if ch not in members)
        if not members:
            raise _Unsupported("empty class")
        return members


def _emit(node: _Node, rng: random.Random, out: list[str]) -> None:
    kind = node[0]
    if kind == "chars":
        out.append(rng.choice(node[1]))
        if len(out) > MAX_STRING:
            raise _TooLong
    elif kind == "seq":
        for item in node[1]:
            _emit(item, rng, out)
    elif kind == "alt":
        _emit(rng.choice(node[1]), rng, out)
    else:
        _, inner, least, most = node
        if least > MAX_STRING:
            raise _TooLong
        for _ in range(rng.randint(least, min(most, least + MAX_STRING))):
            _emit(inner, rng, out)


def pattern_string(pattern: str, rng: random.Random, min_length: int = 0,
                   max_length: int | None = None) -> str | None:
    """A string matching ``pattern`` within the length bounds; ``None`` outside the subset or the bounds."""
    if len(pattern) > MAX_PATTERN:
        return None
    try:
        node = _Parser(pattern).parse()
    except (_Unsupported, RecursionError):
        return None
    for _ in range(8):
        out: list[str] = []
        try:
            _emit(node, rng, out)
        except (_TooLong, RecursionError):
            return None
        text = "".join(out)
        if len(text) >= min_length and (max_length is None or len(text) <= max_length):
            return text
    return None


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
