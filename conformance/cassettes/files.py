"""Which files to read, and reading one: regular files only, within the read limits.

:func:`walk_recordings` turns the paths a user gave into the files to read, the special files passed
over, and an :class:`~conformance.errors.InputError` for each path that cannot be read, so one bad path
never hides the rest. :func:`open_regular` and :func:`read_file` open one regular file, refusing FIFOs
and devices at once (opened without blocking) and anything larger than
:attr:`~conformance.limits.ReadLimits.max_file_bytes`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from conformance.cassettes._common import Source
from conformance.errors import InputError
from conformance.limits import size_text

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


HEAD_BYTES = 64 << 10
"""How much of a large file is read to tell its format."""


@contextlib.contextmanager
def open_regular(src: Source, path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading if it is a regular file within ``max_file_bytes``; else an InputError.

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
        if info.st_size > limit:
            raise too_large(src, limit)
        with open(fd, "rb", closefd=False) as fh:
            yield fh
    except OSError as exc:
        raise _unreadable(src, path, exc) from None
    finally:
        os.close(fd)


def too_large(src: Source, limit: int) -> InputError:
    return src.error(f"is larger than {size_text(limit)}", fix="raise --max-file-bytes if it is a genuine recording")


def read_file(src: Source, path: Path, *, whole_up_to: int | None = None) -> tuple[bytes, bool]:
    """The bytes of a regular file and whether they are all of it.

    All of it (at most ``max_file_bytes``), unless the file is larger than ``whole_up_to``: then its
    first :data:`HEAD_BYTES`, enough to tell its format without holding a huge file.
    """
    limit = src.limits.max_file_bytes
    with open_regular(src, path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if whole_up_to is not None and size > whole_up_to:
            return fh.read(HEAD_BYTES), False
        # Sized by the file, not the limit: read(limit) would reserve the limit's worth of memory.
        data = fh.read(size + 1)
        if len(data) > size:  # it grew since it was opened
            data += fh.read(limit + 1 - len(data))
    if len(data) > limit:
        raise too_large(src, limit)
    return data, True
