"""Hostile recordings and a bounded way to lint them.

Every input here once took ``conformance lint`` down (memory, a hang, a traceback, a leaked key).
:func:`lint_bounded` runs the CLI in a child process with an address-space limit and a timeout, so a
regression fails its test instead of taking the machine with it.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import resource
import subprocess
import sys
import zlib
from pathlib import Path

from conformance.bench import write_long_stream

__all__ = ["SSE_DELTA", "Outcome", "alias_bomb", "binary_body_cassette", "cassette", "deflate_bomb", "gzip_bomb",
           "lint_bounded", "write_long_stream"]

GUARD_MEMORY = 1 << 30
"""Address space a linting child may use: far above what bounded work needs, far below the machine."""
GUARD_SECONDS = 60


@dataclasses.dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def lint_bounded(*args: str | Path, memory: int = GUARD_MEMORY, timeout: float = GUARD_SECONDS,
                 env: dict[str, str] | None = None) -> Outcome:
    """``conformance lint ARGS`` in a child limited to ``memory`` bytes of address space and ``timeout`` s."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    proc = subprocess.run([sys.executable, "-m", "conformance", "lint", *map(str, args)], capture_output=True,
                          timeout=timeout, preexec_fn=limit, env={**os.environ, **(env or {})})
    # Decoded leniently and cut: a failing run may print hundreds of megabytes.
    return Outcome(proc.returncode, proc.stdout[:1_000_000].decode("utf-8", "replace"),
                   proc.stderr[:1_000_000].decode("utf-8", "replace"))


def cassette(response_body_yaml: str, *, extra_response_headers: str = "", content_type: str = "application/json",
             prelude: str = "") -> str:
    """A one-interaction vcrpy cassette whose response body (and extra headers) are given as YAML lines."""
    return (
        prelude
        + "interactions:\n- request:\n    body: '{\"model\": \"claude-sonnet-4-20250514\", \"max_tokens\": 8, "
        "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}'\n"
        "    headers:\n      anthropic-version: ['2023-06-01']\n      content-type: [application/json]\n"
        "    method: POST\n    uri: https://api.anthropic.com/v1/messages\n  response:\n"
        + response_body_yaml
        + f"    headers:\n      content-type: [{content_type}]\n" + extra_response_headers
        + "    status: {code: 200, message: OK}\nversion: 1\n"
    )


def alias_bomb(levels: int, where: str = "body") -> str:
    """'Billion laughs': ``levels`` anchors, each a list of ten aliases of the one before (10**levels leaves)."""
    anchors = "bomb:\n  - &l0 lol\n" + "".join(
        f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, levels + 1))
    if where == "body":
        return cassette(f"    parsed_body: *l{levels}\n", prelude=anchors)
    return cassette("    body: {string: '{}'}\n", extra_response_headers=f"      x-bomb: *l{levels}\n",
                    prelude=anchors)


def gzip_bomb(megabytes: int, unit: bytes = b"\0") -> bytes:
    """Gzip bytes that decompress to ``megabytes`` MB of ``unit`` repeated: one 64 MB member, concatenated
    (a valid multi-member gzip stream, as ``gzip.decompress`` reads it), so building it stays cheap."""
    block = unit * ((64 << 20) // len(unit))
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    one = member.compress(block) + member.flush()
    return one * max(1, megabytes // 64)


def deflate_bomb(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15)
    chunk = b"\0" * (1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()


def binary_body_cassette(body: bytes, *, content_type: str = "application/json", encoding: str | None = None) -> str:
    """A cassette whose response body is stored as YAML ``!!binary`` (how vcrpy stores gzip bodies)."""
    headers = f"      content-encoding: [{encoding}]\n" if encoding else ""
    return cassette(f"    body: {{string: !!binary '{base64.b64encode(body).decode()}'}}\n",
                    extra_response_headers=headers, content_type=content_type)


SSE_DELTA = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
             b'"delta":{"type":"text_delta","text":"ha"}}\n\n')

