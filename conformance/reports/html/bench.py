"""``nox -s bench``: how big ``report.html`` gets for a run of 1,500 exchanges, and how fast it opens.

Generates a run's records (half streams of realistic length, half plain answers, a few of each broken
so the report has findings and outlined events), judges them with every rule, writes the run's reports
with the real writer, then opens ``report.html`` in headless Chromium (the system browser, driven by
Playwright) and prints the file size and the load times the browser measured. Nothing is asserted:
figures are for reading, never for failing a build.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
"""How the report's browser tests and this benchmark start Chromium: offline, no sandbox (root in CI)."""


def find_chromium() -> str | None:
    """The system Chromium (Debian's ``chromium``), or ``$CONFORMANCE_CHROMIUM``; never a downloaded one."""
    import os

    named = os.environ.get("CONFORMANCE_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _plain_message(rng: random.Random, n: int) -> dict[str, Any]:
    words = " ".join(rng.choice(("the", "quick", "brown", "fox", "jumps")) for _ in range(rng.randint(5, 60)))
    return {"id": f"msg_bench{n:08d}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": words}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": rng.randint(5, 500), "output_tokens": rng.randint(1, 200)}}


def generated_records(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` run records as the plugin's ``_record`` makes them, judged by every rule."""
    from conformance.bench import synthetic_stream
    from conformance.engine import check_exchange, profile_for
    from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
    from conformance.exchange_log import exchange_fields
    from conformance.profiles import load_profiles

    rng = random.Random(seed)
    profiles = load_profiles()
    versions = list(profiles.versions)
    records = []
    for n in range(count):
        version = versions[n % len(versions)]
        stream = n % 2 == 0
        body = {"model": "claude-sonnet-4-20250514", "max_tokens": 1024, "stream": stream,
                "messages": [{"role": "user", "content": f"question {n}"}]}
        request = HttpRequest(Headers({"x-api-key": "sk-ant-api03-" + "x" * 40, "anthropic-version": version,
                                       "content-type": "application/json"}), orjson.dumps(body), "POST",
                              "http://127.0.0.1:8080/v1/messages")
        if stream:
            text, _ = synthetic_stream(rng, n)
            if n % 97 == 0:  # a few broken streams: the second block starts before the first stops
                text = text.replace('"type":"content_block_stop","index":0', '"type":"ping"', 1)
            response = HttpResponse(Headers({"content-type": "text/event-stream", "request-id": f"req_{n}"}),
                                    text.encode(), status=200)
        else:
            message = _plain_message(rng, n)
            if n % 89 == 1:
                message["id"] = f"bad{n}"
            response = HttpResponse(Headers({"content-type": "application/json", "request-id": f"req_{n}"}),
                                    orjson.dumps(message), status=200)
        exchange = Exchange(request, response)
        check = f"test_messages::test_valid_requests_get_valid_messages[{version}]"
        profile = profile_for(exchange, profiles)
        findings = [f.located(check, None).to_json() for f in check_exchange(exchange, profile)]
        records.append({"test": check, "areas": ["body", "stream", "message"], "version": profile.version,
                        **exchange_fields(exchange), "intent": None, "findings": findings, "shrinking": False})
    return records


def measure_load(path: Path, chromium: str, runs: int = 3) -> list[dict[str, float]]:
    """Navigation timings of opening ``path`` from disk, ``runs`` times in a fresh page each."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            return [_measure_page(browser.new_page(), path) for _ in range(runs)]
        finally:
            browser.close()


def _measure_page(page: Any, path: Path) -> dict[str, float]:
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_selector("html[data-ready]")
    timing: dict[str, float] = page.evaluate("""() => {
        const n = performance.getEntriesByType('navigation')[0];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        return {dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
                first_contentful_paint: paint ? paint.startTime : -1};
    }""")
    more = page.locator("#show-quiet")
    timing["show_all_ms"] = _timed(page, more.click) if more.count() else 0.0
    timing["open_one_ms"] = _timed(page, page.locator("details.exchange > summary").last.click)
    timing["filter_ms"] = _timed(page, lambda: page.select_option("[data-filter=sev]", "2"))
    page.close()
    return timing


def _timed(page: Any, action: Any) -> float:
    """Milliseconds from an action until the browser has painted its result."""
    started = time.perf_counter()
    action()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.reports.html.bench", description=__doc__)
    parser.add_argument("--exchanges", type=int, default=1500)
    parser.add_argument("--keep", metavar="DIR", help="write the reports here instead of a temporary directory")
    args = parser.parse_args(argv)

    from conformance.findings import CheckOutcome
    from conformance.reports.run import write_run_reports

    started = time.perf_counter()
    records = generated_records(args.exchanges)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        started = time.perf_counter()
        write_run_reports(out, records, {"bench": CheckOutcome("bench", "failed", "generated")},
                          target="bench", mutant=None)
        written = time.perf_counter() - started
        report = out / "report.html"
        print(f"report.html for {args.exchanges} exchanges: {report.stat().st_size / 1e6:.1f} MB "
              f"(exchanges.jsonl {(out / 'exchanges.jsonl').stat().st_size / 1e6:.1f} MB); "
              f"records generated and judged in {generated:.1f} s, every report written in {written:.1f} s")
        chromium = find_chromium()
        if chromium is None:
            print("load time: skipped, no Chromium (apt-get install chromium, or set CONFORMANCE_CHROMIUM)")
            return 0
        for n, t in enumerate(measure_load(report, chromium), 1):
            print(f"load {n} in headless Chromium: DOMContentLoaded {t['dom_content_loaded']:.0f} ms, "
                  f"load {t['load']:.0f} ms, first contentful paint {t['first_contentful_paint']:.0f} ms, "
                  f"severity filter {t['filter_ms']:.0f} ms, every exchange listed {t['show_all_ms']:.0f} ms, "
                  f"one exchange opened {t['open_one_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
