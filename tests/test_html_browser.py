"""report.html in a real browser: Debian's Chromium, headless, driven by Playwright (no browser download).

Loads the report of a run against a mutant reference server, of a passing run, and of a lint of a broken
stream; asserts the verdict, the failing rule's row, the ringed event, that filters and search change what
is shown, that an exchange opens from a finding's link, and that the keyboard works. Screenshots are left
in reports/screenshots/ for people to look at. Skipped, saying why, where Chromium or Playwright is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.reports.html.bench import CHROMIUM_ARGS, find_chromium
from tests.test_html_report import BROKEN_STREAM

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = find_chromium()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found: install Debian's chromium "
                                                "(apt-get install chromium) or set CONFORMANCE_CHROMIUM"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_report(browser: Any, path: Path, scheme: str = "light") -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: errors.append(f"network request: {req.url}")
            if not req.url.startswith("file:") else None)
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("html[data-ready]")
    page.errors = errors
    return page


def shot(page: Any, name: str, selector: str | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if selector is None:
        page.screenshot(path=str(SCREENSHOTS / name))
        return
    # The sticky filter bar would cover the top of an element scrolled into view for its picture.
    page.add_style_tag(content=".filters { position: static; }")
    page.locator(selector).first.screenshot(path=str(SCREENSHOTS / name))


def conformance(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=dict(os.environ))


@pytest.fixture(scope="module")
def mutant_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mutant")
    proc = conformance("run", "--mutant", "overlapping-blocks", "--select", "stream", "--api-version", "2023-06-01",
                       "--max-examples", "3", "--report-dir", str(out))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out / "report.html"


def visible(page: Any, selector: str) -> int:
    return int(page.locator(selector).evaluate_all("els => els.filter(e => e.offsetParent !== null).length"))


def test_a_mutant_run_shows_the_failing_rule_and_the_ringed_event(browser: Any, mutant_report: Path) -> None:
    page = open_report(browser, mutant_report)
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "fail"
    assert "Not conformant" in page.locator("[data-verdict]").inner_text()
    assert page.locator("[data-party-verdict=server]").get_attribute("data-state") == "fail"
    row = page.locator("#row-stream\\.block-order")
    assert row.is_visible() and "fail" in row.locator("td.cell").first.inner_text()
    card = page.locator("#rule-stream\\.block-order")
    assert "as sent: not minimised" in card.inner_text()  # a mutant run does not shrink
    ring = card.locator("g.violation-mark[data-rules~='stream.block-order']")
    assert ring.count() >= 1 and ring.first.locator("circle.violation").count() == 1
    shot(page, "run-mutant-verdict.png")
    shot(page, "run-mutant-finding.png", "#rule-stream\\.block-order")
    shot(page, "run-mutant-timeline.png", "#rule-stream\\.block-order .timeline")
    assert page.errors == []

    # Filters change what is shown: client findings only hides this server rule and its row.
    findings = visible(page, "#findings tr.filterable")
    assert findings > 0 and card.is_visible()
    page.select_option("[data-filter=party]", "client")
    assert not card.is_visible() and not row.is_visible()
    assert visible(page, "#findings tr.filterable") == 0
    page.select_option("[data-filter=party]", "")
    page.select_option("[data-filter=sev]", "2")
    assert card.is_visible() and visible(page, "#findings tr.filterable") < findings  # the info finding went
    page.fill("#search", "no-such-text-anywhere")
    page.wait_for_timeout(400)
    assert not card.is_visible() and visible(page, "#exchanges details.exchange") == 0
    page.click("#reset-filters")
    assert card.is_visible() and visible(page, "#findings tr.filterable") == findings


def test_a_finding_links_to_its_exchange_which_opens_with_its_timeline(browser: Any, mutant_report: Path) -> None:
    page = open_report(browser, mutant_report)
    link = page.locator("#findings tr.filterable:has(code:text-is('stream.block-order')) a[href^='#x']").first
    target = link.get_attribute("href")[1:]
    link.click()
    exchange = page.locator(f"#{target}")
    assert exchange.evaluate("d => d.open")
    ring = exchange.locator("g.violation-mark[data-rules~='stream.block-order']")
    assert ring.count() == 1  # put into the page when opened
    assert "curl" in exchange.locator(".curl pre").inner_text()
    assert page.errors == []


def test_the_matrix_works_with_the_keyboard(browser: Any, mutant_report: Path) -> None:
    page = open_report(browser, mutant_report)
    toggle = page.locator("button.toggle[data-area=stream]")
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator("#row-stream\\.block-order").is_visible()
    page.keyboard.press("Space")
    assert page.locator("#row-stream\\.block-order").is_visible()
    # The ringed event takes focus too, and names what it breaks.
    ring = page.locator("#rule-stream\\.block-order g.violation-mark").first
    ring.focus()
    assert "stream.block-order" in page.evaluate("() => document.activeElement.getAttribute('aria-label')")


def test_a_passing_run_says_conformant(browser: Any, tmp_path: Path) -> None:
    proc = conformance("run", "--select", "stream", "--api-version", "2023-06-01", "--max-examples", "2",
                       "--report-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    page = open_report(browser, tmp_path / "report.html")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "pass"
    assert page.locator("#failing article").count() == 0
    shot(page, "run-passing.png")
    dark = open_report(browser, tmp_path / "report.html", scheme="dark")
    background = dark.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    shot(dark, "run-passing-dark.png")


def test_a_lint_of_a_broken_stream(browser: Any, tmp_path: Path) -> None:
    (tmp_path / "broken.sse").write_text(BROKEN_STREAM)
    proc = conformance("lint", str(tmp_path / "broken.sse"), "--report-dir", str(tmp_path / "out"))
    assert proc.returncode == 1 and "stream.delta-type" in proc.stdout
    page = open_report(browser, tmp_path / "out" / "report.html")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "fail"
    for rule, event in (("stream.delta-type", "3"), ("stream.block-order", "4")):
        assert page.locator(f"[id='row-{rule}']").is_visible()
        card = page.locator(f"[id='rule-{rule}']")
        assert card.locator(f"g.violation-mark[data-event='{event}'][data-rules~='{rule}']").count() == 1
        assert "minimised" not in card.inner_text()
    assert page.locator("table.matrix thead").inner_text().count("broken.sse") == 1
    shot(page, "lint-broken-stream.png")
    shot(page, "lint-broken-stream-timeline.png", "#rule-stream\\.block-order .timeline")
    assert page.errors == []
