"""Baselines (conformance/baseline.py): fingerprints, the file, each finding's status and each entry's fate.

Pure functions, tested on hand-made findings; the file is also read hostile (huge, deep, wrongly typed), and
`conformance lint --baseline` end to end on the shipped sample recordings.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import baseline as bl
from conformance.baseline import (
    EXPIRED,
    FIXED,
    KNOWN,
    NEW,
    SEEN,
    UNCHECKED,
    Baseline,
    Entry,
    Scope,
    dumps,
    load,
    normal_path,
    of_finding,
    parse,
    reconcile,
    updated,
)
from conformance.errors import InputError

TODAY = dt.date(2026, 1, 15)
CHECK = "test_messages::test_valid_requests_get_valid_messages[2023-06-01]"
RECORDINGS = Path(__file__).parent / "data" / "recordings"


def finding(**kw: Any) -> dict[str, Any]:
    """A run's finding in the findings.json shape."""
    base = {"rule": "message.tool-use-last", "severity": "error", "party": "server", "message": "m",
            "file": CHECK, "interaction": 3, "part": "response.body", "path": "$.content[2].type",
            "api_version": "2023-06-01", "endpoint": "messages", "event": 14}
    return {**base, **kw}


def entry(**kw: Any) -> dict[str, Any]:
    """A run baseline entry as written in the file."""
    base = {"rule": "message.tool-use-last", "party": "server", "api_version": "2023-06-01", "endpoint": "messages",
            "check": CHECK, "part": "response.body", "path": "$.content[*].type"}
    return {**base, **kw}


def run_baseline(*entries: dict[str, Any]) -> Baseline:
    return parse({"baseline": 1, "kind": "run", "entries": list(entries)}, kind="run", file="b.json")


# -- the fingerprint ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("part", "path", "normal"), [
    ("response.body", "$.content[2].type", "$.content[*].type"),
    ("message", "$.content[0].input.items[12]", "$.content[*].input.items[*]"),
    ("request.body", "$.messages[3].content[1].type", "$.messages[*].content[*].type"),
    ("request.body", "$.messages[0].role", "$.messages[0].role"),  # the first turn is the contract's
    ("request.body", "$.messages[0].content[4]", "$.messages[0].content[*]"),
    ("response.body", "$.messages[0].role", "$.messages[*].role"),  # only a request's first turn is special
    ("response.headers", "$['anthropic-ratelimit-requests-limit']", "$['anthropic-ratelimit-requests-limit']"),
    ("response.headers", "$['x[1]'][2]", "$['x[1]'][*]"),  # a quoted name keeps its digits
    ("exchange", "$", "$"),
])
def test_array_indexes_are_kept_only_where_the_position_is_the_contract(part: str, path: str, normal: str) -> None:
    assert normal_path(part, path) == normal


def test_a_run_fingerprint_leaves_out_the_example_the_exchange_and_the_event() -> None:
    one = of_finding(finding(interaction=3, event=14, path="$.content[2].type", message="one"), "run")
    other = of_finding(finding(interaction=40, event=2, path="$.content[1].type", message="other"), "run")
    assert one == other
    assert one.interaction is None and one.path == "$.content[*].type"


@pytest.mark.parametrize("change", [{"rule": "message.id-prefix"}, {"party": "client"},
                                    {"api_version": "2026-10-21"}, {"endpoint": "count_tokens"},
                                    {"file": "test_messages::test_other[2023-06-01]"}, {"part": "message"},
                                    {"path": "$.content[1].text"}])
def test_every_part_of_the_fingerprint_tells_deviations_apart(change: dict[str, Any]) -> None:
    assert of_finding(finding(), "run") != of_finding(finding(**change), "run")


def test_a_lint_fingerprint_keeps_the_interaction_and_a_file_with_forward_slashes() -> None:
    a = of_finding(finding(file="cassettes\\a.yaml", interaction=2), "lint")
    assert a.source == "cassettes/a.yaml" and a.interaction == 2
    assert a != of_finding(finding(file="cassettes/a.yaml", interaction=3), "lint")


# -- each finding's status, each entry's fate ---------------------------------------------------------------


def test_status_known_expired_new_and_the_expiry_day_itself_still_waives() -> None:
    fp = of_finding(finding(), "run")
    assert run_baseline(entry()).status(fp, TODAY) == KNOWN
    assert run_baseline(entry(expires="2026-01-15")).status(fp, TODAY) == KNOWN
    assert run_baseline(entry(expires="2026-01-14")).status(fp, TODAY) == EXPIRED
    assert run_baseline(entry(path="$.id")).status(fp, TODAY) == NEW


def _fates(base: Baseline, seen: list[dict[str, Any]], scope: Scope) -> dict[str, tuple[str, int, str | None]]:
    rec = reconcile(base, [of_finding(f, "run") for f in seen], scope, TODAY)
    return {r.entry.fingerprint.path: (r.status, r.findings, r.why) for r in rec.entries}


def test_an_entry_is_fixed_only_where_the_run_looked() -> None:
    other = "test_messages::test_other[2023-06-01]"
    base = run_baseline(entry(), entry(path="$.id"), entry(path="$.a", check=other),
                        entry(path="$.b", expires="2025-01-01"), entry(path="$.c", rule="stream.block-order"),
                        entry(path="$.d", party="client"))
    seen = [finding(), finding(interaction=7), finding(path="$.b")]
    scope = Scope(frozenset({CHECK}), select=(), parties=frozenset({"server"}))
    fates = _fates(base, seen, scope)
    assert fates["$.content[*].type"] == (SEEN, 2, None)
    assert fates["$.b"] == (EXPIRED, 1, None)
    assert fates["$.id"] == (FIXED, 0, None)
    assert fates["$.a"][0] == UNCHECKED and "did not run" in str(fates["$.a"][2])
    assert fates["$.d"][0] == UNCHECKED and "client rule" in str(fates["$.d"][2])
    narrowed = _fates(base, seen, Scope(frozenset({CHECK}), select=("message",)))
    assert narrowed["$.c"][0] == UNCHECKED and "not selected" in str(narrowed["$.c"][2])
    failed = _fates(base, [], Scope(frozenset(), failed=frozenset({CHECK})))
    assert failed["$.id"][0] == UNCHECKED and "failed on something else" in str(failed["$.id"][2])


def test_counts_of_findings_by_status() -> None:
    base = run_baseline(entry(), entry(path="$.b", expires="2025-01-01"))
    rec = reconcile(base, [of_finding(f, "run") for f in (finding(), finding(), finding(path="$.b"),
                                                          finding(path="$.new"))], Scope(frozenset({CHECK})), TODAY)
    assert rec.findings == {KNOWN: 2, EXPIRED: 1, NEW: 1}
    assert rec.to_json()["entries"] == {SEEN: 1, EXPIRED: 1, FIXED: 0, UNCHECKED: 0}


def test_update_drops_fixed_keeps_the_rest_as_written_and_adds_the_new() -> None:
    other = "test_messages::test_other[2023-06-01]"
    base = run_baseline(entry(reason="upstream #12", owner="gw-team", expires="2026-06-30"),
                        entry(path="$.id", reason="fixed since"), entry(path="$.a", check=other, reason="not run"))
    seen = [(of_finding(finding(), "run"), "m"), (of_finding(finding(path="$.new[3]"), "run"), "a new one"),
            (of_finding(finding(path="$.new[4]"), "run"), "the same new one")]
    rec = reconcile(base, [fp for fp, _ in seen], Scope(frozenset({CHECK})), TODAY)
    new = updated(base, rec, seen)
    by_path = {e.fingerprint.path: e for e in new.entries}
    assert set(by_path) == {"$.content[*].type", "$.a", "$.new[*]"}
    kept = by_path["$.content[*].type"]
    assert (kept.reason, kept.owner, kept.expires) == ("upstream #12", "gw-team", dt.date(2026, 6, 30))
    assert by_path["$.a"].reason == "not run"
    assert by_path["$.new[*]"].example == "a new one" and by_path["$.new[*]"].reason is None


def test_the_file_is_sorted_one_entry_per_deviation_and_reads_back_the_same() -> None:
    base = run_baseline(entry(path="$.z"), entry(rule="body.response-schema", path="$.a", reason="r",
                                                 expires="2026-02-01"), entry(path="$.b"))
    text = dumps(base)
    doc = json.loads(text)
    assert [e["path"] for e in doc["entries"]] == ["$.a", "$.b", "$.z"]
    assert doc["entries"][0]["expires"] == "2026-02-01" and "interaction" not in doc["entries"][0]
    again = parse(doc, kind="run", file="b.json")
    assert sorted(again.entries, key=lambda e: e.fingerprint.key()) == \
        sorted(base.entries, key=lambda e: e.fingerprint.key())
    assert dumps(again) == text


# -- a broken file: one line naming the file, the place and the fix --------------------------------------------


@pytest.mark.parametrize(("doc", "says"), [
    ([], "a baseline is a JSON object"),
    ({"baseline": 2, "kind": "run", "entries": []}, "b.json:baseline: format 2"),
    ({"baseline": 1, "kind": "lint", "entries": []}, "this is a 'lint' baseline; run needs a 'run' one"),
    ({"baseline": 1, "kind": "run", "entries": {}}, "'entries' must be a list"),
    ({"baseline": 1, "kind": "run", "entries": ["x"]}, "b.json:entries[0]: an entry must be an object"),
    ({"baseline": 1, "kind": "run", "entries": [entry(expiry="2026-01-01")]}, "entries[0]: unknown field 'expiry'"),
    ({"baseline": 1, "kind": "run", "entries": [{**entry(), "rule": None}]}, "entries[0]: 'rule' is missing"),
    ({"baseline": 1, "kind": "run", "entries": [entry(path=["$"])]}, "'path' must be a string, not list"),
    ({"baseline": 1, "kind": "run", "entries": [entry(expires="31/12/2026")]}, "'expires' must be a date YYYY-MM-DD"),
    ({"baseline": 1, "kind": "run", "entries": [entry(interaction=2)]}, "'interaction' belongs in a lint baseline"),
    ({"baseline": 1, "kind": "run", "entries": [entry(file="a.yaml")]}, "'file' belongs in a lint baseline"),
    ({"baseline": 1, "kind": "run", "entries": [entry(reason="x" * 5000)]}, "'reason' is 5,000 characters long"),
    ({"baseline": 1, "kind": "run", "entries": [entry(), entry(path="$.content[3].type")]},
     "entries[1]: the same deviation as entries[0]"),
])
def test_a_broken_baseline_names_the_file_and_the_entry(doc: Any, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(doc, kind="run", file="b.json")
    message = str(caught.value)
    assert message.startswith("b.json") and says in message and "\n" not in message


def test_a_lint_entry_needs_its_interaction() -> None:
    lint_entry = {k: v for k, v in entry().items() if k != "check"} | {"file": "a.yaml", "interaction": True}
    with pytest.raises(InputError, match=r"entries\[0\]: 'interaction' must be a whole number"):
        parse({"baseline": 1, "kind": "lint", "entries": [lint_entry]}, kind="lint", file="b.json")


def test_hostile_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        load(deep, "run")
    broken = tmp_path / "broken.json"
    broken.write_text('{"baseline": 1,\n "kind": "run", "entries": [}')
    with pytest.raises(InputError, match=r"broken.json:2:\d+: not JSON"):
        load(broken, "run")
    monkeypatch.setattr(bl, "MAX_FILE_BYTES", 1024)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"baseline": 1, "kind": "run", "entries": [entry(reason="x" * 1500)]}))
    with pytest.raises(InputError, match="larger than"):
        load(huge, "run")
    monkeypatch.setattr(bl, "MAX_ENTRIES", 3)
    with pytest.raises(InputError, match="4 entries"):
        parse({"baseline": 1, "kind": "run", "entries": [entry(path=f"$.p{n}") for n in range(4)]}, kind="run",
              file="b.json")


def test_a_missing_file_says_how_to_write_one_unless_it_is_about_to_be(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such baseline file.*--baseline-update"):
        load(tmp_path / "none.json", "run")
    assert load(tmp_path / "none.json", "run", missing_ok=True).entries == ()


def test_entries_from_the_file_keep_reason_owner_expiry() -> None:
    base = run_baseline(entry(reason="why", owner="me", expires="2026-03-01", example="seen once"))
    (only,) = base.entries
    assert only == Entry(only.fingerprint, "why", "me", dt.date(2026, 3, 1), "seen once")


# -- conformance lint --baseline, end to end ----------------------------------------------------------------


def lint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "lint", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_lint_with_a_baseline_known_fixed_expired_and_the_exit_code(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    for name in ("vcrpy_gzip_binary.yaml", "vcrpy_plain.yaml", "nock.json"):
        (root / name).write_bytes((RECORDINGS / name).read_bytes())
    base = tmp_path / "baseline.json"
    first = lint("recordings", "--baseline", str(base), "--baseline-update", cwd=tmp_path)
    assert first.returncode == 1, first.stdout  # judged against the baseline as it was: empty
    assert "baseline: wrote" in first.stderr
    doc = json.loads(base.read_text())
    assert doc["kind"] == "lint" and doc["entries"] and all(e["file"].startswith("recordings/") for e in doc["entries"])

    again = lint("recordings", "--baseline", str(base), "--format", "json", cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    report = json.loads(again.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors and all(f["baseline"] == KNOWN for f in errors)
    assert report["baseline"]["entries"][SEEN] == len(doc["entries"])

    # One entry expires, one names a deviation no longer there, and one file is not read this time.
    read = [e for e in doc["entries"] if e["file"] == "recordings/vcrpy_gzip_binary.yaml"]
    assert any(e["file"] == "recordings/nock.json" for e in doc["entries"])
    read[0].update(expires="2020-01-01", owner="gateway-team")
    doc["entries"].append({**read[-1], "rule": "stream.block-order", "path": "$.index"})
    base.write_text(json.dumps(doc))
    text = lint("recordings/vcrpy_gzip_binary.yaml", "recordings/vcrpy_plain.yaml", "--baseline", str(base),
                cwd=tmp_path)
    assert text.returncode == 1
    assert "[baseline entry expired: fails again]" in text.stdout and "[known: baseline]" in text.stdout
    assert "expired 2020-01-01, fails again:" in text.stdout and "owner gateway-team" in text.stdout
    assert "fixed, remove it: stream.block-order" in text.stdout
    assert "unchecked" in text.stdout


def test_lint_with_a_broken_baseline_is_one_line_and_exit_2(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps({"baseline": 1, "kind": "lint", "entries": [{"rule": 3}]}))
    proc = lint(str(RECORDINGS / "nock.json"), "--baseline", str(base), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "baseline.json:entries[0]:" in lines[0] and "Traceback" not in proc.stderr
    usage = lint(str(RECORDINGS / "nock.json"), "--baseline-update", cwd=tmp_path)
    assert usage.returncode == 2 and "--baseline-update needs --baseline FILE" in usage.stderr
