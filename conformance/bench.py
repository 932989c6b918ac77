"""``nox -s bench``: how much full validation costs over the bare work any consumer must do.

Builds a synthetic corpus of realistic Messages streams (text, tool_use with
split JSON input, thinking with signature, pings), at least 50 MB of SSE, then
times in the same process:

* bare: split the SSE into events and parse each payload with orjson (no validation);
* full: ``conformance lint`` of the same files (reading, SSE decoding, every rule).

and prints events per second for both and the ratio (target: full <= 3x bare).
Then the peak memory and time of linting one large capture (200 MB by default,
target < 300 MB), the reference server benchmark, and the default run.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import orjson


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def synthetic_stream(rng: random.Random, n: int) -> tuple[str, int]:
    """One valid stream; returns (sse text, number of events)."""
    events: list[str] = []
    usage = {"input_tokens": rng.randint(5, 500), "output_tokens": 1}
    events.append(_event("message_start", {"type": "message_start", "message": {
        "id": f"msg_bench{n:08d}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}))
    events.append(_event("ping", {"type": "ping"}))
    index = 0
    kinds = ["thinking"] if rng.random() < 0.3 else []
    kinds += ["text"] + (["tool_use"] if rng.random() < 0.4 else [])
    output = 0
    for kind in kinds:
        if kind == "text":
            block: dict[str, object] = {"type": "text", "text": ""}
        elif kind == "thinking":
            block = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            block = {"type": "tool_use", "id": f"toolu_{n:08d}{index}", "name": "get_weather", "input": {}}
        events.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": block}))
        if kind == "tool_use":
            payload = json.dumps({"city": "San Francisco", "units": "celsius", "days": rng.randint(1, 9)})
            cuts = sorted(rng.sample(range(1, len(payload)), 4))
            for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True):
                events.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                             "delta": {"type": "input_json_delta",
                                                                       "partial_json": payload[a:b]}}))
                output += 2
        else:
            delta_type, field = ("thinking_delta", "thinking") if kind == "thinking" else ("text_delta", "text")
            for _ in range(rng.randint(20, 80)):
                words = " ".join(rng.choice(("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog"))
                                 for _ in range(rng.randint(1, 6)))
                events.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                             "delta": {"type": delta_type, field: words}}))
                output += 1
                if rng.random() < 0.02:
                    events.append(_event("ping", {"type": "ping"}))
            if kind == "thinking":
                events.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                             "delta": {"type": "signature_delta",
                                                                       "signature": "EqQBCgIYAh" * 8}}))
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    stop = "tool_use" if kinds[-1] == "tool_use" else "end_turn"
    events.append(_event("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": stop, "stop_sequence": None},
                                           "usage": {"output_tokens": output}}))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return "".join(events), len(events)


def write_long_stream(path: Path, megabytes: int, *, last_delta: str = "text_delta", terminated: bool = True) -> int:
    """A valid Messages stream of about ``megabytes`` MB (one text block of short deltas) written to
    ``path``, a megabyte at a time; the last delta's type is ``last_delta`` (the tests break it), and
    ``terminated=False`` drops the final blank line. Returns the number of events."""
    def delta(kind: str, text: str) -> str:
        return _event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": kind, "text": text}})

    head = _event("message_start", {"type": "message_start", "message": {
        "id": "msg_long", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}})
    head += _event("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}})
    one = delta("text_delta", "the ")
    per_mb = (1 << 20) // len(one)
    tail = (delta(last_delta, "end") + _event("content_block_stop", {"type": "content_block_stop", "index": 0})
            + _event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                          "stop_sequence": None},
                                       "usage": {"output_tokens": 5}})
            + _event("message_stop", {"type": "message_stop"}))
    with path.open("w", encoding="utf-8") as fh:
        fh.write(head)
        block = one * per_mb
        for _ in range(megabytes):
            fh.write(block)
        fh.write(tail if terminated else tail[:-1])
    return 2 + per_mb * megabytes + 4


def build_corpus(directory: Path, megabytes: int, seed: int = 0) -> tuple[int, int]:
    """Write ~1 MB .sse files until ``megabytes`` are written; returns (bytes, events)."""
    rng = random.Random(seed)
    total_bytes = total_events = 0
    n = file_no = 0
    while total_bytes < megabytes * 1_000_000:
        parts: list[str] = []
        size = 0
        while size < 1_000_000:
            text, count = synthetic_stream(rng, n)
            n += 1
            parts.append(text)
            size += len(text)
            total_events += count
        # One stream per file, as a capture would be: concatenated streams are not one stream.
        for i, text in enumerate(parts):
            (directory / f"stream-{file_no:04d}-{i:03d}.sse").write_text(text, encoding="utf-8")
        file_no += 1
        total_bytes += size
    return total_bytes, total_events


def bare_parse(files: list[Path]) -> int:
    """The minimum any consumer does: split events, take the data, parse it with orjson."""
    count = 0
    loads = orjson.loads
    for path in files:
        body = path.read_bytes()
        for block in body.split(b"\n\n"):
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    loads(line[5:])
                    count += 1
    return count


def _best_of(runs: int, fn: object) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="best of N runs")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-run", action="store_true", help="skip timing the default conformance run")
    parser.add_argument("--large-megabytes", type=int, default=200,
                        help="size of the one large capture linted for peak memory (0 skips it)")
    args = parser.parse_args(argv)

    from conformance.findings import Severity
    from conformance.lint import lint_paths

    with tempfile.TemporaryDirectory(prefix="conformance-bench-") as tmp:
        directory = Path(tmp)
        total_bytes, total_events = build_corpus(directory, args.megabytes)
        files = sorted(directory.iterdir())
        print(f"synthetic corpus: {total_bytes / 1e6:.1f} MB of SSE, {len(files)} streams, {total_events} events")
        bare = _best_of(args.runs, lambda: bare_parse(files))
        result_box: list[object] = []

        def full() -> None:
            result_box.append(lint_paths([directory]))

        full_time = _best_of(args.runs, full)
        result = result_box[-1]
        errors = result.count(Severity.ERROR)  # type: ignore[attr-defined]
        print(f"bare split+orjson : {bare:7.2f} s  {total_events / bare / 1e6:6.2f} M events/s")
        print(f"full lint         : {full_time:7.2f} s  {total_events / full_time / 1e6:6.2f} M events/s"
              f"  ({errors} errors found)")
        print(f"ratio full/bare   : {full_time / bare:.2f}x  (target <= 3x)")
    if args.large_megabytes:
        time_large_capture(args.large_megabytes)
    if not args.skip_server:
        from conformance.server import bench as server_bench

        server_bench.main([])
    if not args.skip_run:
        time_default_run()
    return 0


def time_large_capture(megabytes: int) -> None:
    """Peak memory and wall time of ``conformance lint`` on one capture of ``megabytes`` MB, in a child process
    (so the figure is the command's own: interpreter, imports and all)."""
    import os
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="conformance-bench-large-") as tmp:
        path = Path(tmp) / "large.sse"
        events = write_long_stream(path, megabytes)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "conformance", "lint", str(path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        size = path.stat().st_size / 1e6
    # ru_maxrss is in kilobytes on Linux.
    print(f"large capture     : {size:.0f} MB, {events} events: peak RSS {usage.ru_maxrss / 1024:.0f} MB, "
          f"{elapsed:.1f} s wall (exit {code}; target < 300 MB)")


def time_default_run() -> None:
    """The default `conformance run` (reference server, every check, every version), serial and with -n 2."""
    import subprocess
    import sys

    times = {}
    for label, extra in (("serial", []), ("-n 2", ["-n", "2"])):
        with tempfile.TemporaryDirectory(prefix="conformance-bench-run-") as reports:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--report-dir", reports, *extra],
                                  capture_output=True, text=True)
            times[label] = time.perf_counter() - start
            status = "passed" if proc.returncode == 0 else f"exit {proc.returncode}"
        print(f"default run {label:6s}: {times[label]:6.1f} s wall ({status}; target < 60 s)")
    print(f"parallel speed-up : {times['serial'] / times['-n 2']:.2f}x  (target >= 1.6x)")


if __name__ == "__main__":
    raise SystemExit(main())
