"""Scalar strategies of the schema compiler: readable text, formats, numbers within bounds, patterns.

Realistic, not exhaustive: short readable text, sane numbers with few decimals and their bounds as edge
cases, the formats the profiles use. Anything a schema asks for that cannot be built raises
:class:`UnsupportedSchemaError` naming the keyword and its place.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st

from conformance.errors import ProfileError

__all__ = ["FORMATS", "UnsupportedSchemaError", "ecma_classes", "json_values", "numbers", "readable_text"]

FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": st.datetimes(min_value=datetime(2023, 1, 1),
                              max_value=datetime(2027, 12, 31)).map(
        lambda d: d.replace(microsecond=0).isoformat() + "Z"),
    "date": st.dates(min_value=date(2023, 1, 1),
                     max_value=date(2027, 12, 31)).map(lambda d: d.isoformat()),
    "uri": st.sampled_from(["https://example.com/", "https://example.com/a.png", "https://example.org/doc.pdf",
                            "https://images.example.net/cat.jpeg"]),
    "uuid": st.uuids().map(str),
    "email": st.sampled_from(["a@example.com", "user.name@example.org"]),
}
FORMATS["uri-reference"] = FORMATS["uri"]
FORMATS["iri"] = FORMATS["uri"]

_WORDS = ("hello", "world", "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "what", "is",
          "weather", "in", "Paris", "today", "please", "summarise", "this", "café", "naïve", "日本語", "42",
          "tool", "answer", "briefly", "why?", "yes.", "no,")
_ALPHABET = string.ascii_letters + string.digits + " .,-_!?'é"


class UnsupportedSchemaError(ProfileError):
    """A schema uses a keyword (or value) the strategy compiler cannot honour."""


def readable_text(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Short, readable text: words most of the time, plain characters to hit exact lengths."""
    hi = max_size if max_size is not None else min_size + 40
    hi = min(hi, min_size + 60)
    words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=6).map(" ".join)
    fitted = words.filter(lambda s: min_size <= len(s) <= hi)
    plain = st.text(alphabet=_ALPHABET, min_size=min_size, max_size=hi)
    return st.one_of(fitted, plain) if hi >= 3 else plain


def json_values(max_leaves: int = 5) -> st.SearchStrategy[Any]:
    """Any small JSON value (what ``{}`` / ``true`` allows)."""
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-100, 100), readable_text(0, 12))
    return st.recursive(leaves, lambda c: st.one_of(st.lists(c, max_size=3),
                                                   st.dictionaries(readable_text(1, 8), c, max_size=3)),
                        max_leaves=max_leaves)


def numbers(schema: Mapping[str, Any], *, integer: bool, loc: str | None) -> st.SearchStrategy[Any]:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    xhi = schema.get("exclusiveMaximum")
    step = schema.get("multipleOf")
    if integer or step is not None:
        ilo = max([math.ceil(v) for v in (lo,) if v is not None] + [math.floor(v) + 1 for v in (xlo,) if v is not None],
                  default=None)
        ihi = min([math.floor(v) for v in (hi,) if v is not None] + [math.ceil(v) - 1 for v in (xhi,) if v is not None],
                  default=None)
        if step is not None:
            # Generate the multiplier so the product is exactly a multiple.
            klo = math.ceil((ilo if ilo is not None else -1000) / step)
            khi = math.floor((ihi if ihi is not None else 1000) / step)
            if klo > khi:
                raise UnsupportedSchemaError("no multiple of multipleOf fits the bounds",
                                             where=f"{loc or '#'}/multipleOf")
            return st.integers(klo, min(khi, klo + 1000)).map(lambda k: k * step)
        ilo, ihi = _sane_range(ilo, ihi, span=1000)
        if ilo > ihi:
            raise UnsupportedSchemaError("integer bounds admit no value", where=loc or "<merged schema>")
        return st.integers(ilo, ihi)
    flo = max([v for v in (lo, xlo) if v is not None], default=None)
    fhi = min([v for v in (hi, xhi) if v is not None], default=None)
    flo, fhi = _sane_range(flo, fhi, span=1000)

    def inside(x: float) -> bool:
        return ((lo is None or x >= lo) and (hi is None or x <= hi) and (xlo is None or x > xlo)
                and (xhi is None or x < xhi))

    floats = st.floats(flo, fhi, allow_nan=False, allow_infinity=False)
    # Realistic values have few decimals (0.7, 12.25); the bounds themselves are good edge cases.
    rounded = floats.map(lambda x: round(x, 2))
    edges = st.sampled_from([v for v in (lo, hi) if v is not None] or [0.0])
    return st.one_of(rounded, floats, edges).filter(inside)


def ecma_classes(pattern: str) -> str:
    r"""``\d`` and ``\w`` as JSON Schema (ECMA 262) means them: ASCII only, where Python's match any script.

    Otherwise most generated digits would be, say, Devanagari, and the validator would throw them away.
    """
    ranges = {"d": "0-9", "w": "A-Za-z0-9_"}
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(ranges[nxt] if nxt in ranges and in_class else
                       f"[{ranges[nxt]}]" if nxt in ranges else ch + nxt)
            i += 2
            continue
        in_class = (in_class and ch != "]") or (not in_class and ch == "[")
        out.append(ch)
        i += 1
    return "".join(out)


def _sane_range(lo: Any, hi: Any, *, span: int) -> tuple[Any, Any]:
    if lo is None and hi is None:
        return -span, span
    if lo is None:
        return hi - span, hi
    if hi is None:
        return lo, lo + span
    return lo, hi
