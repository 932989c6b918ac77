"""What the SDK sent, judged by the suite's client-side rules (``conformance.engine.check_exchange``).

Every request of every scenario becomes an :class:`~conformance.exchange.Exchange` and goes through the
rule tables; the findings of the client party are the SDK's. Four checks summarise them, each owning its
rules so that one fault fails one check: ``requests.auth`` (``request.auth``), ``requests.version``
(``request.version-*``, and the version asked for), ``requests.content-type`` and ``requests.body``
(everything else the client is judged by). The SDK's own headers (``x-stainless-*``, ``user-agent``) are
recorded for the report, never judged.

A request is judged on its own: the answer is attached only when it was a 2xx (an unknown field the server
took is then the profile lagging, a warning), never a scripted error, which would turn the SDK's mistake
into a "rejected as expected" warning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import orjson

from conformance.engine import check_exchange, context, profile_for
from conformance.exchange import Exchange, Headers, HttpRequest, HttpResponse
from conformance.findings import CLIENT, Finding, Severity
from conformance.profiles import Profiles
from conformance.rules.requests import REJECTED_AS_EXPECTED
from conformance.sdk.model import Attempt, Verdict, failed, not_exercised, passed

RULES_OF: Mapping[str, tuple[str, ...]] = {
    "requests.auth": ("request.auth",),
    "requests.version": ("request.version-missing", "request.version-duplicated", "request.version-unknown"),
    "requests.content-type": ("request.content-type",),
}
"""The rules each header check owns; ``requests.body`` owns every other client rule."""
RUN_CHECKS = (*RULES_OF, "requests.body")
SDK_HEADER_PREFIXES = ("x-stainless-", "user-agent", "anthropic-", "accept", "content-type", "x-api-key",
                       "authorization")
"""Headers shown in the report's "what the SDK sent" table (values of credentials redacted by the server log)."""


@dataclasses.dataclass(frozen=True)
class JudgedRequest:
    scenario: str
    attempt: Attempt
    findings: tuple[Finding, ...]


def exchange_of(attempt: Attempt, base_url: str) -> Exchange:
    """The attempt as an exchange the rules read (its 2xx answer attached as status only)."""
    body = attempt.body
    raw = None if body is None else body.encode() if isinstance(body, str) else orjson.dumps(body)
    url = base_url.rstrip("/") + attempt.path + (f"?{attempt.query}" if attempt.query else "")
    request = HttpRequest(attempt.headers, raw, attempt.method, url)
    ok = attempt.status is not None and 200 <= attempt.status < 300
    return Exchange(request, HttpResponse(Headers(), None, attempt.status) if ok else None)


def judge_requests(attempts: Sequence[tuple[str, Attempt]], profiles: Profiles, base_url: str,
                   api_version: str | None = None) -> list[JudgedRequest]:
    """Every attempt through the client-side rules of the profile of the version it sent."""
    out = []
    for scenario, attempt in attempts:
        exchange = exchange_of(attempt, base_url)
        ctx = context(profile_for(exchange, profiles), profiles)
        found = [f.located(scenario, attempt.index) for f in check_exchange(exchange, ctx)
                 if f.party == CLIENT and f.rule != REJECTED_AS_EXPECTED]
        out.append(JudgedRequest(scenario, attempt, tuple(found)))
    return out


def _owner(rule: str) -> str:
    return next((check for check, rules in RULES_OF.items() if rule in rules), "requests.body")


def _first_error(judged: Sequence[JudgedRequest], check: str) -> tuple[int, Finding | None, list[Finding]]:
    errors = [f for j in judged for f in j.findings if _owner(f.rule) == check and f.severity >= Severity.ERROR]
    warnings = [f for j in judged for f in j.findings if _owner(f.rule) == check and f.severity == Severity.WARNING]
    return len(errors), errors[0] if errors else None, warnings


def _values(judged: Sequence[JudgedRequest], name: str) -> list[str]:
    return sorted({", ".join(j.attempt.headers.get_all(name)) for j in judged if name in j.attempt.headers})


def auth_styles(judged: Sequence[JudgedRequest]) -> list[str]:
    styles = set()
    for j in judged:
        if "x-api-key" in j.attempt.headers:
            styles.add("x-api-key")
        auth = j.attempt.headers.get("authorization") or ""
        if auth.lower().startswith("bearer"):
            styles.add("Authorization: Bearer")
    return sorted(styles)


def run_verdicts(judged: Sequence[JudgedRequest], api_version: str | None) -> dict[str, Verdict]:
    """The four request checks over every judged request."""
    if not judged:
        reason = "no request reached the server"
        return {check: not_exercised(reason) for check in RUN_CHECKS}
    out: dict[str, Verdict] = {}
    n = len(judged)
    for check in RUN_CHECKS:
        count, first, warnings = _first_error(judged, check)
        if first is not None:
            attempt = (first.interaction or 0) + 1
            out[check] = failed(f"{count} of {n} requests: {first.message} ({first.file}, attempt {attempt})")
        elif check == "requests.auth":
            out[check] = passed(" and ".join(auth_styles(judged)))
        elif check == "requests.version":
            sent = _values(judged, "anthropic-version")
            if api_version is not None and sent != [api_version]:
                out[check] = failed(f"sent {', '.join(sent)} where {api_version} was asked for")
            else:
                out[check] = passed(f"anthropic-version: {', '.join(sent)}")
        elif warnings:
            out[check] = passed(f"{n} requests; {len(warnings)} warnings: {warnings[0].message}")
        else:
            out[check] = passed(f"{n} requests")
    return out


def sdk_headers(attempt: Attempt) -> list[tuple[str, str]]:
    """The headers of one request worth showing as what the SDK sends (recorded, not judged)."""
    return [(n.lower(), v) for n, v in attempt.headers if n.lower().startswith(SDK_HEADER_PREFIXES)]
