"""Content-Encoding undone chunk by chunk, within a bound: a few kilobytes of gzip can hold gigabytes.

Used where the suite reads answers off the wire itself (a live target's answers in ``run``, the proxy's
judge): a chunk never inflates past the room it is given, so a compression bomb costs what the limit
allows, not what it holds.
"""

from __future__ import annotations

import zlib

INFLATED = frozenset({"gzip", "x-gzip", "deflate"})
"""Encodings undone here; any other (br, zstd ...) is left as it came, and said so by the caller."""


class InflateOverflow(ValueError):
    """One chunk inflates past the room it was given."""


class Inflater:
    def __init__(self, encoding: str) -> None:
        if encoding not in INFLATED:
            raise ValueError(f"cannot inflate content-encoding {encoding!r}")
        # wbits 47: a gzip or a zlib header, told apart by the inflater itself; deflate: a zlib stream.
        self._inflate = zlib.decompressobj(47 if encoding != "deflate" else 15)

    def feed(self, chunk: bytes, room: int) -> bytes:
        """``chunk`` inflated: at most ``room`` bytes, else :class:`InflateOverflow`; ``zlib.error`` when broken."""
        data: bytes = self._inflate.decompress(chunk, room + 1)
        if len(data) > room or self._inflate.unconsumed_tail:
            raise InflateOverflow(f"inflates past {room:,} bytes")
        return data

    def flush(self) -> bytes:
        """What the inflater still holds once the body ended (every byte fed was consumed: little or nothing)."""
        return self._inflate.flush()


def inflater(encoding: str | None) -> Inflater | None:
    """An :class:`Inflater` for a Content-Encoding header value, ``None`` for identity or one not undone here."""
    name = (encoding or "identity").strip().lower()
    return Inflater(name) if name in INFLATED else None
