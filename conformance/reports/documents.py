"""The report files read back (``findings.json``, ``exchanges.jsonl``): checked against ``schemas/reports/``.

``conformance report`` and ``conformance compare`` read what a run, lint, proxy or sdk wrote, or any file a
user points them at. What they read is checked once, here, against its schema, so the renderers can trust
its types; a file that breaks it is an :class:`InputError` naming the file, the place and the JSON path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import InputError
from conformance.profiles import standalone_validator

FINDINGS_SCHEMA = "findings.schema.json"
EXCHANGE_SCHEMA = "exchange.schema.json"


def check_document(doc: Any, schema: str, *, file: str, line: int | None = None, fix: str) -> None:
    """Raise :class:`InputError` (file, line, JSON path) when ``doc`` breaks the report schema ``schema``."""
    error = jsonschema.exceptions.best_match(standalone_validator("reports", schema).iter_errors(doc))
    if error is not None:
        where = error.json_path if line is None else f"{line}:{error.json_path}"
        raise InputError(error.message[:200], file=file, where=where, fix=fix)


MAX_FINDINGS_BYTES = 512 * 1024 * 1024
"""The largest findings.json read back (``conformance report``, ``compare``): far above what a run writes."""


def read_findings_file(file: Path, *, fix: str) -> Any:
    """A findings.json parsed, bounded in size and depth, checked against its schema.

    Anything else is an :class:`InputError` naming the file, the place and ``fix``."""
    try:
        with file.open("rb") as fh:
            raw = fh.read(MAX_FINDINGS_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(file), fix=fix) from None
    if len(raw) > MAX_FINDINGS_BYTES:
        raise InputError(f"larger than {MAX_FINDINGS_BYTES // (1024 * 1024)} MiB", file=str(file), where="$", fix=fix)
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise InputError("nested too deeply to be a report", file=str(file), where="$", fix=fix) from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise InputError(f"not JSON ({exc})", file=str(file), where="$", fix=fix) from None
    check_document(doc, FINDINGS_SCHEMA, file=str(file), fix=fix)
    return doc
