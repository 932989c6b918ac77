"""report.html without a browser: valid enough to parse, secrets redacted, hostile data escaped, huge bodies
cut, honest verdicts for empty and idle runs, rebuilt identically by `conformance report DIR`."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.exchange_log import MAX_BODY_CHARS, MAX_EVENTS, exchange_fields, read_exchange_log
from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome
from conformance.reports.html import render_report
from conformance.reports.html.timeline import build_timeline
from conformance.reports.markdown import failing_example, is_minimal
from conformance.reports.run import write_run_reports
from conformance.strategies.jsonschema import from_schema
from tests.test_cli import MISMATCHED_DELTA, VALID_STREAM

CHECK = "test_messages::test_valid_requests_get_valid_messages[2023-06-01]"
VALID_MESSAGE = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
                 "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": None,
                 "usage": {"input_tokens": 3, "output_tokens": 1}}
# A thinking_delta in a text block (event 3), and a second block started before the first stopped (event 4).
BROKEN_STREAM = MISMATCHED_DELTA.replace(
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}\n\n'
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n')

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
         "path", "rect", "circle", "line", "use"}


class _Balance(HTMLParser):
    """Every element that is opened is closed, in order; the text of inert scripts is checked the same way."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.lazy: list[str] = []
        self._script_type: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(set(names)) != len(names):  # a browser keeps the first: a second class="..." is silently lost
            self.problems.append(f"<{tag}> repeats an attribute: {names}")
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "script":
            self._script_type = found.get("type") or "js"
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag == "script":
            self._script_type = None

    def handle_data(self, data: str) -> None:
        if self._script_type == "text/html":
            self.lazy.append(data)


def parse(html: str) -> _Balance:
    """The page, checked for balance, with each inert fragment checked on its own as well."""
    page = _Balance()
    page.feed(html)
    page.close()
    assert not page.problems, page.problems[:5]
    assert page.stack == [], page.stack
    for fragment in page.lazy:
        inner = _Balance()
        inner.feed(fragment)
        inner.close()
        assert not inner.problems and inner.stack == [], (inner.problems[:5], inner.stack)
        page.ids += inner.ids
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, duplicates
    return page


def record(response_body: bytes | str, *, status: int = 200, stream: bool = False, findings: Any = (),
           request_headers: dict[str, str] | None = None, request_body: Any = None, test: str = CHECK,
           shrinking: bool = False) -> dict[str, Any]:
    """A run record as the plugin's _record makes it."""
    body = request_body if request_body is not None else {"model": "claude-sonnet-4-20250514", "max_tokens": 16,
                                                           "messages": [{"role": "user", "content": "Hi"}]}
    request = HttpRequest(Headers({"anthropic-version": "2023-06-01", "content-type": "application/json",
                                   **(request_headers or {})}), orjson.dumps(body), "POST",
                          "http://127.0.0.1:9/v1/messages")
    content_type = "text/event-stream" if stream else "application/json"
    raw = response_body.encode() if isinstance(response_body, str) else response_body
    exchange = Exchange(request, HttpResponse(Headers({"content-type": content_type}), raw, status=status))
    return {"test": test, "areas": ["body", "stream", "message"], "version": "2023-06-01",
            **exchange_fields(exchange), "intent": None, "findings": list(findings), "shrinking": shrinking}


def finding(rule: str, severity: str = "error", **kw: Any) -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "party": "server", "message": f"{rule} broken", "part": "stream",
            "path": "$", **kw}


def write(tmp_path: Path, records: list[dict[str, Any]], outcomes: dict[str, CheckOutcome] | None = None,
          **kw: Any) -> str:
    write_run_reports(tmp_path, records, outcomes if outcomes is not None else {CHECK: CheckOutcome(CHECK, PASSED)},
                      target="reference", mutant=None, api_versions=["2023-06-01"], **kw)
    return (tmp_path / "report.html").read_text(encoding="utf-8")


def verdict(html: str) -> str:
    match = re.search(r'data-verdict="([a-z-]+)"', html)
    assert match, "no verdict in the page"
    return match.group(1)


# -- structure ------------------------------------------------------------------------------------------------

def test_a_failing_run_parses_and_every_finding_links_to_its_exchange(tmp_path: Path) -> None:
    broken = record(BROKEN_STREAM, stream=True, findings=[finding("stream.delta-type", event=3),
                                                          finding("stream.block-order", event=4)])
    html = write(tmp_path, [record(json.dumps(VALID_MESSAGE)), broken], {CHECK: CheckOutcome(CHECK, FAILED, "x")})
    page = parse(html)
    assert verdict(html) == "fail"
    assert {"rule-stream.delta-type", "rule-stream.block-order", "row-stream.block-order", "x0", "x1"} <= set(page.ids)
    for anchor in ("f0", "f1"):
        assert re.search(rf'<tr id="{anchor}"[^>]*>.*?href="#x1"', html, re.S), anchor
    # The card's timeline rings the violating events, labelled with their rules.
    assert 'data-event="4" data-rules="stream.block-order"' in html
    assert 'data-event="3" data-rules="stream.delta-type"' in html
    # A mutant-free run that did not shrink does not claim minimisation.
    assert "minimised by Hypothesis" not in html and "not minimised" in html


def test_conformance_report_rebuilds_the_same_page_from_the_directory(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    broken = record(BROKEN_STREAM, stream=True, findings=[finding("stream.block-order", event=4)])
    written = write(tmp_path, [broken])
    (tmp_path / "report.html").unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == written
    assert "report.html" in capsys.readouterr().out


def test_conformance_report_without_findings_names_the_directory_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "--report-dir" in err[0]


def test_a_broken_exchange_log_names_the_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, [record(json.dumps(VALID_MESSAGE))])
    log = tmp_path / "exchanges.jsonl"
    log.write_text(log.read_text() + "{not json\n")
    assert main(["report", str(tmp_path)]) == 2
    assert f"{log}:2:" in capsys.readouterr().err


# -- secrets and hostile data ------------------------------------------------------------------------------------

def test_every_secret_is_redacted_in_every_report_of_a_run(tmp_path: Path) -> None:
    shaped = "sk-ant-api03-" + "Q" * 40  # caught by its shape, though nobody named it
    literal = "gw-secret-7f3a9c2e"  # caught only because the run knows it (its --api-key-env)
    leaky = record(json.dumps({**VALID_MESSAGE, "echo": f"{shaped} {literal}"}),
                   request_headers={"x-api-key": literal, "x-gateway-token": literal, "x-echo": shaped},
                   request_body={"model": "m", "max_tokens": 1, "messages": [
                       {"role": "user", "content": f"my keys are {shaped} and {literal}"}]},
                   findings=[finding("body.response-schema", part="response.body", actual=literal)])
    html = write(tmp_path, [leaky], secrets=[literal])
    for name in ("report.html", "exchanges.jsonl", "findings.json", "summary.md"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert shaped not in text and literal not in text, name
    assert "REDACTED" in html and "$ANTHROPIC_API_KEY" in html


@pytest.mark.parametrize(("key_env", "shown"), [("GATEWAY_KEY", "$GATEWAY_KEY"), (None, "$ANTHROPIC_API_KEY"),
                                               ("X; rm -rf ~", "$ANTHROPIC_API_KEY")])
def test_reproducers_read_the_key_from_the_runs_own_variable(tmp_path: Path, key_env: str | None,
                                                            shown: str) -> None:
    """A run given --api-key-env GATEWAY_KEY must not tell the user to send $ANTHROPIC_API_KEY to the gateway;
    a name that is not a variable's never reaches the shell."""
    failing = record(json.dumps({**VALID_MESSAGE, "id": "bad"}), request_headers={"x-api-key": "k"},
                     findings=[finding("message.id-prefix", part="response.body")])
    html = write(tmp_path, [failing], {CHECK: CheckOutcome(CHECK, FAILED)}, key_env=key_env)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    for text in (html, summary):
        assert f'"x-api-key: {shown}"' in text.replace("&#34;", '"').replace("&quot;", '"')
        assert "rm -rf" not in text


def test_every_secret_is_redacted_in_a_lint_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    literal = "gw-secret-51b0d6e4"
    shaped = "sk-ant-api03-" + "Z" * 40
    cassette = {"version": 1, "interactions": [{
        "request": {"method": "POST", "uri": "https://api.anthropic.com/v1/messages",
                    "headers": {"x-api-key": [literal], "anthropic-version": ["2023-06-01"],
                                "content-type": ["application/json"]},
                    "body": json.dumps({"model": "m", "max_tokens": 1,
                                        "messages": [{"role": "user", "content": f"{shaped} {literal}"}]})},
        "response": {"status": {"code": 200, "message": "OK"},
                     "headers": {"content-type": ["application/json"], "x-echo": [literal]},
                     "body": {"string": json.dumps({**VALID_MESSAGE, "echo": shaped})}}}]}
    source = tmp_path / "in" / "leaky.json"
    source.parent.mkdir()
    source.write_text(json.dumps(cassette))
    monkeypatch.setenv("ANTHROPIC_API_KEY", literal)
    out = tmp_path / "out"
    main(["lint", str(source), "--report-dir", str(out)])
    for name in ("report.html", "exchanges.jsonl", "findings.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert literal not in text and shaped not in text, name


def test_hostile_bodies_render_as_text(tmp_path: Path) -> None:
    attack = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    hostile = record(attack, status=500, request_headers={"x-note": attack},
                     findings=[finding("body.response-schema", part="response.body", actual=attack,
                                       message=attack)])
    html = write(tmp_path, [hostile])
    parse(html)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The only scripts: the page's own (last), and the inert text/html one of the exchange.
    assert len(re.findall(r"<script>", html)) == 1
    content = html.rsplit("<script>", 1)[0]
    assert len(re.findall(r"<script", content)) == len(re.findall(r'<script type="text/html"', content)) == 1


def test_huge_bodies_are_cut_with_a_note(tmp_path: Path) -> None:
    huge = json.dumps({**VALID_MESSAGE, "content": [{"type": "text", "text": "x" * 2_000_000}]})
    html = write(tmp_path, [record(huge)])
    entry = next(read_exchange_log(tmp_path / "exchanges.jsonl"))
    assert len(entry["response_body"]) == MAX_BODY_CHARS
    [note] = entry["truncated"]
    assert note.startswith(f"response body: kept the first {MAX_BODY_CHARS:,} of 2,000,")
    assert "Truncated to keep this report small: response body" in html
    assert len(html) < 400_000


def test_long_streams_keep_their_first_events_and_say_so() -> None:
    events = "".join(f'event: ping\ndata: {{"type":"ping","n":{n}}}\n\n' for n in range(MAX_EVENTS + 50))
    exchange = Exchange(None, HttpResponse(Headers({"content-type": "text/event-stream"}), events.encode(), 200))
    fields = exchange_fields(exchange)
    assert len(fields["events"]) == MAX_EVENTS
    assert fields["truncated"] == [f"stream: kept events 0-{MAX_EVENTS - 1} of {MAX_EVENTS + 50}"]


# -- honest verdicts ---------------------------------------------------------------------------------------------

def test_an_empty_run_says_nothing_was_judged(tmp_path: Path) -> None:
    html = write(tmp_path, [], {})
    parse(html)
    assert verdict(html) == "not-exercised"
    assert "Nothing was judged" in html
    assert "Conformant" not in html
    assert "s-pass" not in html.split('<table class="matrix">')[1].split("</table>")[0]


def test_a_run_of_only_not_exercised_checks_never_says_passed(tmp_path: Path) -> None:
    check = "test_ratelimits::test_burst_reaches_429[2023-06-01]"
    reason = "no 429 within the burst cap of 40 requests"
    html = write(tmp_path, [], {check: CheckOutcome(check, NOT_EXERCISED, reason)})
    parse(html)
    assert verdict(html) == "not-exercised"
    matrix = html.split('<table class="matrix">')[1].split("</table>")[0]
    assert "s-pass" not in matrix
    # The rate-limit rules' cells carry the check's reason (the check's areas come from its marker).
    assert re.search(r'<tr class="rule[^"]*" id="row-ratelimit\.retry-after-missing".*?' + re.escape(reason),
                     matrix, re.S)
    assert f"<code>{check}</code></td><td>{reason}</td>" in html
    assert 'data-party-verdict="server" data-state="not-exercised"' in html


def test_a_passing_run_passes_only_the_rules_that_judged_something(tmp_path: Path) -> None:
    html = write(tmp_path, [record(json.dumps(VALID_MESSAGE))])
    assert verdict(html) == "pass"
    matrix = html.split('<table class="matrix">')[1].split("</table>")[0]
    body_row = matrix.split('id="row-body.response-schema"')[1].split("</tr>")[0]
    stream_row = matrix.split('id="row-stream.block-order"')[1].split("</tr>")[0]
    assert "s-pass" in body_row
    assert "s-not-exercised" in stream_row and "no streamed answer here" in stream_row


# -- the pieces ---------------------------------------------------------------------------------------------------

def test_overlapping_blocks_show_as_overlapping_bars_with_the_violation_ringed() -> None:
    exchange = Exchange(None, HttpResponse(Headers({"content-type": "text/event-stream"}), BROKEN_STREAM.encode(), 200))
    events = exchange_fields(exchange)["events"]
    timeline = build_timeline(events, [finding("stream.block-order", event=4)])
    assert [lane.label for lane in timeline.lanes] == ["message", "block 0 · text", "block 1 · text"]
    first, second = sorted(timeline.spans, key=lambda s: s.y)
    assert second.x1 < first.x2  # block 1 starts before block 0 stops
    [ringed] = timeline.violations
    assert (ringed.index, ringed.kind, ringed.rules) == (4, "bstart", ("stream.block-order",))
    assert 'thinking_delta "Hello"' in next(m.title for m in timeline.marks if m.index == 3)
    assert [n.text for n in timeline.usage] == ["input 10 · output 1", "output 5"]


def test_a_run_of_deltas_is_summarised_under_one_title_unless_one_is_ringed() -> None:
    def delta(n: int, text: str) -> dict[str, Any]:
        return {"index": n, "name": "content_block_delta", "payload": {
            "type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}}

    start = {"index": 0, "name": "content_block_start",
             "payload": {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}}
    events = [start, *(delta(n, w) for n, w in enumerate(["The ", "quick ", "brown ", "fox", "!"], 1))]
    [head, run] = build_timeline(events, []).groups
    assert head.title is None and run.title == '#1–#5: 5 × text_delta, 20 chars: "The quick brown fox!"'
    assert [m.index for m in run.marks] == [1, 2, 3, 4, 5]
    # A ringed delta keeps its own title and splits the run around it.
    groups = build_timeline(events, [finding("stream.delta-type", event=3)]).groups
    assert [(g.title is None, [m.index for m in g.marks]) for g in groups] == [
        (True, [0]), (True, [1]), (True, [2]), (True, [3]), (True, [4]), (True, [5])]


def test_a_finding_about_a_missing_event_is_drawn_after_the_last_one() -> None:
    events = [{"index": 0, "name": "message_start", "payload": {"type": "message_start", "message": {}}}]
    timeline = build_timeline(events, [finding("stream.message-stop", event=None)])
    [missing] = timeline.violations
    assert missing.kind == "missing" and "after the last event" in missing.title


def test_minimised_only_for_the_last_failing_example_of_a_check_that_shrank() -> None:
    def rec(rules: list[str], shrinking: bool = True) -> dict[str, Any]:
        return {"test": CHECK, "shrinking": shrinking, "findings": [finding(r) for r in rules]}

    records = [rec(["stream.block-order", "stream.delta-type"]), rec([]), rec(["stream.block-order"])]
    example = failing_example(records, "stream.block-order")
    assert example is records[2] and is_minimal(records, example, "stream.block-order")
    # A secondary rule seen only on an earlier example was not what Hypothesis minimised.
    secondary = failing_example(records, "stream.delta-type")
    assert secondary is records[0] and not is_minimal(records, secondary, "stream.delta-type")
    # No shrinking (a mutant or replay run, a check without Hypothesis): never minimised.
    plain = [rec(["stream.block-order"], shrinking=False)]
    assert not is_minimal(plain, plain[0], "stream.block-order")


def test_lint_matrix_columns_are_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.sse").write_text(BROKEN_STREAM)
    (tmp_path / "in" / "ok.sse").write_text(VALID_STREAM)
    out = tmp_path / "out"
    assert main(["lint", str(tmp_path / "in"), "--report-dir", str(out)]) == 1
    printed = capsys.readouterr()
    assert "stream.delta-type" in printed.out  # lint still prints as it always did
    html = (out / "report.html").read_text(encoding="utf-8")
    parse(html)
    head = html.split('<table class="matrix">')[1].split("</thead>")[0]
    assert ">bad.sse</th>" in head and ">ok.sse</th>" in head
    row = html.split('id="row-stream.delta-type"')[1].split("</tr>")[0]
    assert row.count("s-fail") == 1 and row.count("s-pass") == 1  # bad.sse fails it, ok.sse passes
    assert "Failing example</h4>" in html and "minimised" not in html


def test_diff_as_html_marks_breaking_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "2023-06-01", "2026-10-21", "--format", "html"]) == 0
    html = capsys.readouterr().out
    parse(html)
    assert "breaking for clients" in html and "✗ clients" in html


def test_render_report_reads_a_findings_document_of_an_older_suite() -> None:
    """A rule this suite no longer knows still gets a row and a card, not a crash."""
    doc = {"findings": [finding("stream.retired-rule", file="a.sse", interaction=0)], "summary": {"files": 1}}
    html = render_report(doc, [])
    parse(html)
    assert 'id="rule-stream.retired-rule"' in html and "not in this suite&#39;s catalogue" in html


def test_a_version_comparison_is_a_table_with_deviations_marked() -> None:
    """--compare-versions: per kind of request, the statuses under each version and the verdict, not by colour."""
    a, b = "2023-06-01", "2026-10-21"
    doc = {"findings": [], "summary": {"checks": 1}, "meta": {"kind": "run", "api_versions": [a, b]},
           "versions": {"versions": [a, b],
                        "counts": {"unpredicted change": 1, "changed as predicted": 1, "not comparable": 1},
                        "rows": [{"request": "temperature", "verdict": "changed as predicted", "pairs": 2,
                                  "statuses": {a: {"200": 2}, b: {"400": 2}}},
                                 {"request": "metadata", "verdict": "unpredicted change", "pairs": 1,
                                  "statuses": {a: {"400": 1}, b: {"200": 1}}},
                                 {"request": "a <b>burst</b>", "verdict": "not comparable", "pairs": 1,
                                  "statuses": {a: {}, b: {"429": 1}}}]}}
    html = render_report(doc, [])
    parse(html)
    section = html.split('id="across"')[1].split("</section>")[0]
    assert f"Across API versions: {a} and {b}" in section
    assert "1 unpredicted change, 0 predicted change missing, 1 changed as predicted, 0 alike, 1 not comparable." \
        in section
    rows = {re.search(r'data-across-verdict="([^"]+)"', row).group(1): row  # type: ignore[union-attr]
            for row in section.split("<tr ")[1:]}
    assert "200 × 2" in rows["changed as predicted"] and "400 × 2" in rows["changed as predicted"]
    assert 's-fail">✗ unpredicted change' in rows["unpredicted change"]
    assert 's-pass">✓ changed as predicted' in rows["changed as predicted"]
    assert 's-not-exercised">○ not comparable' in rows["not comparable"]
    assert "a &lt;b&gt;burst&lt;/b&gt;" in rows["not comparable"] and "—" in rows["not comparable"]


@pytest.mark.parametrize("versions", [None, "x", {"rows": "x"}, {"rows": [1, None, {"statuses": 3, "pairs": "9"}]},
                                      {"versions": [1, "2023-06-01"], "counts": {"alike": "many"}, "rows": []}])
def test_a_broken_version_comparison_renders_what_it_can(versions: Any) -> None:
    html = render_report({"findings": [], "summary": {}, "meta": {"kind": "run"}, "versions": versions}, [])
    parse(html)


def _report_schema(name: str) -> dict[str, Any]:
    from conformance.profiles import schemas_root

    return json.loads((schemas_root() / "reports" / name).read_text(encoding="utf-8"))


@settings(max_examples=int(os.environ.get("REPORT_EXAMPLES", "60")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(doc=from_schema(_report_schema("findings.schema.json")),
       entries=st.lists(from_schema(_report_schema("exchange.schema.json")), max_size=4))
def test_any_report_the_schemas_allow_renders(doc: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """`conformance report` checks what it reads against schemas/reports/; whatever passes must render."""
    parse(render_report(doc, entries))


def test_a_report_that_breaks_its_schema_is_one_line_naming_the_file_and_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "findings.json").write_text(json.dumps({"findings": [], "checks": [1]}))
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "findings.json:$.checks[0]" in err and "Traceback" not in err
    (tmp_path / "findings.json").write_text(json.dumps({"findings": []}))
    (tmp_path / "exchanges.jsonl").write_text(json.dumps({"events": [{"index": 0}, 5]}) + "\n")
    assert main(["report", str(tmp_path)]) == 2
    assert "exchanges.jsonl:1:$.events[1]" in capsys.readouterr().err
    (tmp_path / "exchanges.jsonl").write_text("[" * 5000 + "]" * 5000 + "\n")
    assert main(["report", str(tmp_path)]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_root_causes_read_as_one_line_per_rule() -> None:
    from conformance.reports.markdown import root_causes

    def rec(test: str, *found: dict[str, Any]) -> dict[str, Any]:
        return {"test": test, "findings": list(found)}

    status = {"rule": "negative.status", "severity": "error", "party": "server", "message": "m",
              "expected": [400, "invalid_request_error"], "actual": [422, "invalid_request_error"]}
    bare = {"rule": "ratelimit.retry-after-missing", "severity": "error", "party": "server",
            "message": "a 429 in the burst has no retry-after"}
    lines = root_causes([rec("a", status), rec("b", status), rec("c", {**status, "actual": [500, "api_error"]}),
                         rec("d", bare)])
    assert lines[0] == ("- `negative.status`: 3 checks, 2 answered [422, \"invalid_request_error\"] where "
                        "[400, \"invalid_request_error\"] was expected (first: `a`); 1 answered [500, \"api_error\"] "
                        "where [400, \"invalid_request_error\"] was expected (first: `c`)")
    assert lines[1] == "- `ratelimit.retry-after-missing`: 1 check, in all: a 429 in the burst has no retry-after " \
                       "(first: `d`)"
