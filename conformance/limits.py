"""How much work reading one input may cost, whatever it holds (``lint --max-file-bytes`` ...).

A module of its own, with no imports, so the command line can show the defaults without loading
the readers.
"""

from __future__ import annotations

import dataclasses

MB = 1 << 20


@dataclasses.dataclass(frozen=True)
class ReadLimits:
    """Bounds on reading one recording. Beyond one, the input is refused with one clear line."""

    max_file_bytes: int = 512 * MB
    """Bytes read from any one file (``--max-file-bytes``)."""
    max_body_bytes: int = 64 * MB
    """Bytes the compressed bodies of one file may decompress to, together; also the largest one event
    of a stream read from disk (``--max-body-bytes``)."""


def size_text(n: int) -> str:
    """``64 MB`` for whole megabytes, else ``1000 bytes``: how a limit is named in messages."""
    return f"{n // MB} MB" if n >= MB and n % MB == 0 else f"{n} bytes"
