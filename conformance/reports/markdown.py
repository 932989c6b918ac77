"""``summary.md`` for a conformance run, and the ``curl`` reproducers it shows.

A view over the run's records (one per exchange a check sent: request, status and
findings); no logic beyond counting and formatting.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome
from conformance.intent import META_HEADER
from conformance.rules import intents, versions
from conformance.rules.base import RuleInfo

DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
_SECRET_HEADERS = {"x-api-key": "${}", "authorization": "Bearer ${}"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SKIP_HEADERS = {"content-length", "host", "accept-encoding", "connection", "user-agent", META_HEADER}


def curl_command(method: str | None, url: str | None, headers: Mapping[str, Sequence[str]], body: Any,
                 key_env: str = DEFAULT_KEY_ENV) -> str:
    """A shell command that resends the request; the key comes from ``$key_env`` (the variable the run read its
    key from, ``--api-key-env``), never inline."""
    if not _ENV_NAME.fullmatch(key_env):
        key_env = DEFAULT_KEY_ENV  # never a shell expression in a reproducer
    parts = ["curl", "-sS", "-X", method or "POST", shlex.quote(url or "")]
    for name, values in sorted(headers.items()):
        lname = name.lower()
        if lname in _SKIP_HEADERS:
            continue
        for value in values:
            if lname in _SECRET_HEADERS:
                # Double quotes so the shell expands the variable; the recorded value was redacted anyway.
                parts += ["-H", f'"{lname}: {_SECRET_HEADERS[lname].format(key_env)}"']
            else:
                parts += ["-H", shlex.quote(f"{lname}: {value}")]
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        parts += ["--data-binary", shlex.quote(text)]
    return " ".join(parts)


def curl_for(exchange: Any, key_env: str = DEFAULT_KEY_ENV) -> str:
    req = exchange.request
    if req is None:
        return "(no request recorded)"
    body: Any = req.json if req.body else None
    if body is not None and not isinstance(body, (dict, list)):
        body = req.body.decode("utf-8", "replace")
    return curl_command(req.method, req.url, req.headers.to_dict(), body, key_env)


_INTENT_RULES = frozenset(r.id for r in intents.RULES)
PROBE_AREAS = frozenset(r.area for r in intents.RULES)
"""Areas of the intent rules: they judge only the exchanges sent with an intent they read."""


def rule_applies(rule: RuleInfo, record: Mapping[str, Any]) -> bool:
    """Exchange rules judge every exchange (stream rules every stream); an intent rule judges the exchanges
    sent with an intent it reads."""
    if rule.id in _INTENT_RULES:
        return intents.judges(rule.id, record.get("intent"))
    if rule.area == "versions":
        return versions.judges(rule.id, record.get("intent"))
    if rule.area == "stream" and not record.get("stream"):
        return False
    return True


def failing(finding: Mapping[str, Any]) -> bool:
    """An error that fails its check: any but a known deviation (a live entry of the run's baseline)."""
    return finding["severity"] == "error" and finding.get("baseline") != "known"


def error_rules(record: Mapping[str, Any]) -> set[str]:
    return {f["rule"] for f in record["findings"] if failing(f)}


def known_rules(record: Mapping[str, Any]) -> set[str]:
    return {f["rule"] for f in record["findings"] if f.get("baseline") == "known"}


def _idle(record: Mapping[str, Any]) -> dict[str, str]:
    return {f["rule"]: f["message"] for f in record["findings"] if f.get("not_exercised")}


def failing_example(records: Sequence[Mapping[str, Any]], rule: str) -> Mapping[str, Any] | None:
    """The record that shows ``rule`` failing: of the first check that failed it, the last failing record.

    Hypothesis replays the minimal failing example last, so within a check that shrank this is the
    smallest (see :func:`is_minimal`).
    """
    hits = [r for r in records if rule in error_rules(r)]
    if not hits:
        return None
    first_test = hits[0]["test"]
    return [r for r in hits if r["test"] == first_test][-1]


def is_minimal(records: Sequence[Mapping[str, Any]], example: Mapping[str, Any], rule: str) -> bool:
    """Whether ``example`` is the example Hypothesis minimised for ``rule``.

    Only an exchange a generated check sent while shrinking was on, that is the last failing exchange of
    its check (the final replay of the minimal example), and that breaks ``rule`` itself: a rule that
    failed only on earlier examples was not what Hypothesis minimised.
    """
    if not example.get("shrinking") or rule not in error_rules(example):
        return False
    last = [r for r in records if r["test"] == example["test"] and error_rules(r)]
    return bool(last) and last[-1] is example


def rule_table(records: Sequence[Mapping[str, Any]], catalogue: Sequence[RuleInfo]) -> list[dict[str, Any]]:
    """Per rule: exchanges it judged, passed, failed, not exercised (with why), and the failing example
    (minimised when it was). A rule that judged nothing is not exercised, never passed.
    """
    rows = []
    for rule in sorted(catalogue, key=lambda r: r.id):
        run = [r for r in records if rule_applies(rule, r) or rule.id in _idle(r)]
        idle = [r for r in run if rule.id in _idle(r)]
        judged = [r for r in run if rule.id not in _idle(r)]
        failed = [r for r in judged if rule.id in error_rules(r)]
        known = [r for r in judged if rule.id in known_rules(r) and rule.id not in error_rules(r)]
        example = failing_example(failed, rule.id)
        reasons = sorted({_idle(r)[rule.id] for r in idle})
        rows.append({"rule": rule.id, "severity": str(rule.severity), "party": rule.party, "title": rule.title,
                     "run": len(judged), "passed": len(judged) - len(failed) - len(known), "failed": len(failed),
                     "known": len(known),
                     "not_exercised": len(idle), "why_not": reasons, "example": example,
                     "minimal": example is not None and is_minimal(records, example, rule.id)})
    return rows


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def root_causes(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per rule that failed: how many checks, and what came where what was expected.

    A pervasive fault (every 400 answered 422) fails dozens of checks the same way; grouped by rule and by
    (expected, actual) it reads as one root cause, with the first check that shows it.
    """
    groups: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    messages: dict[tuple[str, str, str], str] = {}
    for record in records:
        for f in record["findings"]:
            if not failing(f):
                continue
            key = (_shown(f.get("expected")), _shown(f.get("actual")))
            checks = groups[f["rule"]][key]
            if record["test"] not in checks:
                checks.append(record["test"])
            messages.setdefault((f["rule"], *key), f["message"])
    lines = []
    for rule in sorted(groups, key=lambda r: -len({c for cs in groups[r].values() for c in cs})):
        by_cause = sorted(groups[rule].items(), key=lambda kv: -len(kv[1]))
        total = len({c for _, checks in by_cause for c in checks})
        parts = []
        for (expected, actual), checks in by_cause[:3]:
            share = "all" if len(checks) == total else str(len(checks))
            if (expected, actual) != ("null", "null"):
                what = f"{share} answered {actual} where {expected} was expected"
            else:  # no expected/actual pair: the finding's own words
                what = f"{'in all' if share == 'all' else f'in {share}'}: {messages[(rule, expected, actual)][:120]}"
            parts.append(f"{what} (first: `{checks[0]}`)")
        more = f"; and {len(by_cause) - 3} other causes" if len(by_cause) > 3 else ""
        lines.append(f"- `{rule}`: {total} check{'s' if total != 1 else ''}, " + "; ".join(parts) + more)
    return lines


def version_matrix(records: Sequence[Mapping[str, Any]]) -> dict[str, Counter[int]]:
    out: dict[str, Counter[int]] = defaultdict(Counter)
    for r in records:
        sent = r["request_headers"].get("anthropic-version")
        if sent and r["status"] is not None:
            out[", ".join(sent)][r["status"]] += 1
    return out


def render_summary(rows: Sequence[Mapping[str, Any]], outcomes: Mapping[str, CheckOutcome],
                   records: Sequence[Mapping[str, Any]], *, target: str | None, mutant: str | None,
                   known_versions: Sequence[str], aborted: str | None = None,
                   spent: Mapping[str, Any] | None = None, baseline: Mapping[str, Any] | None = None,
                   versions: Mapping[str, Any] | None = None, key_env: str = DEFAULT_KEY_ENV) -> str:
    checks = Counter(o.outcome for o in outcomes.values())
    out = ["# Conformance run", ""]
    if aborted:
        out += [f"**Aborted: {aborted}.** The checks after it were not exercised; there is no verdict.", ""]
    out.append(f"- target: `{target}`" + (f" (mutant `{mutant}`)" if mutant else ""))
    out.append(f"- checks: {checks.get(PASSED, 0)} passed, {checks.get(FAILED, 0)} failed, "
               f"{checks.get(NOT_EXERCISED, 0)} not exercised")
    out.append(f"- exchanges validated: {len(records)}")
    if spent is not None:
        cap = spent.get("max_tokens")
        out.append(f"- spent: {spent['requests']} of {spent['max_requests']} requests, {spent['tokens']:,} of "
                   f"{'unlimited' if cap is None else f'{cap:,}'} tokens, {spent['waited_s']} s waiting for rate "
                   "limits")
    failed_rules = [r for r in rows if r["failed"]]
    out.append(f"- rules failing: {len(failed_rules)} of {len(rows)}")
    causes = root_causes(records)
    if causes:
        out += ["", "## What failed, one line per root cause", "", *causes]
    out += ["", "## Rules", "", "| rule | party | severity | judged | passed | failed | not exercised |",
            "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        known = f" ({r['known']} known)" if r.get("known") else ""
        mark = f" **FAIL**{known}" if r["failed"] else (" *known deviation*" + known if known else
                                                       " *not exercised*" if not r["run"] else "")
        passed = r["passed"] if r["run"] else "—"
        out.append(f"| `{r['rule']}`{mark} | {r['party']} | {r['severity']} | {r['run']} | {passed} | {r['failed']} "
                   f"| {r['not_exercised']} |")
    if failed_rules:
        out += ["", "## Failing examples", ""]
        for r in failed_rules:
            ex = r["example"]
            messages = [f["message"] for f in ex["findings"] if f["rule"] == r["rule"]]
            shrunk = "minimised by Hypothesis" if r["minimal"] else "as sent (not minimised)"
            out += [f"### `{r['rule']}`", "", f"{r['title']}.", "", f"- example: {shrunk}",
                    f"- check: `{ex['test']}`", f"- status: {ex['status']}",
                    f"- finding: {messages[0] if messages else ''}", "", "```bash",
                    curl_command(ex["method"], ex["url"], ex["request_headers"], ex["request_body"], key_env),
                    "```", ""]
    if versions is not None:
        from conformance.reports import versions as across

        out += across.markdown_section(versions)
    if baseline is not None:
        from conformance.reports.baseline import markdown_section

        out += markdown_section(baseline)
    matrix = version_matrix(records)
    if matrix:
        out += ["", "## Version support (statuses seen per anthropic-version sent)", "",
                "| anthropic-version | in table | statuses |", "|---|---|---|"]
        for version in sorted(matrix):
            statuses = ", ".join(f"{s}×{n}" for s, n in sorted(matrix[version].items()))
            out.append(f"| `{version}` | {'yes' if version in known_versions else 'no'} | {statuses} |")
    idle = sorted((c, o.reason) for c, o in outcomes.items() if o.outcome == NOT_EXERCISED)
    idle_rules = [(r["rule"], why) for r in rows if r["why_not"] for why in r["why_not"]]
    if idle or idle_rules:
        out += ["", "## Not exercised (never counted as passed)", "", "| check or rule | why |", "|---|---|"]
        out += [f"| `{c}` | {(reason or 'no reason given').replace('|', '/')} |" for c, reason in idle]
        out += [f"| rule `{rule}` | {why.replace('|', '/')} |" for rule, why in idle_rules]
    return "\n".join(out) + "\n"
