"""Benchmark: a live-target run through a gateway, conformant and broken, with the default options.

    python tests/bench_gateway.py [--faults 422-for-400,200-for-400,...] [--api-version V] [-n 2]

Prints, per gateway: wall time, requests the gateway forwarded, the run's exit code and the checks
passed / failed / not exercised; then each broken gateway's time and requests as a multiple of the
conformant one. Targets (issue 10): a broken gateway costs at most 1.5x the time and requests of the
conformant one, and the conformant run spends at most 1,500 requests. Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.gateway import Gateway, running_reference, serving

DEFAULT_FAULTS = ("422-for-400", "200-for-400", "500-for-400", "wrong-error-type", "drop-request-id",
                  "drop-retry-after", "error-every-stream")


def one_run(fault: str | None, extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as reports, running_reference() as upstream:
        gateway = Gateway(upstream, fault)
        with serving(gateway) as url:
            start = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--target", url, "--api-key-env",
                                   "BENCH_KEY", "--report-dir", reports, *extra], capture_output=True, text=True,
                                  env={**os.environ, "BENCH_KEY": "sk-ant-test-scale"}, timeout=3600)
            wall = time.monotonic() - start
        found = Path(reports) / "findings.json"
        if not found.is_file():
            raise SystemExit(f"the run through the {fault or 'conformant'} gateway wrote no report (exit "
                             f"{proc.returncode}): {proc.stderr[-800:] or proc.stdout[-800:]}")
        summary = json.loads(found.read_text())["summary"]
    return {"fault": fault or "conformant", "wall": wall, "requests": gateway.requests,
            "exit": proc.returncode, "passed": summary["passed"], "failed": summary["failed"],
            "not_exercised": summary["not_exercised"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default=",".join(DEFAULT_FAULTS))
    parser.add_argument("extra", nargs="*", help="more `conformance run` options (after --)")
    args = parser.parse_args()
    rows = [one_run(None, args.extra)]
    rows += [one_run(f, args.extra) for f in args.faults.split(",") if f]
    base = rows[0]
    print(f"{'gateway':<20} {'wall s':>8} {'requests':>9} {'x time':>7} {'x reqs':>7}  exit  passed/failed/not")
    for row in rows:
        print(f"{row['fault']:<20} {row['wall']:>8.1f} {row['requests']:>9} "
              f"{row['wall'] / base['wall']:>7.2f} {row['requests'] / max(1, base['requests']):>7.2f}  "
              f"{row['exit']:>4}  {row['passed']}/{row['failed']}/{row['not_exercised']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
