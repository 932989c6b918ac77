"""Run the rule tables over exchanges: pick the profile, skip what is not ours, locate findings.

The engine knows nothing about any one rule. It decides which exchanges the
rules apply to (the Messages API endpoints; not a captured stream of another
API's events, see :func:`foreign_stream`), which profile each one is judged
by, stamps every finding with where it came from and whose fault it is (the
rule's party), and turns a client's mistake that the server rejected as the API
does into a warning (``request.rejected-as-expected``): the server did its job.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from conformance.errors import InputError
from conformance.exchange import Exchange, StreamEvent, endpoint_of
from conformance.findings import CLIENT, PARTIES, Finding, Severity
from conformance.profiles import Profile, Profiles, load_profiles
from conformance.rules import EXCHANGE_CHECKS, INTERNAL, SEQUENCE_CHECKS, party_of
from conformance.rules.base import Check, Context, SequenceCheck
from conformance.rules.errors import TypeMatch, error_type_matches_status, error_type_of
from conformance.rules.requests import REJECTED_AS_EXPECTED
from conformance.rules.stream import GRAMMAR_EVENTS


def requested_version(exchange: Exchange) -> str | None:
    """The first ``anthropic-version`` value the request sent, if any."""
    if exchange.request is None:
        return None
    value = exchange.request.headers.get("anthropic-version")
    if value is None:
        return None
    return value.split(",")[0].strip() or None


def profile_for(exchange: Exchange, profiles: Profiles, override: str | None = None,
                fallback: Profile | None = None) -> Profile:
    """``override`` if given, else the version the request sent (when known), else ``fallback`` or the default."""
    if override is not None:
        return profiles.get(override)
    sent = requested_version(exchange)
    if sent is not None and sent in profiles:
        return profiles.get(sent)
    return fallback if fallback is not None else profiles.default


def context(profile: Profile, profiles: Profiles | None = None, *, deterministic: bool = False,
            live_clock: bool = True) -> Context:
    """A :class:`Context` for ``profile`` (the packaged version table unless one is given)."""
    return Context(profile, profiles if profiles is not None else load_profiles(), deterministic=deterministic,
                   live_clock=live_clock)


def _context(judge: Context | Profile) -> Context:
    return judge if isinstance(judge, Context) else context(judge)


def _internal(check: Callable[..., object], exc: BaseException) -> Finding:
    # A rule that crashes is a bug of the suite; say so loudly instead of hiding the exchange.
    name = getattr(check, "__qualname__", repr(check))
    return Finding(INTERNAL.id, Severity.ERROR,
                   f"check {name} crashed: {type(exc).__name__}: {exc} (a bug in the suite; please report it)")


def _with_party(findings: Iterable[Finding]) -> list[Finding]:
    return [dataclasses.replace(f, party=party_of(f.rule)) for f in findings]


def _rejected_as_expected(findings: list[Finding], exchange: Exchange, profile: Profile) -> list[Finding]:
    """A client error the server answered with a documented rejection becomes a client warning.

    For the server that exchange is conformant; for the client it is still a mistake (often a
    deliberate one, in a test), worth a warning that names the original rule.
    """
    resp = exchange.response
    if resp is None or resp.status is None or not 400 <= resp.status < 500:
        return findings
    etype = error_type_of(resp.json)
    if etype is None or error_type_matches_status(profile, resp.status, etype) is not TypeMatch.MATCH:
        return findings
    out = []
    for f in findings:
        if f.party == CLIENT and f.severity >= Severity.ERROR:
            f = dataclasses.replace(f, rule=REJECTED_AS_EXPECTED, severity=Severity.WARNING,
                                    message=f"{f.rule}: {f.message} (the server rejected it with {resp.status} "
                                            f"{etype}, as the API does)")
        out.append(f)
    return out


def check_exchange(exchange: Exchange, judge: Context | Profile,
                   checks: Sequence[Check] = EXCHANGE_CHECKS) -> list[Finding]:
    """Every finding of every check on one exchange, located at its file and interaction, with its party."""
    ctx = _context(judge)
    out: list[Finding] = []
    for check in checks:
        try:
            out.extend(check(exchange, ctx))
        except InputError:
            raise  # the input broke while being read (a stream read from disk): not the check's fault
        except Exception as exc:
            out.append(_internal(check, exc))
    return stamped(out, exchange, ctx.profile)


def stamped(findings: Iterable[Finding], exchange: Exchange, profile: Profile) -> list[Finding]:
    """Rule findings about ``exchange`` as every report reads them: each with its party, a client mistake the
    server rejected as the API does turned into ``request.rejected-as-expected``, located at the exchange.

    :func:`check_exchange` stamps everything it found; a stream judged live (:mod:`conformance.live`) stamps
    the findings of its events as they pass, before the exchange is whole."""
    out = _rejected_as_expected(_with_party(findings), exchange, profile)
    intent = exchange.intent
    if intent is not None and intent.expects_rejection:
        # Wrong on purpose (a run's negative checks): the request side is the point, not a finding.
        out = [f for f in out if f.party != CLIENT]
    return [f.located(exchange.file, exchange.interaction) for f in out]


def check_sequence(exchanges: Sequence[Exchange], judge: Context | Profile,
                   checks: Sequence[SequenceCheck] = SEQUENCE_CHECKS) -> list[Finding]:
    ctx = _context(judge)
    out: list[Finding] = []
    for check in checks:
        try:
            out.extend(check(exchanges, ctx))
        except Exception as exc:
            out.append(_internal(check, exc))
    return _with_party(out)


def _matches(rule: str, names: Sequence[str]) -> bool:
    return any(rule == s or rule.startswith(s.rstrip(".") + ".") for s in names)


def selected(rule: str, select: Sequence[str] | None, ignore: Sequence[str] | None = None) -> bool:
    """``--select`` keeps a rule id given exactly or by its area (``stream`` or ``stream.``); ``--ignore``
    drops one the same way, and wins."""
    if ignore and _matches(rule, ignore):
        return False
    return not select or _matches(rule, select)


def parties(party: str) -> frozenset[str]:
    """The parties a ``--party`` value selects: ``client``, ``server`` or ``all``."""
    if party == "all":
        return frozenset(PARTIES)
    if party not in PARTIES:
        raise ValueError(f"party must be client, server or all, not {party!r}")
    return frozenset({party})


FOREIGN_LOOK = 16
"""How many events of a captured stream :func:`foreign_stream` reads: a Messages stream names itself at once."""


def foreign_stream(exchange: Exchange) -> str | None:
    """Why a captured stream is clearly another API's (OpenAI chat completion chunks, a ``[DONE]`` sentinel,
    Responses API or Gemini events), or ``None``.

    Only for captures (no request recorded), which :func:`~conformance.exchange.endpoint_of` takes for
    Messages responses: a stream answered to a request for ``/v1/messages`` is judged whatever it holds.
    One event of the Messages stream grammar (``message_start``, ``ping``, ``error``, ...) among the first
    :data:`FOREIGN_LOOK` makes it a Messages stream; events of unknown types are no sign either way.
    """
    if (exchange.request is not None and exchange.request.url) or not exchange.is_stream:
        return None
    signs: list[str] = []
    for event in _first_events(exchange, FOREIGN_LOOK):
        if event.type in GRAMMAR_EVENTS:
            return None
        sign = _foreign_sign(event)
        if sign is not None and sign not in signs:
            signs.append(sign)
    return ", ".join(signs) or None


def _first_events(exchange: Exchange, count: int) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    # Closed when done: a capture read from disk is not read past its first batch.
    with contextlib.closing(exchange.event_batches()) as batches:
        for batch in batches:
            out.extend(batch[:count - len(out)])
            if len(out) >= count:
                break
    return out


def _foreign_sign(event: StreamEvent) -> str | None:
    """What marks ``event`` as another API's, in a few words (``None``: nothing does)."""
    if event.data.strip() == "[DONE]":
        return "a data: [DONE] sentinel"
    payload = event.payload
    if not isinstance(payload, dict):
        return None
    kind, obj = payload.get("type"), payload.get("object")
    if isinstance(obj, str) and obj.startswith(("chat.completion", "text_completion")):
        return f"OpenAI {obj} events"
    if kind is None and isinstance(payload.get("choices"), list):
        return "OpenAI chat completion chunks"
    if isinstance(kind, str) and kind.startswith("response."):
        return "OpenAI Responses API events"
    if kind is None and isinstance(payload.get("candidates"), list):
        return "Gemini generateContent chunks"
    return None


@dataclasses.dataclass
class CheckResult:
    findings: list[Finding] = dataclasses.field(default_factory=list)
    checked: int = 0
    skipped: list[tuple[Exchange, str]] = dataclasses.field(default_factory=list)


def check_exchanges(exchanges: Iterable[Exchange], profiles: Profiles, *, api_version: str | None = None,
                    select: Sequence[str] | None = None, party: str = "all",
                    ignore: Sequence[str] | None = None) -> CheckResult:
    """Check exchanges one by one, then each file's sequence of exchanges per profile."""
    result = CheckResult()
    groups: dict[tuple[str | None, str], list[Exchange]] = defaultdict(list)
    base = Context(profiles.default, profiles, live_clock=False)
    for ex in exchanges:
        endpoint = endpoint_of(ex)
        if endpoint is None:
            result.skipped.append((ex, "not a Messages API endpoint"))
            continue
        foreign = foreign_stream(ex)
        if foreign is not None:
            result.skipped.append((ex, f"not a Messages API stream ({foreign})"))
            continue
        profile = profile_for(ex, profiles, api_version)
        result.checked += 1
        result.findings.extend(check_exchange(ex, base.with_profile(profile)))
        groups[(ex.file, profile.version)].append(ex)
    for (_, version), group in groups.items():
        result.findings.extend(check_sequence(group, base.with_profile(profiles.get(version))))
    wanted = parties(party)
    result.findings = [f for f in result.findings if selected(f.rule, select, ignore) and f.party in wanted]
    return result
