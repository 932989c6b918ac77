"""Format detection: by content first (parse, look at the structure), by file extension second.

Two steps. The syntax: one JSON document, else raw SSE, else one JSON object per line, else YAML
(see :class:`Document`). Then the structure: :data:`READERS` lists each format with its detector,
most specific first (vcrpy JSON, HAR, nock, http-snapshot, dd-trace, openinference, JSON-lines events,
bare body, raw SSE, vcrpy/go-vcr YAML). YAML is always loaded with a safe loader: a ``!!python/...`` tag is an
input error and nothing is ever constructed from it (multidict ``istr`` header names are read as the
string they hold: see :mod:`conformance.cassettes.safe_yaml`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from conformance.cassettes._common import FORMATS_FIX, Recording, Source
from conformance.cassettes.files import read_file
from conformance.cassettes.har import is_har, read_har
from conformance.cassettes.nock import is_nock, read_nock
from conformance.cassettes.safe_yaml import load_yaml
from conformance.cassettes.single import (
    BODY_TYPES,
    is_bare_body,
    is_ddtrace,
    is_openinference,
    read_bare_body,
    read_ddtrace,
    read_openinference,
)
from conformance.cassettes.snapshot import is_http_snapshot, read_http_snapshot
from conformance.cassettes.streams import first_line_is_json_object, read_jsonl, read_sse, read_sse_file
from conformance.cassettes.vcr import is_vcr, read_vcr
from conformance.errors import InputError
from conformance.exchange import looks_like_sse
from conformance.limits import ReadLimits
from conformance.profiles import load_profiles

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_GZIP_MAGIC = b"\x1f\x8b"
_JSONL_NAMES = (".jsonl", ".ndjson", ".chunks.txt")

WHOLE_FILE_UP_TO = 8 << 20
"""Files up to this size are read whole. A larger one is read whole only if its format needs it (JSON,
YAML, JSON lines): a raw SSE capture is decoded from disk a chunk at a time, so memory stays bounded."""

__all__ = ["READERS", "Document", "Reader", "claiming_readers", "read_document", "read_recording",
           "stream_event_types"]


def read_recording(path: Path, limits: ReadLimits | None = None) -> Recording:
    """Read one recording file of any supported format into exchanges, within ``limits``.

    Raises :class:`InputError` (naming the file, the place and the fix) for anything unreadable,
    damaged, unrecognised or over a limit; never another exception type for bad input.
    """
    src = Source(str(path), limits)
    try:
        doc = _document(src, path)
        for reader in READERS:
            if reader.claims(doc):
                return reader.read(src, doc)
        raise _not_a_recording(src, doc.json if doc.syntax == "json" else doc.yaml)
    except InputError:
        raise
    except (ValueError, TypeError, LookupError, RecursionError) as exc:
        # Last line of defence for shapes no reader anticipated (e.g. a self-referencing YAML
        # anchor in a parsed_body): still one clear line naming the file, never a traceback.
        raise src.error(f"damaged recording ({type(exc).__name__}: {exc})",
                        fix="re-record it; if the file is a valid recording, report this as a reader bug") from None


_BLANK = re.compile(rb"\s*")
_NOT_JSON: Any = object()


class Document:
    """One file's content as the detectors see it: its start, the syntax it parses as, and (when a
    detector or reader asks) all its bytes, its text and the parsed views, each built once.

    ``syntax`` is ``json`` (one JSON document), ``sse`` (raw SSE), ``json-lines`` (one JSON object per
    line) or ``yaml``. ``whole`` says whether the file was read whole up front; a larger file is read
    whole only when its syntax needs it, so a huge raw SSE capture is never held in memory.
    """

    def __init__(self, src: Source, path: Path, start: bytes, whole: bool) -> None:
        self.src = src
        self.path = path
        self.name = path.name.lower()
        self.head = start[len(_UTF8_BOM):] if start.startswith(_UTF8_BOM) else start
        """The file's first bytes (all of them when ``whole``), after any BOM."""
        self.whole = whole
        self._raw = self.head if whole else None
        self.json: Any = _NOT_JSON
        self.json_error: orjson.JSONDecodeError | None = None
        sniffed = self.head if whole or not _BLANK.fullmatch(self.head) else self.raw
        first = sniffed[_BLANK.match(sniffed).end():][:1]  # type: ignore[union-attr]  # \s* always matches
        if first in (b"{", b"["):
            try:
                self.json = orjson.loads(self.raw)
            except orjson.JSONDecodeError as exc:
                self.json_error = exc
        if self.json is not _NOT_JSON:
            self.syntax = "json"
        elif looks_like_sse(sniffed):
            self.syntax = "sse"
        elif first_line_is_json_object(self.text):
            self.syntax = "json-lines"
        else:
            self.syntax = "yaml"
        self._yaml: Any = _NOT_JSON

    @property
    def raw(self) -> bytes:
        """Every byte of the file (after any BOM), read on first use."""
        if self._raw is None:
            data, _ = read_file(self.src, self.path)
            self._raw = data[len(_UTF8_BOM):] if data.startswith(_UTF8_BOM) else data
        return self._raw

    @functools.cached_property
    def text(self) -> str:
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.src.error("not UTF-8 text", f"byte {exc.start}",
                                 "recordings are UTF-8 text; " + FORMATS_FIX) from None

    @property
    def yaml(self) -> Any:
        """The text loaded as YAML (``None`` when it is not YAML at all); only for ``yaml`` syntax."""
        if self._yaml is _NOT_JSON:
            self._yaml = load_yaml(self.src, self.text, self.name) if self.syntax == "yaml" else None
        return self._yaml


@dataclasses.dataclass(frozen=True)
class Reader:
    """One recording format: how to recognise a file of it, and how to read one."""

    name: str
    claims: Callable[[Document], bool]
    read: Callable[[Source, Document], Recording]


def _json_claims(test: Callable[[Any], bool]) -> Callable[[Document], bool]:
    return lambda doc: doc.syntax == "json" and test(doc.json)


@functools.cache
def stream_event_types() -> frozenset[str]:
    """Every stream event type some profile's stream_event schema knows (``ping``, ``message_start``, ...)."""
    return frozenset().union(*(p.stream_event_types for p in load_profiles()))


def _is_single_event(doc: Document) -> bool:
    """One JSON object of a one-event-per-line capture that happens to hold a single line.

    By name (``.jsonl``, ``.chunks.txt``, ...), or by a ``type`` that only stream events have: a lone
    ``{"type": "error", ...}`` in a ``.json`` file is an error body, not a one-event stream.
    """
    data = doc.json
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return False
    return doc.name.endswith(_JSONL_NAMES) or data["type"] in stream_event_types() - BODY_TYPES


def _is_bare_body(doc: Document) -> bool:
    return is_bare_body(doc.json) and not doc.name.endswith(_JSONL_NAMES)


READERS: tuple[Reader, ...] = (
    Reader("vcrpy-json", _json_claims(is_vcr), lambda src, doc: read_vcr(src, doc.json, "json")),
    Reader("har", _json_claims(is_har), lambda src, doc: read_har(src, doc.json)),
    Reader("nock", _json_claims(is_nock), lambda src, doc: read_nock(src, doc.json)),
    Reader("http-snapshot", _json_claims(is_http_snapshot), lambda src, doc: read_http_snapshot(src, doc.json)),
    Reader("ddtrace-json", _json_claims(is_ddtrace), lambda src, doc: read_ddtrace(src, doc.json)),
    Reader("openinference-json", _json_claims(is_openinference), lambda src, doc: read_openinference(src, doc.json)),
    Reader("jsonl-events", lambda doc: doc.syntax == "json-lines" or (doc.syntax == "json" and _is_single_event(doc)),
           lambda src, doc: read_jsonl(src, doc.text)),
    Reader("json-message", lambda doc: doc.syntax == "json" and _is_bare_body(doc),
           lambda src, doc: read_bare_body(src, doc.raw)),
    Reader("sse", lambda doc: doc.syntax == "sse",
           lambda src, doc: read_sse(src, doc.raw) if doc.whole else read_sse_file(src, doc.path, doc.head)),
    Reader("vcrpy-yaml/go-vcr", lambda doc: doc.syntax == "yaml" and is_vcr(doc.yaml),
           lambda src, doc: read_vcr(src, doc.yaml, "yaml")),
)
"""Every format, most specific first; the first whose ``claims`` holds reads the file.

Each reader's test is strict enough that no sample claims two (``tests/test_readers.py`` checks it),
so the order only matters for files no recorder writes. Listed here, explicitly: nothing registers
itself on import.
"""


def claiming_readers(doc: Document) -> list[Reader]:
    """Every reader whose detector claims ``doc`` (exactly one for a well-formed recording)."""
    return [r for r in READERS if r.claims(doc)]


def _document(src: Source, path: Path) -> Document:
    start, whole = read_file(src, path, whole_up_to=WHOLE_FILE_UP_TO)
    if start.startswith(_UTF8_BOM):
        src.note("UTF-8 BOM removed")
    elif start.startswith(_UTF16_BOMS):
        raise src.error("file is UTF-16 text", "byte 0", "re-save it as UTF-8")
    if start.startswith(_GZIP_MAGIC):
        raise src.error("file is gzip-compressed", "byte 0", "decompress it first (gunzip)")
    doc = Document(src, path, start, whole)
    if whole and _BLANK.fullmatch(doc.head):  # (head.strip() would copy the whole file)
        raise src.error("empty file", fix="record the traffic again or remove the file; " + FORMATS_FIX)
    if whole:
        doc.text  # noqa: B018  (refuses a file that is not UTF-8 before any reader sees it)
    error = doc.json_error
    if doc.syntax == "yaml" and error is not None and doc.name.endswith((".json", ".har")):
        raise src.error(f"invalid JSON: {error.msg}", f"line {error.lineno}, column {error.colno}",
                        "the file is truncated or damaged; re-record it")
    return doc


def read_document(path: Path) -> Document:
    """``path`` as the detectors see it (for :func:`claiming_readers`); :class:`InputError` when unreadable."""
    return _document(Source(str(path)), path)


def _not_a_recording(src: Source, data: Any) -> InputError:
    if isinstance(data, dict):
        keys = ", ".join(str(k) for k in list(data)[:6])
        found = f"a mapping with keys {keys}" if keys else "an empty mapping"
    elif isinstance(data, list):
        found = f"a list of {len(data)} items"
    else:
        found = "plain text"
    return src.error(f"not a recording this tool can read: found {found}", fix=FORMATS_FIX)
