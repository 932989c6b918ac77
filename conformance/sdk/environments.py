"""Where a driver runs: the SDK installed in an isolated environment, cached between runs.

    python      the shipped driver with this interpreter's ``anthropic`` (none installed: one line, exit 2)
    python V    ... in a venv with ``anthropic==V`` (``httpx<0.28`` too for V <= 0.40: those pass httpx's
                removed ``proxies`` argument)
    typescript  the shipped driver with ``@anthropic-ai/sdk`` from the shipped lockfile (``npm ci``)
    typescript V  ... with ``@anthropic-ai/sdk@V`` (``npm install`` of that exact version)
    --driver    any command; nothing is installed

Environments live under :func:`cache_root` (``$CONFORMANCE_SDK_CACHE``, else
``$XDG_CACHE_HOME/claude-conformance/sdk``, else ``~/.cache/claude-conformance/sdk``), one directory each,
marked complete only after the install succeeded; a file lock keeps two runs from installing at once.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from conformance.errors import InputError, UsageError

DRIVERS = Path(__file__).parent / "drivers"
PYTHON_DRIVER = DRIVERS / "python_anthropic.py"
TYPESCRIPT_DRIVER_DIR = DRIVERS / "typescript"
TYPESCRIPT_DRIVER = TYPESCRIPT_DRIVER_DIR / "driver.mjs"
READY = ".conformance-ready"
"""Written into an environment once its install succeeded; an environment without it is rebuilt."""
INSTALL_TIMEOUT = 600.0
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[-.+]?[0-9A-Za-z.]+)?")

Installer = Callable[[Sequence[str], Path], None]
"""Runs one install command in a directory; raises :class:`InputError` when it fails."""


@dataclasses.dataclass(frozen=True)
class DriverCommand:
    """How to start a driver, and what to call it in reports."""

    argv: tuple[str, ...]
    label: str
    """``python anthropic 2.14.0``, ``typescript @anthropic-ai/sdk 0.71.2`` or the ``--driver`` command."""
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    installed: str | None = None
    """What preparing it did, when it installed something (``installed ... in 23.1 s``)."""


def cache_root(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("CONFORMANCE_SDK_CACHE"):
        return Path(env["CONFORMANCE_SDK_CACHE"]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "claude-conformance" / "sdk"


def exact_version(version: str) -> str:
    """``version`` if it is an exact release number (nothing else reaches pip or npm)."""
    if not _VERSION.fullmatch(version):
        raise UsageError(f"--sdk-version {version!r}: give an exact release, e.g. 2.14.0 or 0.71.2")
    return version


def _run_install(argv: Sequence[str], cwd: Path) -> None:
    log = cwd / "install.log"
    start = log.stat().st_size if log.is_file() else 0
    with open(log, "ab") as out:
        try:
            done = subprocess.run(list(argv), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT,
                                  check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise InputError(f"{shlex.join(argv)} took over {INSTALL_TIMEOUT:.0f} s", file=str(log)) from None
        except OSError as exc:
            raise InputError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        with open(log, "rb") as written:
            written.seek(start)
            said = written.read(1 << 20).decode("utf-8", errors="replace")
        raise InputError(f"{shlex.join(argv)} failed (exit {done.returncode}): {telling_line(said)[:200]}",
                         file=str(log), fix="the registry must be reachable once; the version must exist")


_TELLING = ("no matching", "could not find", "not found", "unable to resolve", "could not resolve")


def telling_line(output: str) -> str:
    """The line of an installer's output that says why it failed (pip's and npm's end with boilerplate)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() and "complete log" not in line.lower()]
    return next((line for line in errors if any(t in line.lower() for t in _TELLING)), None) \
        or (errors[0] if errors else lines[-1] if lines else "no output")


def _prepared(directory: Path, commands: Callable[[Path], list[list[str]]], what: str,
              install: Installer) -> str | None:
    """Make sure ``directory`` holds a complete install; the note to show when one was made now."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (directory / READY).is_file():
            return None
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        started = time.monotonic()
        for argv in commands(directory):
            install(argv, directory)
        (directory / READY).write_text(what + "\n", encoding="utf-8")
        return f"installed {what} into {directory} in {time.monotonic() - started:.1f} s"


def python_requirements(version: str) -> list[str]:
    """What pip installs for ``anthropic==version``: 0.40 and older need an httpx from before 0.28."""
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    return [f"anthropic=={version}", *(["httpx<0.28"] if parts <= (0, 40) else [])]


def python_driver(version: str | None, cache: Path, install: Installer = _run_install) -> DriverCommand:
    if version is None:
        if importlib.util.find_spec("anthropic") is None:
            raise InputError(f"the Python SDK is not installed in {sys.executable}",
                             fix="pip install anthropic, or pass --sdk-version V to install one into the cache")
        installed = importlib.metadata.version("anthropic")
        return DriverCommand((sys.executable, str(PYTHON_DRIVER)), f"python anthropic {installed}")
    version = exact_version(version)
    tag = f"py{sys.version_info.major}.{sys.version_info.minor}"
    venv = cache / "python" / f"anthropic-{version}-{tag}"
    python = venv / "bin" / "python"

    def commands(directory: Path) -> list[list[str]]:
        return [[sys.executable, "-m", "venv", str(directory)],
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 *python_requirements(version)]]

    note = _prepared(venv, commands, f"anthropic {version}", install)
    return DriverCommand((str(python), str(PYTHON_DRIVER)), f"python anthropic {version}", installed=note)


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise InputError("node and npm must be on PATH for conformance sdk typescript",
                         fix="install Node.js 18 or newer (npm comes with it)")
    return node, npm


def typescript_driver(version: str | None, cache: Path, install: Installer = _run_install) -> DriverCommand:
    node, npm = _tools()
    flags = ["--no-audit", "--no-fund", "--loglevel=error"]
    if version is None:
        lock = (TYPESCRIPT_DRIVER_DIR / "package-lock.json").read_bytes()
        pinned = _locked_version(lock)
        prefix = cache / "typescript" / f"lock-{hashlib.sha256(lock).hexdigest()[:16]}"

        def commands(directory: Path) -> list[list[str]]:
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(TYPESCRIPT_DRIVER_DIR / name, directory / name)
            return [[npm, "ci", *flags]]

        what = f"@anthropic-ai/sdk {pinned} (the shipped lockfile)"
        label = f"typescript @anthropic-ai/sdk {pinned}"
    else:
        version = exact_version(version)
        prefix = cache / "typescript" / f"anthropic-ai-sdk-{version}"

        def commands(directory: Path) -> list[list[str]]:
            (directory / "package.json").write_text('{"private": true}\n', encoding="utf-8")
            return [[npm, "install", *flags, "--save-exact", f"@anthropic-ai/sdk@{version}"]]

        what = f"@anthropic-ai/sdk {version}"
        label = f"typescript @anthropic-ai/sdk {version}"
    note = _prepared(prefix, commands, what, install)
    return DriverCommand((node, str(TYPESCRIPT_DRIVER)), label, {"CONFORMANCE_SDK_PATH": str(prefix)}, note)


def _locked_version(lock: bytes) -> str:
    import json

    try:
        return str(json.loads(lock)["packages"]["node_modules/@anthropic-ai/sdk"]["version"])
    except (ValueError, KeyError, TypeError):
        raise InputError("no @anthropic-ai/sdk in the lockfile",
                         file=str(TYPESCRIPT_DRIVER_DIR / "package-lock.json")) from None


def custom_driver(command: str) -> DriverCommand:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--driver {command!r}: {exc}") from None
    if not argv:
        raise UsageError("--driver needs a command, e.g. --driver 'node my-driver.mjs'")
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        raise InputError(f"--driver: {argv[0]!r} is not a program on PATH or a file")
    return DriverCommand(tuple(argv), command)


def driver_for(target: str, version: str | None, driver: str | None, cache: Path | None = None) -> DriverCommand:
    """The driver for ``conformance sdk TARGET [--sdk-version V] [--driver CMD]``, installing what it needs."""
    cache = cache if cache is not None else cache_root()
    if driver is not None:
        if version is not None:
            raise UsageError("--sdk-version installs an official SDK; with --driver the command brings its own")
        return custom_driver(driver)
    if target == "python":
        return python_driver(version, cache)
    if target == "typescript":
        return typescript_driver(version, cache)
    raise UsageError(f"unknown SDK {target!r}: python, typescript, or --driver 'CMD ...'")
