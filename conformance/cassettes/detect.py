"""Format detection: by content first (parse, look at the structure), by file extension second.

Two steps. The syntax: one JSON document, else raw SSE, else one JSON object per line, else YAML
(see :class:`Document`). Then the structure: :data:`READERS` lists each format with its detector,
most specific first (vcrpy JSON, HAR, nock, dd-trace, openinference, JSON-lines events, bare body,
raw SSE, vcrpy/go-vcr YAML). YAML is always loaded with a safe loader: a ``!!python/...`` tag is an
input error and nothing is ever constructed from it.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from conformance.cassettes._common import FORMATS_FIX, Recording, Source
from conformance.cassettes.har import is_har, read_har
from conformance.cassettes.nock import is_nock, read_nock
from conformance.cassettes.single import (
    BODY_TYPES,
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
from conformance.limits import ReadLimits, size_text
from conformance.profiles import load_profiles

# libyaml's safe loader when available: same safety, several times faster on big cassettes.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_GZIP_MAGIC = b"\x1f\x8b"
_JSONL_NAMES = (".jsonl", ".ndjson", ".chunks.txt")

# Directory walks skip these; a file named explicitly is always read.
_SKIP_NAMES = frozenset({"package.json", "package-lock.json", "tsconfig.json", "composer.json", "versions.json"})
_SKIP_PREFIXES = ("readme", "manifest", "license", "changelog")
_SKIP_SUFFIXES = frozenset({
    ".md", ".rst", ".tsv", ".csv", ".py", ".pyc", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".rs",
    ".java", ".rb", ".toml", ".cfg", ".ini", ".lock", ".html", ".css", ".png", ".jpg", ".jpeg", ".gif",
    ".svg", ".pdf", ".zip", ".tar", ".gz", ".tgz", ".whl", ".so", ".dll", ".exe", ".o", ".sh",
})


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A directory entry that is not a regular file (a FIFO, a socket, a device): listed, never opened.

    Opening a FIFO blocks until something writes to it, and a device may never end: a walk reads
    regular files only, and says which entries it passed over.
    """

    path: Path
    reason: str


def walk_recordings(paths: Sequence[Path]) -> Iterator[Path | SkippedFile | InputError]:
    """Each path given, and every likely recording under each directory given (recursive, sorted).

    Yields, in order, the files to read, the special files passed over, and an :class:`InputError`
    for each path that cannot be read (missing, a symlink loop, a directory that cannot be listed):
    one bad path never hides the rest. A file named explicitly is yielded whatever it is
    (:func:`read_recording` refuses what it cannot read). In directories, hidden entries,
    README/MANIFEST/LICENSE files and files whose extension says they are not recordings (``.md``,
    ``.tsv``, source code, images, archives) are skipped.
    """
    for path in paths:
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError as exc:
            yield _unreadable(Source(str(path)), path, exc)
            continue
        if not is_dir:
            yield path
            continue
        unlistable: list[OSError] = []
        for root, dirs, files in os.walk(path, onerror=unlistable.append):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if _is_candidate(name):
                    yield _walked(Path(root) / name)
            while unlistable:
                failed = unlistable.pop(0)
                where = Path(failed.filename) if failed.filename else path
                yield _unreadable(Source(str(where)), where, failed)


def iter_recording_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The files :func:`walk_recordings` yields; raises the first :class:`InputError` it meets."""
    for item in walk_recordings(paths):
        if isinstance(item, InputError):
            raise item
        if isinstance(item, Path):
            yield item


def _walked(path: Path) -> Path | SkippedFile | InputError:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _unreadable(Source(str(path)), path, exc)
    if stat.S_ISREG(mode):
        return path
    return SkippedFile(path, f"not a regular file ({_file_kind(mode)})")


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return kind
    return "not a regular file"


def _unreadable(src: Source, path: Path, exc: OSError) -> InputError:
    if exc.errno == errno.ELOOP:
        return src.error("symlink loop: the link leads back to itself", fix="fix or remove the link")
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return src.error(f"dangling symlink to {os.readlink(path)}", fix="fix or remove the link")
        return src.error("no such file or directory",
                         fix="check the path; give recording files or directories holding them")
    return src.error(f"cannot read: {exc.strerror or exc}", fix="check the path and its permissions")


def _is_candidate(name: str) -> bool:
    lower = name.lower()
    if lower.startswith(".") or lower in _SKIP_NAMES or lower.startswith(_SKIP_PREFIXES):
        return False
    return os.path.splitext(lower)[1] not in _SKIP_SUFFIXES


def read_recording(path: Path, limits: ReadLimits | None = None) -> Recording:
    """Read one recording file of any supported format into exchanges, within ``limits``.

    Raises :class:`InputError` (naming the file, the place and the fix) for anything unreadable,
    damaged, unrecognised or over a limit; never another exception type for bad input.
    """
    src = Source(str(path), limits)
    raw = _read_file(src, path)
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


_NOT_JSON: Any = object()


class Document:
    """One file's content as the detectors see it: the bytes, the text, and the syntax it parses as.

    ``syntax`` is ``json`` (one JSON document), ``sse`` (raw SSE), ``json-lines`` (one JSON object per
    line) or ``yaml``; the parsed views (:attr:`json`, :attr:`yaml`) are built once, when first asked for.
    """

    def __init__(self, src: Source, raw: bytes, text: str, name: str) -> None:
        self.src = src
        self.raw = raw
        self.text = text
        self.name = name
        self.json: Any = _NOT_JSON
        self.json_error: orjson.JSONDecodeError | None = None
        if _first_char(text) in ("{", "["):
            try:
                self.json = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                self.json_error = exc
        self.syntax = self._syntax()
        self._yaml: Any = _NOT_JSON

    def _syntax(self) -> str:
        if self.json is not _NOT_JSON:
            return "json"
        if looks_like_sse(self.raw):
            return "sse"
        if first_line_is_json_object(self.text):
            return "json-lines"
        return "yaml"

    @property
    def yaml(self) -> Any:
        """The text loaded as YAML (``None`` when it is not YAML at all); only for ``yaml`` syntax."""
        if self._yaml is _NOT_JSON:
            self._yaml = _load_yaml(self.src, self.text, self.name) if self.syntax == "yaml" else None
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
    Reader("ddtrace-json", _json_claims(is_ddtrace), lambda src, doc: read_ddtrace(src, doc.json)),
    Reader("openinference-json", _json_claims(is_openinference), lambda src, doc: read_openinference(src, doc.json)),
    Reader("jsonl-events", lambda doc: doc.syntax == "json-lines" or (doc.syntax == "json" and _is_single_event(doc)),
           lambda src, doc: read_jsonl(src, doc.text)),
    Reader("json-message", lambda doc: doc.syntax == "json" and _is_bare_body(doc),
           lambda src, doc: read_bare_body(src, doc.raw)),
    Reader("sse", lambda doc: doc.syntax == "sse", lambda src, doc: read_sse(src, doc.raw)),
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


def _detect(src: Source, raw: bytes, name: str) -> Recording:
    doc = _document(src, raw, name)
    for reader in READERS:
        if reader.claims(doc):
            return reader.read(src, doc)
    raise _not_a_recording(src, doc.json if doc.syntax == "json" else doc.yaml)


def _document(src: Source, raw: bytes, name: str) -> Document:
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
    doc = Document(src, raw, text, name)
    error = doc.json_error
    if doc.syntax == "yaml" and error is not None and name.endswith((".json", ".har")):
        raise src.error(f"invalid JSON: {error.msg}", f"line {error.lineno}, column {error.colno}",
                        "the file is truncated or damaged; re-record it")
    return doc


def read_document(path: Path) -> Document:
    """``path`` as the detectors see it (for :func:`claiming_readers`); :class:`InputError` when unreadable."""
    src = Source(str(path))
    return _document(src, _read_file(src, path), path.name.lower())


def _read_file(src: Source, path: Path) -> bytes:
    """The bytes of a regular file, at most ``max_file_bytes`` of them; anything else is refused.

    Opened without blocking, so a FIFO named on the command line is refused at once rather than
    waited on; the type and size are checked on the open file, not on the name.
    """
    limit = src.limits.max_file_bytes
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise _unreadable(src, path, exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise src.error("is a directory, not a recording file", fix="use walk_recordings to walk it")
        if not stat.S_ISREG(info.st_mode):
            raise src.error(f"is {_file_kind(info.st_mode)}, not a regular file",
                            fix="give a recording file; recordings are read from regular files only")
        with open(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1) if info.st_size <= limit else b""
    except OSError as exc:
        raise _unreadable(src, path, exc) from None
    finally:
        os.close(fd)
    if info.st_size > limit or len(data) > limit:
        raise src.error(f"is larger than {size_text(limit)}", fix="raise --max-file-bytes if it is a genuine recording")
    return data


ALIAS_ALLOWANCE = 1_000_000
"""How much YAML aliases may add to a document beyond its own length (in characters of scalars and
nodes): cassette writers alias only small repeated values (a shared header list), while a 1 KB
"billion laughs" file expands to gigabytes the moment anything walks or serialises it."""


def _load_yaml(src: Source, text: str, name: str) -> Any:
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


def _not_a_recording(src: Source, data: Any) -> InputError:
    if isinstance(data, dict):
        keys = ", ".join(str(k) for k in list(data)[:6])
        found = f"a mapping with keys {keys}" if keys else "an empty mapping"
    elif isinstance(data, list):
        found = f"a list of {len(data)} items"
    else:
        found = "plain text"
    return src.error(f"not a recording this tool can read: found {found}", fix=FORMATS_FIX)
