"""Rate-limit headers, in the profile's naming (``anthropic-ratelimit-*`` or ``x-ratelimit-*``).

Per response: counts are integers, ``remaining <= limit``, ``reset`` is RFC 3339,
``retry-after`` is a non-negative number of seconds and is there on every 429.
Across the responses of one file and key: ``remaining`` does not rise while the
window (the ``reset`` value) stays the same.

Real traffic bends this in known ways, none of them violations: header families
vary and some 200s carry none; ``retry-after`` turns up on 200s; recorders scrub
values to placeholders (``ANTHROPIC-RATELIMIT-TOKENS-LIMIT-XXX``), reported as
``ratelimit.redacted``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence

from conformance.exchange import Exchange, Headers
from conformance.findings import Finding, Severity, error, info, warning
from conformance.profiles import RateLimitHeaders
from conformance.rules.base import Check, Context, RuleInfo, SequenceCheck

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("ratelimit.integer", Severity.ERROR, "rate-limit counts are non-negative integers"),
    RuleInfo("ratelimit.remaining-above-limit", Severity.ERROR, "remaining never exceeds limit"),
    RuleInfo("ratelimit.reset-format", Severity.ERROR, "reset is an RFC 3339 timestamp"),
    RuleInfo("ratelimit.retry-after-format", Severity.ERROR, "retry-after is a non-negative number of seconds"),
    RuleInfo("ratelimit.retry-after-missing", Severity.ERROR, "a 429 carries retry-after"),
    RuleInfo("ratelimit.missing-on-429", Severity.ERROR, "a 429 carries the profile's rate-limit headers"),
    RuleInfo("ratelimit.partial", Severity.WARNING, "a resource's limit, remaining and reset come together"),
    RuleInfo("ratelimit.other-family", Severity.INFO, "rate-limit headers of another profile's naming"),
    RuleInfo("ratelimit.redacted", Severity.INFO, "values scrubbed by a recorder, not checked"),
    RuleInfo("ratelimit.remaining-rises", Severity.ERROR,
             "within one window (same reset) remaining does not rise from one response to the next"),
)

_REDACTED = re.compile(r"(?:^|[-_ ])X{3,}$|^\*+$|redacted|<scrubbed>|^filtered$", re.IGNORECASE)
_INTEGER = re.compile(r"^[0-9]+$")
_SECONDS = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$")


def header_path(name: str) -> str:
    """The JSON path of a header in the ``*.headers`` part (names hold hyphens, so bracket form)."""
    return f"$['{name.lower()}']"


def is_redacted(value: str) -> bool:
    """A placeholder a recorder wrote in place of the real value (``REQUEST-ID-XXX``)."""
    return bool(_REDACTED.search(value.strip()))


def is_rfc3339(value: str) -> bool:
    text = value.strip()
    if not _RFC3339.match(text):
        return False
    try:
        dt.datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False  # well-formed but impossible (month 13, hour 25 ...)
    return True


def _other_family_names(headers: Headers, rl: RateLimitHeaders) -> list[str]:
    ours = rl.all_names()
    prefixes = ("anthropic-ratelimit-", "x-ratelimit-")
    return sorted({n for n in headers.names() if n.startswith(prefixes) and n not in ours})


def rate_limit_headers_are_well_formed(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    resp = exchange.response
    if resp is None:
        return
    headers = resp.headers
    rl = profile.rate_limits
    if resp.status != 429 and not any("ratelimit" in n or n == rl.retry_after for n in headers.names()):
        return  # nothing to judge (most recorded 200s of streams carry no rate-limit header)
    redacted: list[str] = []

    def value(name: str | None) -> str | None:
        if name is None:
            return None
        v = headers.get(name)
        if v is not None and is_redacted(v):
            redacted.append(name)
            return None
        return v

    any_present = False
    for res in rl.resources:
        names = {"limit": res.limit, "remaining": res.remaining, "reset": res.reset}
        present = {k: n for k, n in names.items() if n is not None and n in headers}
        any_present = any_present or bool(present)
        if present and len(present) != sum(1 for n in names.values() if n is not None):
            missing = sorted(n for k, n in names.items() if n is not None and k not in present)
            yield warning("ratelimit.partial", f"rate-limit resource {res.name!r} lacks {', '.join(missing)}",
                          path=header_path(missing[0]), part="response.headers", expected=missing)
        counts: dict[str, int] = {}
        for key in ("limit", "remaining"):
            name = names[key]
            raw = value(name)
            if raw is None or name is None:
                continue
            if _INTEGER.match(raw.strip()):
                counts[key] = int(raw.strip())
            else:
                yield error("ratelimit.integer", f"{name} is not a non-negative integer",
                            path=header_path(name), part="response.headers", expected="integer >= 0", actual=raw)
        if "limit" in counts and "remaining" in counts and counts["remaining"] > counts["limit"]:
            yield error("ratelimit.remaining-above-limit",
                        f"{res.remaining} ({counts['remaining']}) exceeds {res.limit} ({counts['limit']})",
                        path=header_path(res.remaining), part="response.headers",
                        expected=f"<= {counts['limit']}", actual=counts["remaining"])
        reset = value(res.reset)
        if reset is not None and res.reset is not None and not is_rfc3339(reset):
            yield error("ratelimit.reset-format", f"{res.reset} is not an RFC 3339 timestamp",
                        path=header_path(res.reset), part="response.headers", expected="RFC 3339", actual=reset)

    retry_name = rl.retry_after
    retry = value(retry_name)
    if retry is not None and not _SECONDS.match(retry.strip()):
        yield error("ratelimit.retry-after-format", f"{retry_name} is not a non-negative number of seconds",
                    path=header_path(retry_name), part="response.headers", expected="seconds >= 0", actual=retry)
    if resp.status == 429 and exchange.response_headers_complete:
        if retry_name not in headers:
            yield error("ratelimit.retry-after-missing", f"a 429 without {retry_name}",
                        path=header_path(retry_name), part="response.headers", expected="seconds >= 0")
        if not any_present and rl.resources:
            yield error("ratelimit.missing-on-429", f"a 429 without any {rl.family} rate-limit header",
                        path="$", part="response.headers",
                        expected=sorted(rl.all_names() - {retry_name}))
    others = _other_family_names(headers, rl)
    if others:
        yield info("ratelimit.other-family",
                   f"rate-limit headers outside profile {profile.version}'s {rl.family} naming",
                   path=header_path(others[0]), part="response.headers", actual=others)
    if redacted:
        yield info("ratelimit.redacted", f"{len(redacted)} rate-limit value(s) scrubbed by the recorder",
                   path=header_path(redacted[0]), part="response.headers", actual=redacted)


def _sequence_key(exchange: Exchange) -> tuple[str | None, str | None]:
    req = exchange.request
    key = None
    if req is not None:
        key = req.headers.get("x-api-key") or req.headers.get("authorization")
    return exchange.file, key


def remaining_does_not_rise_within_a_window(exchanges: Sequence[Exchange], ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    if len(exchanges) < 2:
        return  # a rise needs two responses
    rl = profile.rate_limits
    # (file, key, resource) -> (reset, remaining) of the previous response that had both
    last: dict[tuple[str | None, str | None, str], tuple[str, int]] = {}
    for ex in exchanges:
        resp = ex.response
        if resp is None:
            continue
        group = _sequence_key(ex)
        for res in rl.resources:
            if res.reset is None:
                continue
            reset, remaining = resp.headers.get(res.reset), resp.headers.get(res.remaining)
            if reset is None or remaining is None or is_redacted(reset) or not _INTEGER.match(remaining.strip()):
                continue
            now = (reset.strip(), int(remaining.strip()))
            k = (*group, res.name)
            before = last.get(k)
            if before is not None and before[0] == now[0] and now[1] > before[1]:
                yield error("ratelimit.remaining-rises",
                            f"{res.remaining} rose from {before[1]} to {now[1]} within the window ending {now[0]}",
                            path=header_path(res.remaining), part="sequence",
                            expected=f"<= {before[1]}", actual=now[1]).located(ex.file, ex.interaction)
            last[k] = now


CHECKS: tuple[Check, ...] = (rate_limit_headers_are_well_formed,)
SEQUENCE_CHECKS: tuple[SequenceCheck, ...] = (remaining_does_not_rise_within_a_window,)
