"""Format detection: by content first (parse, look at the structure), by file extension second.

Order: JSON documents (vcrpy JSON, HAR, nock, dd-trace, openinference, bare body), raw SSE,
one-JSON-per-line, then YAML (vcrpy / go-vcr). YAML is always loaded with a safe loader: a
``!!python/...`` tag is an input error and nothing is ever constructed from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from conformance.cassettes._common import FORMATS_FIX, Recording, Source
from conformance.cassettes.har import is_har, read_har
from conformance.cassettes.nock import is_nock, read_nock
from conformance.cassettes.single import (
    is_bare_body,
    is_ddtrace,
    is_openinference,
    read_bare_body,
    read_ddtrace,
    read_openinference,
)
from conformance.cassettes.streams import first_line_is_json_object, read_jsonl, read_sse
from conformance.cassettes.vcr import is_vcr, read_vcr
from conformance.errors import InputError
from conformance.exchange import looks_like_sse

# libyaml's safe loader when available: same safety, several times faster on big cassettes.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_GZIP_MAGIC = b"\x1f\x8b"
_STREAM_EVENT_TYPES = frozenset({
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "ping",
})
_JSONL_NAMES = (".jsonl", ".ndjson", ".chunks.txt")

# Directory walks skip these; a file named explicitly is always read.
_SKIP_NAMES = frozenset({"package.json", "package-lock.json", "tsconfig.json", "composer.json", "versions.json"})
_SKIP_PREFIXES = ("readme", "manifest", "license", "changelog")
_SKIP_SUFFIXES = frozenset({
    ".md", ".rst", ".tsv", ".csv", ".py", ".pyc", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".rs",
    ".java", ".rb", ".toml", ".cfg", ".ini", ".lock", ".html", ".css", ".png", ".jpg", ".jpeg", ".gif",
    ".svg", ".pdf", ".zip", ".tar", ".gz", ".tgz", ".whl", ".so", ".dll", ".exe", ".o", ".sh",
})


def iter_recording_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Each file given, and every likely recording under each directory given (recursive, sorted).

    Hidden files and directories, README/MANIFEST/LICENSE files and files whose extension says they
    are not recordings (``.md``, ``.tsv``, source code, images, archives) are skipped in directories.
    """
    for path in paths:
        if not path.exists():
            raise InputError("no such file or directory", file=str(path),
                             fix="check the path; give recording files or directories holding them")
        if not path.is_dir():
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if _is_candidate(name):
                    yield Path(root) / name


def _is_candidate(name: str) -> bool:
    lower = name.lower()
    if lower.startswith(".") or lower in _SKIP_NAMES or lower.startswith(_SKIP_PREFIXES):
        return False
    return os.path.splitext(lower)[1] not in _SKIP_SUFFIXES


def read_recording(path: Path) -> Recording:
    """Read one recording file of any supported format into exchanges.

    Raises :class:`InputError` (naming the file, the place and the fix) for anything unreadable,
    damaged or unrecognised; never another exception type for bad input.
    """
    src = Source(str(path))
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise src.error("is a directory, not a recording file", fix="use iter_recording_files to walk it") from None
    except OSError as exc:
        raise src.error(f"cannot read: {exc.strerror or exc}", fix="check the path and its permissions") from None
    try:
        return _detect(src, raw, path.name.lower())
    except InputError:
        raise
    except (ValueError, TypeError, LookupError, RecursionError) as exc:
        # Last line of defence for shapes no reader anticipated (e.g. a self-referencing YAML
        # anchor in a parsed_body): still one clear line naming the file, never a traceback.
        raise src.error(f"damaged recording ({type(exc).__name__}: {exc})",
                        fix="re-record it; if the file is a valid recording, report this as a reader bug") from None


_BLANK = re.compile(rb"\s*")


def _first_char(text: str) -> str:
    """The first non-blank character, without copying a large text as ``lstrip`` would."""
    for i, ch in enumerate(text):
        if not ch.isspace():
            return ch
        if i > 4096:
            break
    return text.lstrip()[:1]


def _detect(src: Source, raw: bytes, name: str) -> Recording:
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
        src.note("UTF-8 BOM removed")
    elif raw.startswith(_UTF16_BOMS):
        raise src.error("file is UTF-16 text", "byte 0", "re-save it as UTF-8")
    if raw.startswith(_GZIP_MAGIC):
        raise src.error("file is gzip-compressed", "byte 0", "decompress it first (gunzip)")
    if _BLANK.fullmatch(raw):  # (raw.strip() would copy the whole file)
        raise src.error("empty file", fix="record the traffic again or remove the file; " + FORMATS_FIX)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise src.error("not UTF-8 text", f"byte {exc.start}", "recordings are UTF-8 text; " + FORMATS_FIX) from None

    json_error: orjson.JSONDecodeError | None = None
    if _first_char(text) in ("{", "["):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            json_error = exc
        else:
            return _from_json(src, data, raw, text, name)
    if looks_like_sse(raw):
        return read_sse(src, raw)
    if first_line_is_json_object(text):
        return read_jsonl(src, text)
    if json_error is not None and name.endswith((".json", ".har")):
        raise src.error(f"invalid JSON: {json_error.msg}", f"line {json_error.lineno}, column {json_error.colno}",
                        "the file is truncated or damaged; re-record it")
    data = _load_yaml(src, text, name)
    if is_vcr(data):
        return read_vcr(src, data, "yaml")
    raise _not_a_recording(src, data)


def _from_json(src: Source, data: Any, raw: bytes, text: str, name: str) -> Recording:
    if is_vcr(data):
        return read_vcr(src, data, "json")
    if is_har(data):
        return read_har(src, data)
    if is_nock(data):
        return read_nock(src, data)
    if is_ddtrace(data):
        return read_ddtrace(src, data)
    if is_openinference(data):
        return read_openinference(src, data)
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        # A single line of a one-event-per-line capture parses as one JSON object too.
        if name.endswith(_JSONL_NAMES) or data["type"] in _STREAM_EVENT_TYPES:
            return read_jsonl(src, text)
    if is_bare_body(data):
        return read_bare_body(src, raw)
    raise _not_a_recording(src, data)


def _load_yaml(src: Source, text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_SafeLoader)  # a safe loader (see _SafeLoader), never yaml.Loader
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


def _mark(exc: yaml.YAMLError) -> str | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return None
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _not_a_recording(src: Source, data: Any) -> InputError:
    if isinstance(data, dict):
        keys = ", ".join(str(k) for k in list(data)[:6])
        found = f"a mapping with keys {keys}" if keys else "an empty mapping"
    elif isinstance(data, list):
        found = f"a list of {len(data)} items"
    else:
        found = "plain text"
    return src.error(f"not a recording this tool can read: found {found}", fix=FORMATS_FIX)
