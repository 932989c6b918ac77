"""The view model of ``report.html``: everything the page shows, computed from what a run or lint wrote.

Input is exactly what lies in the report directory: ``findings.json`` (findings, checks, summary, meta)
and the exchange log (``exchanges.jsonl``), joined on ``file`` + ``interaction``. The per-rule logic is
the Markdown summary's (:mod:`conformance.reports.markdown`): which rules judge which exchange, which
record shows a failure, whether Hypothesis minimised it. The view types are in :mod:`.views`; the
template only lays them out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.engine import parties, selected
from conformance.findings import CLIENT, NOT_EXERCISED, PARTIES, SERVER, Severity
from conformance.reports.html.timeline import build_timeline
from conformance.reports.html.views import (
    CELL_STATES,
    FAIL,
    NOT_EXERCISED_CELL,
    PASS,
    QUIET_INLINE_MAX,
    SKIPPED,
    WARN,
    AcrossRow,
    AcrossVersions,
    AreaRow,
    Cell,
    ExchangeView,
    FindingView,
    Matrix,
    PartyVerdict,
    Report,
    RuleCard,
    RuleRow,
    VersionRow,
    event_lines,
    header_pairs,
    inline,
    location,
    pretty,
    severity_of,
    short_name,
    where,
)
from conformance.reports.markdown import (
    DEFAULT_KEY_ENV,
    PROBE_AREAS,
    curl_command,
    failing_example,
    is_minimal,
    rule_applies,
    version_matrix,
)
from conformance.reports.versions import MISSING, NOT_COMPARABLE, UNPREDICTED_CHANGE, VERDICTS
from conformance.rules.base import RuleInfo


class _Builder:
    def __init__(self, doc: Mapping[str, Any], entries: Sequence[Mapping[str, Any]],
                 catalogue: Sequence[RuleInfo], known_versions: Sequence[str]) -> None:
        self.doc = doc
        self.meta: Mapping[str, Any] = doc.get("meta") or {}
        self.kind = str(self.meta.get("kind") or ("run" if "checks" in doc else "lint"))
        self.entries = entries
        self.known_versions = list(known_versions)
        self.raw_findings: list[Mapping[str, Any]] = [f for f in doc.get("findings") or [] if isinstance(f, Mapping)]
        by_id = {r.id: r for r in catalogue}
        # A rule the catalogue no longer has (a report of an older suite) still gets its row.
        for f in self.raw_findings:
            rule = str(f.get("rule"))
            if rule not in by_id:
                by_id[rule] = RuleInfo(rule, Severity.parse(severity_of(f)), "(not in this suite's catalogue)",
                                       str(f.get("party")) if f.get("party") in PARTIES else "server")
        self.rules = sorted(by_id.values(), key=lambda r: r.id)
        self.anchor_of = {location(e.get("file"), e.get("interaction")): f"x{n}" for n, e in enumerate(entries)}
        self.findings = [self._finding(n, f) for n, f in enumerate(self.raw_findings)]
        per_exchange: dict[tuple[str | None, int | None], list[Mapping[str, Any]]] = defaultdict(list)
        for f in self.raw_findings:
            per_exchange[location(f.get("file"), f.get("interaction"))].append(f)
        # The records the Markdown summary's per-rule logic reads: an entry with its findings.
        self.records = [{**e, "test": e.get("file"), "version": e.get("api_version"),
                         "findings": per_exchange.get(location(e.get("file"), e.get("interaction")), [])}
                        for e in entries]
        self.views_by_key: dict[tuple[str | None, int | None], list[FindingView]] = defaultdict(list)
        for view in self.findings:
            self.views_by_key[(view.source, view.interaction)].append(view)

    # columns: API versions for a run, files for a lint
    def columns(self) -> tuple[str, list[str], list[str]]:
        if self.kind == "run":
            versions = list(self.meta.get("api_versions") or [])
            for e in self.entries:
                if e.get("api_version") and e["api_version"] not in versions:
                    versions.append(e["api_version"])
            return "API version", versions, versions
        files: list[str] = []
        for e in self.entries:
            if e.get("file") is not None and str(e["file"]) not in files:
                files.append(str(e["file"]))
        for f in self.raw_findings:
            if f.get("file") is not None and str(f["file"]) not in files:
                files.append(str(f["file"]))
        return "file", files, [short_name(f, files) for f in files]

    def column_of_record(self, record: Mapping[str, Any]) -> str | None:
        return record.get("version") if self.kind == "run" else record.get("test")

    def column_of_finding(self, f: Mapping[str, Any]) -> str | None:
        value = f.get("api_version") if self.kind == "run" else f.get("file")
        return str(value) if value is not None else None

    def _finding(self, n: int, f: Mapping[str, Any]) -> FindingView:
        rule = str(f.get("rule"))
        key = location(f.get("file"), f.get("interaction"))
        return FindingView(
            anchor=f"f{n}", rule=rule, severity=severity_of(f), party=str(f.get("party") or "server"),
            area=rule.split(".", 1)[0], message=str(f.get("message") or ""), source=key[0], interaction=key[1],
            version=f.get("api_version") if self.kind == "run" else _version_of(self.entries, key, self.anchor_of),
            where=where(f), path=str(f.get("path") or "$"), expected=inline(f.get("expected")),
            actual=inline(f.get("actual")), exchange=self.anchor_of.get(key),
            baseline=str(f["baseline"]) if f.get("baseline") else None)

    # -- the matrix --------------------------------------------------------------------------------------

    def skip_reason(self, rule: RuleInfo) -> str | None:
        select = list(self.meta.get("select") or [])
        if select and not selected(rule.id, select):
            return f"not selected (--select {' '.join(select)})"
        party = str(self.meta.get("party") or "all")
        if party != "all" and rule.party not in parties(party):
            return f"a {rule.party} rule; this report is for --party {party}"
        return None

    def idle_reasons(self) -> dict[tuple[str, str], list[str]]:
        """Why checks were not exercised, by (area, column): what a not-exercised cell says."""
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        _, columns, _ = self.columns()
        for check in self.doc.get("checks") or []:
            if check.get("outcome") != NOT_EXERCISED:
                continue
            param = str(check.get("check", "")).partition("[")[2]
            cols = [c for c in columns if param.startswith(c)] or columns
            for area in check.get("areas") or []:
                for col in cols:
                    reason = f"{check.get('check')}: {check.get('reason') or 'no reason given'}"
                    if reason not in out[(area, col)]:
                        out[(area, col)].append(reason)
        return out

    def matrix(self) -> Matrix:
        title, columns, labels = self.columns()
        idle = self.idle_reasons()
        records_by_col: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
        for r in self.records:
            records_by_col[self.column_of_record(r)].append(r)
        counts: Counter[tuple[str, str | None, str]] = Counter()
        for f in self.raw_findings:
            # A known deviation (baseline) is shown in its own right, never as a failure.
            severity = "known" if f.get("baseline") == "known" else severity_of(f)
            counts[(str(f.get("rule")), self.column_of_finding(f), severity)] += 1
        areas: dict[str, list[RuleRow]] = defaultdict(list)
        for rule in self.rules:
            cells = [self.cell(rule, col, records_by_col.get(col, []), counts, idle) for col in columns]
            failed = sum(c.count for c in cells if c.state == FAIL)
            areas[rule.area].append(RuleRow(rule, cells, failed))
        rows = []
        for area, rules in areas.items():
            merged = [_merge([r.cells[n] for r in rules], col) for n, col in enumerate(columns)]
            rows.append(AreaRow(area, sorted({r.rule.party for r in rules}), merged, rules))
        # What needs a look first: failing areas, then the judged ones, the idle ones, the unselected ones.
        rows.sort(key=lambda a: min((CELL_STATES.index(c.state) for c in a.cells), default=len(CELL_STATES)))
        return Matrix(title, columns, labels, rows, self.kind == "run")

    def cell(self, rule: RuleInfo, column: str, records: Sequence[Mapping[str, Any]],
             counts: Counter[tuple[str, str | None, str]], idle: Mapping[tuple[str, str], list[str]]) -> Cell:
        skip = self.skip_reason(rule)
        if skip is not None:
            return Cell(SKIPPED, reason=skip, column=column)
        errors, warnings = counts[(rule.id, column, "error")], counts[(rule.id, column, "warning")]
        href = f"#rule-{rule.id}"
        if errors:
            return Cell(FAIL, errors, f"{errors} error finding(s)", column, href)
        if warnings:
            return Cell(WARN, warnings, f"{warnings} warning(s)", column, href)
        known = counts[(rule.id, column, "known")]
        if known:
            return Cell(WARN, known, f"{known} known deviation(s), waived by the baseline", column, href)
        judged = sum(1 for r in records if self._judges(rule, r))
        if judged:
            return Cell(PASS, judged, f"judged {judged} exchange(s), none broke it", column)
        reasons = idle.get((rule.area, column))
        if reasons:
            return Cell(NOT_EXERCISED_CELL, reason="; ".join(reasons), column=column)
        return Cell(NOT_EXERCISED_CELL, reason=self._why_not(rule, records), column=column)

    def _judges(self, rule: RuleInfo, record: Mapping[str, Any]) -> bool:
        # A capture may hold only one side (a raw SSE file has no request): that side's rules judged nothing.
        if rule.party == CLIENT and not record.get("method"):
            return False
        if rule.party == SERVER and record.get("status") is None and not record.get("events"):
            return False
        if self.kind == "run":
            return rule_applies(rule, record)
        # A recording has no checks: the intent rules judge what was recorded with an intent.
        if rule.area in PROBE_AREAS:
            return record.get("intent") is not None and rule_applies(rule, {**record, "areas": [rule.area]})
        return rule_applies(rule, record)

    def _why_not(self, rule: RuleInfo, records: Sequence[Mapping[str, Any]]) -> str:
        if not records:
            return "no exchange here"
        if rule.party == CLIENT and not any(r.get("method") for r in records):
            return "no request recorded here"
        if rule.area == "stream":
            return "no streamed answer here"
        if rule.area in PROBE_AREAS:
            if self.kind == "lint":
                return "no recorded intent: only a conformance run's checks (or their recordings) reach it"
            return f"no check of area {rule.area!r} sent an exchange here"
        return "no exchange reached it"

    # -- verdicts --------------------------------------------------------------------------------------------

    def party_verdicts(self, matrix: Matrix) -> list[PartyVerdict]:
        """Per party, the worst state of its rules' cells: pass only when one of its rules judged something."""
        out = []
        for party in PARTIES:
            mine = [f for f in self.findings if f.party == party]
            errors = sum(1 for f in mine if f.failing)
            warnings = sum(1 for f in mine if f.severity == "warning")
            cells = [c for a in matrix.areas for row in a.rules if row.rule.party == party for c in row.cells]
            merged = _merge(cells, "") if cells else Cell(NOT_EXERCISED_CELL, reason="no rule of this party")
            state = FAIL if errors else merged.state
            reason = ""
            if state == SKIPPED:
                reason = next((c.reason for c in cells if c.state == SKIPPED), "")
            elif state == NOT_EXERCISED_CELL:
                reason = "no exchange reached its rules" if self.entries else "nothing was judged"
            out.append(PartyVerdict(party, state, errors, warnings,
                                    sorted({f.area for f in mine if f.failing}), reason))
        return out

    # -- exchanges and cards -------------------------------------------------------------------------------

    def exchange(self, n: int, entry: Mapping[str, Any]) -> ExchangeView:
        key = location(entry.get("file"), entry.get("interaction"))
        findings = self.views_by_key.get(key, [])
        events = entry.get("events") if isinstance(entry.get("events"), list) else None
        raw = self.records[n]["findings"]
        timeline = build_timeline(events, raw) if events else None
        intent = entry.get("intent")
        intent_text = None
        if isinstance(intent, Mapping):
            intent_text = str(intent.get("what") or intent.get("kind"))
        body = entry.get("request_body")
        return ExchangeView(
            anchor=f"x{n}", number=n, source=key[0], interaction=key[1], label=str(entry.get("label") or ""),
            version=entry.get("api_version"), status=entry.get("status"), stream=bool(entry.get("stream")),
            method=entry.get("method"), url=entry.get("url"),
            request_headers=header_pairs(entry.get("request_headers")), request_body=pretty(body),
            response_headers=header_pairs(entry.get("response_headers")),
            response_body=pretty(entry.get("response_body")),
            events=event_lines(events) if events else None, timeline=timeline,
            curl=curl_command(entry.get("method"), entry.get("url"), entry.get("request_headers") or {}, body,
                              str(self.meta.get("key_env") or DEFAULT_KEY_ENV))
            if entry.get("url") else "",
            truncated=[str(t) for t in entry.get("truncated") or []], intent=intent_text, findings=findings)

    def cards(self, exchanges: Sequence[ExchangeView]) -> list[RuleCard]:
        by_rule: dict[str, list[FindingView]] = defaultdict(list)
        for f in self.findings:
            if f.severity in ("error", "warning"):
                by_rule[f.rule].append(f)
        rules = {r.id: r for r in self.rules}
        cards = []
        for rule_id, found in by_rule.items():
            severity = "error" if any(f.failing for f in found) else "warning"
            example, minimised = self.example(rule_id, found, severity)
            view = exchanges[int(example.exchange[1:])] if example is not None and example.exchange else None
            cards.append(RuleCard(rules[rule_id], severity, found, view, example, minimised,
                                  sorted({f.version for f in found if f.version})))
        cards.sort(key=lambda c: (c.severity != "error", c.rule.id))
        return cards

    def example(self, rule: str, found: Sequence[FindingView], severity: str) -> tuple[FindingView | None, bool]:
        """The finding whose exchange shows the rule failing, and whether Hypothesis minimised that exchange."""
        if self.kind == "run" and severity == "error":
            record = failing_example(self.records, rule)
            if record is not None:
                key = location(record.get("file"), record.get("interaction"))
                first = next((f for f in found if (f.source, f.interaction) == key), None)
                if first is not None:
                    return first, is_minimal(self.records, record, rule)
        with_exchange = [f for f in found if f.exchange is not None]
        chosen = with_exchange or list(found)
        return (chosen[0] if chosen else None), False

    # -- the rest ----------------------------------------------------------------------------------------------

    def not_exercised(self) -> list[tuple[str, str]]:
        return sorted((str(c.get("check")), str(c.get("reason") or "no reason given"))
                      for c in self.doc.get("checks") or [] if c.get("outcome") == NOT_EXERCISED)

    def version_rows(self) -> list[VersionRow]:
        matrix = version_matrix([{"request_headers": r.get("request_headers") or {}, "status": r.get("status")}
                                 for r in self.records])
        return [VersionRow(v, v in self.known_versions, sorted(matrix[v].items())) for v in sorted(matrix)]

    def across(self) -> AcrossVersions | None:
        """The version comparison of the findings document, read defensively (it may come from any file)."""
        doc = self.doc.get("versions")
        if not isinstance(doc, Mapping) or not isinstance(doc.get("rows"), list):
            return None
        versions = [str(v) for v in doc.get("versions") or [] if isinstance(v, str)][:2]
        found = doc.get("counts")
        counts: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        rows = []
        for row in doc["rows"]:
            if not isinstance(row, Mapping):
                continue
            given = row.get("statuses")
            statuses: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
            per_version = [[(str(k), n) for k, n in statuses[v].items() if isinstance(n, int)]
                           if isinstance(statuses.get(v), Mapping) else [] for v in versions]
            verdict = str(row.get("verdict") or "?")
            pairs = row.get("pairs")
            rows.append(AcrossRow(str(row.get("request") or "?"), pairs if isinstance(pairs, int) else 0,
                                  per_version, verdict,
                                  FAIL if verdict in (UNPREDICTED_CHANGE, MISSING)
                                  else NOT_EXERCISED_CELL if verdict == NOT_COMPARABLE else PASS))
        return AcrossVersions(versions, [(v, int(counts.get(v) or 0)) for v in VERDICTS
                                         if isinstance(counts.get(v, 0), int)], rows)

    def facts_and_title(self) -> tuple[str, list[tuple[str, str]], list[str]]:
        summary: Mapping[str, Any] = self.doc.get("summary") or {}
        notes: list[str] = []
        if self.kind == "run":
            target = str(self.meta.get("target") or "?")
            mutant = self.meta.get("mutant")
            title = f"Conformance run: {target}" + (f" (mutant {mutant})" if mutant else "")
            facts = [("checks", f"{summary.get('checks', 0)}: {summary.get('passed', 0)} passed, "
                                f"{summary.get('failed', 0)} failed, {summary.get('not_exercised', 0)} not exercised"),
                     ("exchanges judged", str(len(self.entries))),
                     ("API versions", ", ".join(self.meta.get("api_versions") or []) or "-")]
            if self.meta.get("select"):
                facts.append(("selected", " ".join(self.meta["select"])))
        else:
            title = "Lint: " + (", ".join(self.meta.get("paths") or []) or "recordings")
            facts = [("files", str(summary.get("files", 0))), ("interactions", str(summary.get("interactions", 0)))]
            notes += [f"unreadable: {e}" for e in summary.get("input_errors") or []]
            notes += [f"skipped: {s.get('file')} interaction {s.get('interaction')}: {s.get('reason')}"
                      for s in summary.get("skipped") or [] if isinstance(s, Mapping)]
        if self.meta.get("party") not in (None, "all"):
            facts.append(("party", str(self.meta["party"])))
        severities = Counter(f.severity for f in self.findings)
        facts.append(("findings", f"{severities['error']} errors, {severities['warning']} warnings, "
                                  f"{severities['info']} info"))
        baseline = self.doc.get("baseline")
        if isinstance(baseline, Mapping):
            found, entries = baseline.get("findings") or {}, baseline.get("entries") or {}
            facts.append(("baseline", f"{baseline.get('file')}: {found.get('known', 0)} known, {found.get('new', 0)} "
                                      f"new, {found.get('expired', 0)} expired; {entries.get('fixed', 0)} "
                                      "entries fixed"))
        if self.meta.get("suite_version"):
            facts.append(("suite", str(self.meta["suite_version"])))
        return title, facts, notes

    def build(self) -> Report:
        exchanges = [self.exchange(n, e) for n, e in enumerate(self.entries)]
        matrix = self.matrix()
        verdicts = self.party_verdicts(matrix)
        errors = sum(v.errors for v in verdicts)
        if errors:
            verdict, text = FAIL, f"Not conformant: {errors} error finding(s)"
        elif not self.entries:
            verdict, text = NOT_EXERCISED_CELL, "Nothing was judged: no exchange was sent or read"
        else:
            verdict, text = PASS, "Conformant" + (" (with warnings)" if any(v.warnings for v in verdicts) else "")
        title, facts, notes = self.facts_and_title()
        versions = sorted({v for v in (e.version for e in exchanges) if v} | {f.version for f in self.findings
                                                                               if f.version})
        filters = {"party": list(PARTIES), "severity": ["warning", "error"],
                   "area": [a.area for a in matrix.areas], "version": versions}
        return Report(self.kind, title, facts, verdict, text, verdicts, matrix, self.cards(exchanges), self.findings,
                      exchanges, self.not_exercised(), self.version_rows(), notes, filters,
                      lazy_quiet=len(exchanges) > QUIET_INLINE_MAX, across=self.across())


def _version_of(entries: Sequence[Mapping[str, Any]], key: tuple[str | None, int | None],
                anchors: Mapping[tuple[str | None, int | None], str]) -> str | None:
    anchor = anchors.get(key)
    if anchor is None:
        return None
    version = entries[int(anchor[1:])].get("api_version")
    return str(version) if version is not None else None


def _merge(cells: Sequence[Cell], column: str) -> Cell:
    """An area's cell: its worst rule's state (failures counted over every rule)."""
    for state in (FAIL, WARN):
        hit = [c for c in cells if c.state == state]
        if hit:
            return Cell(state, sum(c.count for c in hit), f"{len(hit)} rule(s) {state}", column)
    judged = [c for c in cells if c.state == PASS]
    idle = [c for c in cells if c.state == NOT_EXERCISED_CELL]
    if judged:
        note = f"; {len(idle)} rule(s) not exercised" if idle else ""
        return Cell(PASS, len(judged), f"{len(judged)} rule(s) judged, none broken{note}", column)
    if idle:
        return Cell(NOT_EXERCISED_CELL, reason="; ".join(dict.fromkeys(c.reason for c in idle)), column=column)
    return Cell(SKIPPED, reason=cells[0].reason if cells else "no rules", column=column)


def build_report(doc: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], catalogue: Sequence[RuleInfo],
                 known_versions: Sequence[str]) -> Report:
    return _Builder(doc, entries, catalogue, known_versions).build()
