"""The SDK reports: the per-version document in the lint findings shape, its Markdown, the matrix across
versions, and no secret in any of them."""

from __future__ import annotations

import json

from conformance.exchange import Headers
from conformance.findings import Finding, Severity
from conformance.sdk.model import Attempt, CheckInfo, Observation, Outcome, Scenario, Verdict
from conformance.sdk.protocol import DriverError, DriverResult
from conformance.sdk.report import matrix_document, read_run_documents, run_document, write_reports
from conformance.sdk.requests import JudgedRequest
from conformance.sdk.runner import TEST_KEY, CheckResult, SdkRun

SCENARIO = Scenario("retries.529", "messages.create", {}, (), steps=({"status": 529},), max_retries=2)


def a_run(sdk: str, retried: bool, version_sent: str = "2023-06-01") -> SdkRun:
    first = Attempt(0, 100.0, "POST", "/v1/messages", "", Headers({"anthropic-version": version_sent,
                                                                 "x-api-key": "REDACTED"}), {}, 529, "req_1",
                    {"retry-after-ms": "10"}, {"status": 529})
    echoed = DriverError("OverloadedError", ("OverloadedError",), "api", 529, "overloaded_error", "no", "req_1")
    result = DriverResult(*sdk.split(), "error", error=echoed, raw={"outcome": "error", "key": TEST_KEY})
    obs = Observation(SCENARIO, (first,), result, consumed=1)
    verdict = Verdict(Outcome.PASS, "retried after 0.01 s") if retried else \
        Verdict(Outcome.FAIL, "not retried: a 529 ended the call after 1 attempt")
    finding = Finding("body.request-schema", Severity.ERROR, "max_tokens: Input should be greater than 0",
                      file="retries.529", interaction=0, party="client", part="request.body", path="$.max_tokens")
    return SdkRun(f"python {sdk}", None, [
        CheckResult(CheckInfo("requests.version", "v"), Verdict(Outcome.PASS, f"anthropic-version: {version_sent}"),
                    [("every request", Verdict(Outcome.PASS))]),
        CheckResult(CheckInfo("retries.529", "r"), verdict, [("retries.529", verdict)], [obs]),
        CheckResult(CheckInfo("retries.retry-after-over-60s", "l"), Verdict(Outcome.DIFFERS, "ignores it"),
                    [("retries.retry-after-over-60s", Verdict(Outcome.DIFFERS, "ignores it"))], [obs]),
    ], [JudgedRequest("retries.529", first, (finding,))], sdk=sdk, sdk_headers=[("user-agent", "X/1")], seconds=3.2)


def test_the_run_document_has_the_lint_finding_shape_and_the_views_of_a_failure():
    doc = run_document(a_run("anthropic 0.40.0", retried=False))
    rules = [(f["rule"], f["severity"], f["party"], f["file"]) for f in doc["findings"]]
    assert rules == [("body.request-schema", "error", "client", "retries.529"),
                     ("sdk.retries.529", "error", "client", "retries.529"),
                     ("sdk.retries.retry-after-over-60s", "info", "client", "retries.retry-after-over-60s")]
    failed = next(c for c in doc["checks"] if c["check"] == "retries.529")
    assert failed["outcome"] == "failed"
    (view,) = failed["views"]
    assert view["server"][0] == {"attempt": 1, "at": 0.0, "status": 529, "request_id": "req_1",
                                 "scripted": {"status": 529}, "answer_headers": {"retry-after-ms": "10"},
                                 "headers": {"anthropic-version": "2023-06-01", "x-api-key": "REDACTED"}}
    assert view["driver"]["result"]["outcome"] == "error"
    assert doc["summary"] == {"checks": 3, "passed": 1, "failed": 1, "differs": 1, "not_exercised": 0,
                              "interactions": 1, "errors": 2, "warnings": 0, "infos": 1}
    assert "views" not in doc["checks"][0]


def test_the_reports_are_written_redacted_and_the_matrix_collects_every_version(tmp_path):
    write_reports(a_run("anthropic 0.40.0", retried=False), tmp_path)
    write_reports(a_run("anthropic 2.14.0", retried=True, version_sent="2026-10-21"), tmp_path)
    (tmp_path / "unrelated.json").write_text('{"findings": []}')
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert set(written) == {"anthropic-0.40.0.md", "anthropic-0.40.0.json", "anthropic-2.14.0.md",
                            "anthropic-2.14.0.json", "matrix.md", "matrix.json", "unrelated.json"}
    assert not any(TEST_KEY in text for text in written.values())
    assert '"key": "REDACTED"' in written["anthropic-0.40.0.json"]
    matrix = json.loads(written["matrix.json"])
    assert matrix["columns"] == ["anthropic 0.40.0", "anthropic 2.14.0"]
    rows = {r["check"]: [c and c["outcome"] for c in r["cells"]] for r in matrix["rows"]}
    assert rows == {"requests.version": ["passed", "passed"], "retries.529": ["failed", "passed"],
                    "retries.retry-after-over-60s": ["differs", "differs"]}
    table = written["matrix.md"]
    # A pass shows its reason only where it is a fact worth comparing (here: the version sent).
    assert "| `requests.version` | pass: anthropic-version: 2023-06-01 | pass: anthropic-version: 2026-10-21 |" in table
    assert "| `retries.529` | **fail**: not retried: a 529 ended the call after 1 attempt | pass |" in table
    report = written["anthropic-0.40.0.md"]
    assert "## Failures and differences" in report and "| 1 | 0.0 | 529 | req_1 |" in report
    assert "## Client-rule findings (what the SDK sent)" in report and "| `user-agent` | `X/1` |" in report


def test_the_matrix_orders_versions_numerically():
    docs = [{"kind": "x", "sdk": {"sdk": sdk}, "checks": []}
            for sdk in ("@anthropic-ai/sdk 1.14.0", "anthropic 2.14.0", "anthropic 0.40.0", "@anthropic-ai/sdk 0.71.2",
                        "anthropic 0.75.0", "anthropic 1.17.0")]
    assert matrix_document(docs)["columns"] == ["anthropic 0.40.0", "anthropic 0.75.0", "anthropic 1.17.0",
                                                "anthropic 2.14.0", "@anthropic-ai/sdk 0.71.2",
                                                "@anthropic-ai/sdk 1.14.0"]


def test_only_run_documents_are_read_back(tmp_path):
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "other.json").write_text('{"checks": []}')
    assert read_run_documents(tmp_path) == []
