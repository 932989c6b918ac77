"""Judging one check: every exchange it sent, with every rule (the intent rules included), once.

A check calls :meth:`CheckJudge.verdict` when it has sent what it meant to (once per Hypothesis example);
the judge records what it saw for the reports and fails the check once, listing every error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from conformance.findings import Finding, Severity
from conformance.run.target import RunTarget

if TYPE_CHECKING:
    from conformance.run.plugin import ConformanceRun


def areas_of(item: pytest.Item) -> list[str]:
    marker = item.get_closest_marker("conformance_areas")
    return list(marker.args) if marker else []


class CheckJudge:
    """Judges the exchanges one check sent (every rule, intents included) and keeps what it saw for the reports.

    A check calls :meth:`verdict` when it has sent what it meant to (once per Hypothesis example):
    every exchange since the last verdict is judged, recorded, and the check fails once, listing every
    error. Exchanges a check sent but never asked a verdict on (it failed or was skipped half-way) are
    judged and recorded at teardown, without failing it.
    """

    def __init__(self, run: ConformanceRun, item: pytest.Item, profile: Any, target: RunTarget) -> None:
        self.run = run
        self.item = item
        self.profile = profile
        self.target = target
        self.areas = areas_of(item)
        from conformance.intent import check_id

        self.check = check_id(item.nodeid)
        self.exchanges: list[Any] = []
        self.client: Any = None
        """The check's client, told when the check fails (it then limits how much shrinking may send)."""
        self._judged = 0
        self._groups = 0

    def new_group(self) -> str:
        """A name tying the exchanges of one request sent several ways (plain, streamed, counted)."""
        self._groups += 1
        return f"g{self._groups}"

    def attach(self, exchanges: list[Any]) -> None:
        """Judge these exchanges (the client's log of what it sent) from now on."""
        self.exchanges = exchanges

    def _judge_new(self) -> list[tuple[Finding, str | None]]:
        """Judge the exchanges sent since the last call: each finding with its baseline status (None: no baseline,
        or not an error)."""
        from conformance.engine import check_exchange, check_sequence, parties, profile_for, selected
        from conformance.rules.base import Context

        new = self.exchanges[self._judged:]
        if not new:
            return []
        start = self._judged
        self._judged = len(self.exchanges)
        base = Context(self.profile, self.run.profiles, deterministic=self.target.deterministic,
                       live_clock=self.target.live_clock)
        wanted = parties(self.run.options.party)

        def keep(found: Sequence[Finding]) -> list[Finding]:
            options = self.run.options
            return [f for f in found if selected(f.rule, options.select, options.ignore) and f.party in wanted]

        per_exchange: list[list[Finding]] = []
        for n, ex in enumerate(new, start):
            # Numbered within the check, so sequence findings land on the exchange they are about.
            ex.interaction = n
            profile = profile_for(ex, self.run.profiles, fallback=self.profile)
            per_exchange.append(keep(check_exchange(ex, base.with_profile(profile))))
        for f in keep(check_sequence(new, base)):
            at = f.interaction if f.interaction is not None and start <= f.interaction < start + len(new) \
                else start + len(new) - 1
            per_exchange[at - start].append(f)
        out: list[tuple[Finding, str | None]] = []
        for n, (ex, found) in enumerate(zip(new, per_exchange, strict=True), start):
            located = [f.located(self.check, n) for f in found]
            version = profile_for(ex, self.run.profiles, fallback=self.profile).version
            record = _record(ex, version, located, self.check, self.areas)
            statuses = self.run.baseline_statuses(record)
            self.run.records.append(record)
            out.extend(zip(located, statuses, strict=True))
        return out

    def verdict(self) -> list[Finding]:
        """Judge what was sent since the last verdict; fail the check (Hypothesis then shrinks) on any error that
        is not a known deviation (a live entry of the run's baseline)."""
        from conformance.baseline import EXPIRED, KNOWN

        judged = self._judge_new()
        findings = [f for f, _ in judged]
        errors = [f for f, status in judged if f.severity >= Severity.ERROR and status != KNOWN]
        expired = {id(f) for f, status in judged if status == EXPIRED}
        if errors and self.areas:
            self.run.failed_areas.setdefault(self.areas[0], self.check)
        if errors and self.client is not None:
            # A missing header, an answer that never arrived: a smaller request would fail the same way.
            from conformance.rules import RULES_BY_ID

            def unshrinkable(f: Finding) -> bool:
                rule = RULES_BY_ID.get(f.rule)
                return f.part == "response.headers" or (rule is not None and not rule.shrinks)

            self.client.failed(minimal=all(unshrinkable(f) for f in errors))
            if self.run.options.live:
                # Read by Hypothesis when it starts shrinking this failure (it documents it as the knob).
                from hypothesis.internal.conjecture import engine

                engine.MAX_SHRINKING_SECONDS = self.client.shrink_seconds()
                _quiet_shrink_deadline_warning(engine)
        if errors:
            from conformance.reports.markdown import curl_for

            first = next((ex for ex in self.exchanges if ex.interaction == errors[0].interaction), None)
            lines = [f"{f.rule} [#{f.interaction} {f.part} {f.path}{'' if f.event is None else f' event {f.event}'}]"
                     f": {f.message}{' (its baseline entry has expired)' if id(f) in expired else ''}"
                     for f in errors]
            reproduce = "\nreproduce:\n" + curl_for(first, self.run.options.api_key_env) if first is not None else ""
            text = "contract violated:\n  " + "\n  ".join(lines) + reproduce
            # The message lands in the terminal and in junit.xml: every form of the run's keys goes first.
            pytest.fail(self.run.redactor.text(text), pytrace=False)
        return findings

    def close(self) -> None:
        self._judge_new()


def _record(exchange: Any, version: str, findings: list[Finding], nodeid: str, areas: list[str]) -> dict[str, Any]:
    """What the reports keep of one exchange: the exchange log's fields (bounded; redacted when written)."""
    from hypothesis import Phase, currently_in_test_context, settings

    from conformance.exchange_log import exchange_fields

    intent = exchange.intent
    return {
        "test": nodeid,
        "areas": areas,
        "version": version,
        **exchange_fields(exchange),
        "intent": intent.to_json() if intent is not None else None,
        "findings": [f.to_json() for f in findings],
        # Hypothesis replays the minimal failing example last, but only when it was allowed to shrink
        # (not for a mutant or a replay) and only inside a generated check (not at teardown).
        "shrinking": currently_in_test_context() and Phase.shrink in settings().phases,
    }


_SLOW_SHRINK = "WARNING: Hypothesis has spent more than five minutes working to shrink"


def _quiet_shrink_deadline_warning(engine: Any) -> None:
    """Drop Hypothesis's "spent more than five minutes shrinking, PLEASE REPORT THIS" line.

    Against a live target the run ends shrinking itself, after the check's request allowance (seconds, not
    minutes), through the deadline that line is about: it would tell the user something false. Whether the
    example was minimised is said where the example is shown."""
    if getattr(engine.report, "conformance_quiet", False):
        return
    original = engine.report

    def report(text: str) -> None:
        if not text.startswith(_SLOW_SHRINK):
            original(text)

    report.conformance_quiet = True  # type: ignore[attr-defined]
    engine.report = report
