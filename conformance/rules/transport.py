"""How the answer arrived, for exchanges judged live (``conformance proxy``, ``ValidatingTransport``).

A recording holds what arrived; a live exchange can also fail on the way: the connection refused,
reset half-way through a body, or answered with something that is not HTTP. A run judges that against
what its request was sent to provoke (``positive.completed``); an exchange nobody scripted is judged here.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.exchange import Exchange
from conformance.findings import Finding, Severity, error
from conformance.rules.base import Check, Context, RuleInfo

INCOMPLETE = "transport.incomplete"
BODY_NOT_JUDGED = "transport.body-not-judged"

RULES: tuple[RuleInfo, ...] = (
    RuleInfo(INCOMPLETE, Severity.ERROR,
             "the answer arrives whole: the connection is not refused, reset or cut before the response ends"),
    RuleInfo(BODY_NOT_JUDGED, Severity.INFO,
             "a body larger than a live judge keeps is passed on whole, and only the request side is judged"),
)


def answer_arrived_whole(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    # A stall is stream.stalled's; an exchange with an intent is judged by what it was sent to provoke.
    if exchange.transport_error is None or exchange.stalled or exchange.intent is not None:
        return
    where = "before any answer" if exchange.response is None else "before the answer ended"
    yield error(INCOMPLETE, f"the connection failed {where}: {exchange.transport_error}", part="exchange",
                expected="a complete answer", actual=exchange.transport_error)


CHECKS: tuple[Check, ...] = (answer_arrived_whole,)

__all__ = ["BODY_NOT_JUDGED", "CHECKS", "INCOMPLETE", "RULES", "answer_arrived_whole"]
