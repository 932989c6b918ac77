"""Run the rule tables over exchanges: pick the profile, skip what is not ours, locate findings.

The engine knows nothing about any one rule. It decides which exchanges the
rules apply to (the Messages API endpoints), which profile each one is judged
by, and stamps every finding with where it came from.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from conformance.errors import InputError
from conformance.exchange import Exchange, endpoint_of
from conformance.findings import Finding, Severity
from conformance.profiles import Profile, Profiles
from conformance.rules import EXCHANGE_CHECKS, SEQUENCE_CHECKS
from conformance.rules.base import Check, SequenceCheck


def requested_version(exchange: Exchange) -> str | None:
    """The first ``anthropic-version`` value the request sent, if any."""
    if exchange.request is None:
        return None
    value = exchange.request.headers.get("anthropic-version")
    if value is None:
        return None
    return value.split(",")[0].strip() or None


def profile_for(exchange: Exchange, profiles: Profiles, override: str | None = None) -> Profile:
    """``override`` if given, else the version the request sent (when known), else the default."""
    if override is not None:
        return profiles.get(override)
    sent = requested_version(exchange)
    if sent is not None and sent in profiles:
        return profiles.get(sent)
    return profiles.default


def _internal(check: Callable[..., object], exc: BaseException) -> Finding:
    # A rule that crashes is a bug of the suite; say so loudly instead of hiding the exchange.
    name = getattr(check, "__qualname__", repr(check))
    return Finding("internal.check-crashed", Severity.ERROR,
                   f"check {name} crashed: {type(exc).__name__}: {exc} (a bug in the suite; please report it)")


def check_exchange(exchange: Exchange, profile: Profile,
                   checks: Sequence[Check] = EXCHANGE_CHECKS) -> list[Finding]:
    """Every finding of every check on one exchange, located at its file and interaction."""
    out: list[Finding] = []
    for check in checks:
        try:
            out.extend(check(exchange, profile))
        except InputError:
            raise  # the input broke while being read (a stream read from disk): not the check's fault
        except Exception as exc:
            out.append(_internal(check, exc))
    return [f.located(exchange.file, exchange.interaction) for f in out]


def check_sequence(exchanges: Sequence[Exchange], profile: Profile,
                   checks: Sequence[SequenceCheck] = SEQUENCE_CHECKS) -> list[Finding]:
    out: list[Finding] = []
    for check in checks:
        try:
            out.extend(check(exchanges, profile))
        except Exception as exc:
            out.append(_internal(check, exc))
    return out


def selected(rule: str, select: Sequence[str] | None) -> bool:
    """``--select`` matches a rule id exactly or an area prefix (``stream`` or ``stream.``)."""
    if not select:
        return True
    return any(rule == s or rule.startswith(s.rstrip(".") + ".") for s in select)


@dataclasses.dataclass
class CheckResult:
    findings: list[Finding] = dataclasses.field(default_factory=list)
    checked: int = 0
    skipped: list[tuple[Exchange, str]] = dataclasses.field(default_factory=list)


def check_exchanges(exchanges: Iterable[Exchange], profiles: Profiles, *, api_version: str | None = None,
                    select: Sequence[str] | None = None) -> CheckResult:
    """Check exchanges one by one, then each file's sequence of exchanges per profile."""
    result = CheckResult()
    groups: dict[tuple[str | None, str], list[Exchange]] = defaultdict(list)
    for ex in exchanges:
        endpoint = endpoint_of(ex)
        if endpoint is None:
            result.skipped.append((ex, "not a Messages API endpoint"))
            continue
        profile = profile_for(ex, profiles, api_version)
        result.checked += 1
        result.findings.extend(check_exchange(ex, profile))
        groups[(ex.file, profile.version)].append(ex)
    for (_, version), group in groups.items():
        result.findings.extend(check_sequence(group, profiles.get(version)))
    if select:
        result.findings = [f for f in result.findings if selected(f.rule, select)]
    return result
