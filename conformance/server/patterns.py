"""Strings that match a regular expression, deterministically: ``pattern`` in the tool schemas the server fills.

A small generator for the subset tool schemas use: literals and escapes (``\\x41``, ``\\u0042``, ``\\t`` ...),
``.``, classes (ranges, negation, ``\\d \\w \\s`` and their complements), groups (capturing, ``(?:...)``,
``(?<name>...)``), alternation, anchors and the quantifiers ``? * + {n} {n,} {n,m}`` (lazy and possessive
forms too; an unbounded one repeats at most 3 more times than its minimum). Randomness comes from the
caller's seeded PRNG; there is no Hypothesis at run time.

Outside the subset (backreferences, lookarounds, ``\\b``, Unicode properties, flags) or past
:data:`MAX_STRING` characters, :func:`pattern_string` returns ``None`` and the caller falls back to a
plain value: a documented gap, never an error. A pattern comes from the client, so the parser is bounded
too (:data:`MAX_PATTERN` characters).
"""

from __future__ import annotations

import random
from typing import Any

MAX_STRING = 256
"""Longest string generated (a pattern asking for more is not met)."""
MAX_PATTERN = 1000
"""Longest pattern the generator parses."""
_EXTRA_REPEATS = 3

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
