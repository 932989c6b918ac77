"""A driver process: started on demand, fed one scenario line, its one answer read with bounds.

Whatever the driver does, :meth:`DriverProcess.ask` returns within its deadline: a line (still to be
validated by :func:`~conformance.sdk.protocol.parse_result`), or an :class:`Answer` saying the driver
hung, crashed, printed too much or went away. A driver that misbehaves is killed (its whole process
group) and started afresh for the next scenario. Its stderr is drained continuously and only the tail is
kept, for the one line that says why it failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping

from conformance.sdk.environments import DriverCommand
from conformance.sdk.protocol import MAX_RESULT_BYTES

STDERR_TAIL = 4096

_EOF = b""


@dataclasses.dataclass(frozen=True)
class Answer:
    line: bytes | None
    """The result line (without its newline), when the driver printed one in time."""
    problem: str | None = None
    """Why there is no line: one sentence, without a traceback."""
    gone_before_reading: bool = False
    """The process ended without an answer after answering earlier scenarios: a one-shot driver, restart it."""
    stopped: bool = False
    """The runner stopped it on purpose (``stop_after``): the server's log is the result."""


def driver_environment(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The driver's environment: the caller's, without any real credentials (ANTHROPIC_*), plus ``extra``."""
    env = {k: v for k, v in base.items() if not k.startswith("ANTHROPIC_")}
    env.update(extra)
    return env


class DriverProcess:
    def __init__(self, command: DriverCommand, env: Mapping[str, str]) -> None:
        self.command = command
        self.env = dict(env)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr = bytearray()
        self._answered = 0

    # -- lifecycle -----------------------------------------------------------------------------------------

    def _start(self) -> str | None:
        self._lines = queue.Queue()
        self._stderr = bytearray()
        self._answered = 0
        try:
            self._proc = subprocess.Popen(list(self.command.argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=self.env, start_new_session=True)
        except OSError as exc:
            self._proc = None
            return f"cannot start: {exc.strerror or exc}"
        proc = self._proc
        threading.Thread(target=self._read_lines, args=(proc, self._lines), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(proc, self._stderr), daemon=True).start()
        return None

    @staticmethod
    def _read_lines(proc: subprocess.Popen[bytes], out: queue.Queue[bytes | None]) -> None:
        assert proc.stdout is not None
        try:
            while True:
                line = proc.stdout.readline(MAX_RESULT_BYTES + 2)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) > MAX_RESULT_BYTES:
                    out.put(b"\0too-long")
                    return
                out.put(line.rstrip(b"\r\n"))
        except (OSError, ValueError):
            pass
        out.put(None)

    @staticmethod
    def _read_stderr(proc: subprocess.Popen[bytes], tail: bytearray) -> None:
        assert proc.stderr is not None
        stream = proc.stderr
        read = getattr(stream, "read1", stream.read)  # read1: whatever is there, without waiting for 64 KiB
        with contextlib.suppress(OSError, ValueError):
            while chunk := read(65536):
                tail.extend(chunk)
                del tail[:-STDERR_TAIL]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> DriverProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one scenario --------------------------------------------------------------------------------------

    def last_stderr_line(self) -> str:
        lines = [ln.strip() for ln in bytes(self._stderr).decode("utf-8", "replace").splitlines() if ln.strip()]
        if not lines:
            return ""
        last = lines[-1]
        return last if len(last) <= 200 else last[:197] + "..."

    def _exited(self, proc: subprocess.Popen[bytes]) -> str:
        try:
            code = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        time.sleep(0.05)  # let the stderr reader take the last bytes
        said = self.last_stderr_line()
        how = f"exited with code {code}" if code is not None else "closed its stdout"
        return f"{how} without a result" + (f": {said}" if said else "")

    def ask(self, line: bytes, deadline: float, stop_after: float | None = None) -> Answer:
        """Send ``line``; the answer within ``deadline`` seconds (or the planned stop after ``stop_after``)."""
        if self._proc is None or self._proc.poll() is not None or not self._lines.empty():
            # Not running, or it printed more than one line for the last scenario: start afresh.
            self.close()
            problem = self._start()
            if problem is not None:
                return Answer(None, problem)
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        answered_before = self._answered > 0
        try:
            proc.stdin.write(line)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            problem = self._exited(proc)
            self.close()
            return Answer(None, problem, gone_before_reading=answered_before)
        wait = deadline if stop_after is None else min(deadline, stop_after)
        try:
            got = self._lines.get(timeout=wait)
        except queue.Empty:
            self.close()
            if stop_after is not None and stop_after <= deadline:
                return Answer(None, stopped=True)
            return Answer(None, f"no result within {deadline:g} s (killed)")
        if got is None:
            problem = self._exited(proc)
            self.close()
            return Answer(None, problem, gone_before_reading=answered_before)
        if got == b"\0too-long":
            self.close()
            return Answer(None, f"printed a line longer than {MAX_RESULT_BYTES} bytes (killed)")
        self._answered += 1
        return Answer(got)
