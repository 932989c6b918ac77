"""Rules across API versions: the same request sent under two versions, judged against what the profiles predict.

``conformance run --api-version A --api-version B --compare-versions`` sends each request of its version checks
(conformance/suite/test_versions.py) once under A and once under B, tied by ``detail["pair"]`` in their intents.
The prediction is each profile's own verdict on the body (:func:`expected_answer`: the request rules the reference
server and the validators use, then the model table); where the two predictions differ, the changes of
``conformance diff A B`` (:func:`conformance.diff.diff_profiles`) that touch the refused field say why, so a
prediction and an observation are told in the diff's own words:

    versions.unpredicted-change        answered differently although both profiles predict the same answer
                                       (a field accepted under A and refused under B that the diff lists as
                                       unchanged; another status or error type)
    versions.predicted-change-missing  the profiles predict a difference that did not happen (temperature still
                                       accepted under 2026-10-21)
    versions.predicted-change          a predicted difference, seen as predicted (info: reported as expected)

A pair where either answer is transient (429, 503, 529, or no answer) is not comparable and says nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from conformance.diff import Change, diff_profiles
from conformance.exchange import MISSING, Exchange, endpoint_of
from conformance.findings import Finding, Severity, error, info, not_exercised
from conformance.profiles import Profile
from conformance.rules.base import Context, RuleInfo, SequenceCheck
from conformance.rules.errors import error_message_of, error_type_of

UNPREDICTED, MISSING_CHANGE, PREDICTED = ("versions.unpredicted-change", "versions.predicted-change-missing",
                                          "versions.predicted-change")
RULES: tuple[RuleInfo, ...] = (
    RuleInfo(UNPREDICTED, Severity.ERROR,
             "the same request is answered alike under two API versions unless their profiles predict a change"),
    RuleInfo(MISSING_CHANGE, Severity.ERROR,
             "a change between two API versions that their profiles (conformance diff) predict happens"),
    RuleInfo(PREDICTED, Severity.INFO, "a change the profiles predict, seen as predicted (reported as expected)"),
)

PAIR = "pair"
"""The intent detail that ties the two sends of one request (its value names the pair within the check)."""
VERSIONS = "versions"
"""The intent detail holding ``[A, B]``: the order ``conformance diff A B`` is read in."""
REQUEST = "request"
"""The intent detail naming the kind of request (``a valid request of 2023-06-01``, ``invalid: wrong-type``)."""

TRANSIENT = frozenset({429, 503, 529})
"""Statuses that say the target was busy, not how it treats the request: such a pair is not compared."""
_REQUEST_AREAS = {"messages": "request", "count_tokens": "count_tokens_request"}
"""The diff area of each endpoint's request schema."""


@dataclasses.dataclass(frozen=True, slots=True)
class Expected:
    """What a profile predicts for a request: the status, the error type, and why it refuses (path, message)."""

    status: int
    error_type: str | None = None
    reasons: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.status}" + (f" {self.error_type}" if self.error_type else "")


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    status: int | None
    error_type: str | None
    message: str

    def __str__(self) -> str:
        if self.status is None:
            return "no answer"
        return f"{self.status}" + (f" {self.error_type}" if self.error_type else "")

    def shown(self) -> Any:
        return [self.status, self.error_type] if self.error_type else self.status


def expected_answer(profile: Profile, endpoint: str, body: Any) -> Expected:
    """The answer ``profile`` predicts: 400 for a body its request rules refuse, its unknown-model answer for a
    model it does not list, else 200 (the gates after auth and version, in the order the API applies them)."""
    from conformance.rules.requests import request_problems

    problems = request_problems(body, profile, endpoint)
    if problems:
        return Expected(400, "invalid_request_error", tuple((v.path, v.message) for v in problems))
    model = body.get("model") if isinstance(body, dict) else None
    if not profile.knows_model(model):
        unknown = profile.unknown_model
        return Expected(unknown.status, unknown.type, (("$.model", unknown.message(model)),))
    return Expected(200)


def answer_of(exchange: Exchange) -> Answer:
    resp = exchange.response
    if resp is None or resp.status is None:
        return Answer(None, None, "")
    return Answer(resp.status, error_type_of(resp.json), error_message_of(resp.json))


def fits(expected: Expected, answer: Answer) -> bool:
    """Whether the answer is the predicted one (a 2xx for a 200; the status and the error type otherwise)."""
    if answer.status is None:
        return False
    if expected.status == 200:
        return 200 <= answer.status < 300
    return answer.status == expected.status and (expected.error_type is None or answer.error_type ==
                                                 expected.error_type)


def _alike(a: Answer, b: Answer) -> bool:
    if a.status is not None and b.status is not None and 200 <= a.status < 300 and 200 <= b.status < 300:
        return True
    return (a.status, a.error_type) == (b.status, b.error_type)


# -- the diff's words for a predicted difference --------------------------------------------------------------

_CHANGE_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|(\[\*\])|\{([^{}]*)\}")
_BRANCH = re.compile(r"\.(anyOf|oneOf|allOf)\[\d+\]")
_FIELD_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def _field_steps(field_path: str) -> list[str | int]:
    return [int(index) if index else (name or quoted) for name, index, quoted in _FIELD_STEP.findall(field_path)]


def _holds(condition: str, node: Any) -> bool:
    """A condition of a diff path (``{role=assistant}``, ``{not role=system}``, ``{as array}``) on the request."""
    if condition.startswith("not "):
        return not _holds(condition[4:], node)
    if condition.startswith("as "):
        kind = {"array": list, "object": dict, "string": str}.get(condition[3:])
        return kind is None or isinstance(node, kind)
    key, eq, value = condition.partition("=")
    if eq and not condition.startswith("requires "):
        return isinstance(node, dict) and key in node and str(node[key]) == value
    return True


def relation(change_path: str, field_path: str, body: Any) -> str | None:
    """How a diff path relates to a field of ``body``: ``exact``, ``ancestor`` (the change is about a node above the
    field), ``descendant`` (below it), or ``None``: another place, or a condition the request does not meet (a change
    to assistant turns says nothing of a user turn's field)."""
    steps = _field_steps(field_path)
    # diff names an unkeyed branch by its keyword and index (``$.output_format.anyOf[0].schema``): a branch
    # is no step into the request, so it reads as a condition that always holds.
    change_path = _BRANCH.sub(r"{\1}", change_path)
    node, n, at = body, 0, 1 if change_path.startswith("$") else 0
    while at < len(change_path):
        step = _CHANGE_STEP.match(change_path, at)
        if step is None:
            return None  # a path this reading does not know: no claim either way
        at = step.end()
        name, star, condition = step.groups()
        if condition is not None:
            if not _holds(condition, node):
                return None
            continue
        if n == len(steps):
            return "descendant"
        want = steps[n]
        if name is not None and want == name:
            node = node.get(name) if isinstance(node, dict) else None
        elif star is not None and isinstance(want, int):
            node = node[want] if isinstance(node, list) and want < len(node) else None
        else:
            return None
        n += 1
    return "exact" if n == len(steps) else "ancestor"


def same_place(one: str, other: str) -> bool:
    """Whether two fields of a request are the same, or one holds the other (``$.messages[1]``, ``$.messages[1].x``)."""
    a, b = _field_steps(one), _field_steps(other)
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _name(field_path: str) -> str:
    """The last name in a path (``$.messages[1].content[0].citations`` -> ``citations``)."""
    names = [s for s in _field_steps(field_path) if isinstance(s, str)]
    return names[-1] if names else ""


def _value_at(body: Any, field_path: str) -> Any:
    node = body
    for step in _field_steps(field_path):
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
    return node


def explaining(changes: Sequence[Change], field_path: str, body: Any, endpoint: str = "messages") -> list[Change]:
    """The changes of ``conformance diff`` that touch ``field_path`` of ``body``: the endpoint's request schema at
    that place, above it or below it (where ``body`` meets the change's conditions), the version's request rules
    naming the field or its value, or (for ``$.model``) the model table."""
    out = []
    area = _REQUEST_AREAS.get(endpoint)
    name, value = _name(field_path), _value_at(body, field_path)
    named = [f'"{name}"'] if name else []
    if isinstance(value, str) and value:
        named.append(f'"{value}"')
    model = body.get("model") if isinstance(body, dict) else None
    for c in changes:
        if c.area == area:
            if relation(c.path, field_path, body) is not None:
                out.append(c)
        elif c.area == "request_rules" and ((name and name in c.path) or any(n in c.detail for n in named)):
            out.append(c)
        elif c.area == "models" and field_path == "$.model" and c.path == model:
            out.append(c)
    return out


def describe_changes(changes: Sequence[Change]) -> str:
    return "; ".join(f"{c.kind} {c.path}: {c.detail}" for c in changes[:4]) + \
        (f"; and {len(changes) - 4} more" if len(changes) > 4 else "")


# -- one pair ---------------------------------------------------------------------------------------------------

_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*):\s")
_QUOTED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def field_named(message: str) -> str | None:
    """The field an error message names (``metadata: Extra inputs ...``, ``messages.0.role: ...``, ```top_k```),
    as a JSON path; ``None`` when it names none."""
    found = _FIELD.match(message)
    dotted = found.group(1) if found else None
    if dotted is None:
        quoted = _QUOTED.search(message)
        dotted = quoted.group(1) if quoted else None
    if dotted is None:
        return None
    return "$" + "".join(f"[{step}]" if step.isdigit() else f".{step}" for step in dotted.split("."))


@dataclasses.dataclass(frozen=True, slots=True)
class Side:
    version: str
    exchange: Exchange
    expected: Expected
    answer: Answer


def judge_pair(a: Side, b: Side, changes: Sequence[Change], body: Any, endpoint: str = "messages") -> Finding | None:
    """The finding for one request sent under ``a.version`` and ``b.version`` (``None``: alike, as predicted)."""
    busy = [s for s in (a, b) if s.answer.status is None or s.answer.status in TRANSIENT]
    if busy:
        return not_exercised(UNPREDICTED, f"not comparable: {busy[0].answer} under {busy[0].version} says the "
                                          "target was busy, not how it treats the request",
                             part="exchange").located(busy[0].exchange.file, busy[0].exchange.interaction)
    seen = f"{a.answer} under {a.version}, {b.answer} under {b.version}"
    expected = {a.version: str(a.expected), b.version: str(b.expected)}
    actual = {a.version: str(a.answer), b.version: str(b.answer)}
    if (a.expected.status, a.expected.error_type) != (b.expected.status, b.expected.error_type):
        refusing = a if a.expected.status != 200 else b
        path, why = refusing.expected.reasons[0] if refusing.expected.reasons else ("$", "")
        found = explaining(changes, path, body, endpoint)
        why = why[:160] + ("..." if len(why) > 160 else "")
        diff = (f"conformance diff {a.version} {b.version}: {describe_changes(found)}" if found else
                f"no change of conformance diff {a.version} {b.version} names {path}")
        wrong = [s for s in (a, b) if not fits(s.expected, s.answer)]
        if not wrong:
            return info(PREDICTED, f"as predicted: {seen} ({why}) — {diff}", part="request.body", path=path,
                        expected=expected, actual=actual).located(refusing.exchange.file,
                                                                   refusing.exchange.interaction)
        odd = wrong[0]
        other = b if odd is a else a
        named = field_named(odd.answer.message)
        if odd.expected.status == 200 and other not in wrong and named is not None and not same_place(named, path):
            # Refused for another reason than the change (the exchange rules judge that): this pair cannot show
            # whether the predicted change happened.
            return not_exercised(MISSING_CHANGE, f"not comparable: the change at {path} was not reached, the request "
                                                 f"was refused under {odd.version} at {named} "
                                                 f"('{odd.answer.message[:120]}')",
                                 part="request.body", path=path).located(odd.exchange.file, odd.exchange.interaction)
        return error(MISSING_CHANGE, f"{seen}; the profiles predict {a.expected} under {a.version} and "
                                     f"{b.expected} under {b.version} ({why}) — {diff}",
                     part="request.body", path=path, expected=expected,
                     actual=actual).located(odd.exchange.file, odd.exchange.interaction)
    if _alike(a.answer, b.answer):
        return None
    odd = b if fits(a.expected, a.answer) else a
    named = field_named(odd.answer.message) or field_named(a.answer.message if odd is b else b.answer.message)
    touching = explaining(changes, named, body, endpoint) if named else []
    said = f" ('{odd.answer.message[:160]}')" if odd.answer.message else ""
    if named is None:
        diff = ""
    elif touching:
        diff = f"; conformance diff {a.version} {b.version} at {named}: {describe_changes(touching)}"
    else:
        diff = f"; conformance diff {a.version} {b.version} lists no change at {named}"
    return error(UNPREDICTED, f"{seen}{said}; the profiles predict {a.expected} under both{diff}",
                 part="request.body" if named else "exchange", path=named or "$", expected=expected,
                 actual=actual).located(odd.exchange.file, odd.exchange.interaction)


# -- the rule -----------------------------------------------------------------------------------------------------

_DIFFS: dict[tuple[int, int], tuple[Profile, Profile, list[Change]]] = {}


def changes_between(a: Profile, b: Profile) -> list[Change]:
    """``diff_profiles(a, b)``, computed once per pair of profile objects (a run judges many pairs)."""
    key = (id(a), id(b))
    cached = _DIFFS.get(key)
    if cached is None or cached[0] is not a or cached[1] is not b:
        cached = _DIFFS[key] = (a, b, diff_profiles(a, b))
    return cached[2]


def _pairs(exchanges: Sequence[Exchange]) -> dict[str, list[Exchange]]:
    pairs: dict[str, list[Exchange]] = defaultdict(list)
    for ex in exchanges:
        intent = ex.intent
        pair = intent.detail.get(PAIR) if intent is not None else None
        if isinstance(pair, str):
            pairs[pair].append(ex)
    return pairs


def versions_behave_as_predicted(exchanges: Sequence[Exchange], ctx: Context) -> Iterator[Finding]:
    """Each request sent under two versions: answered alike unless the profiles predict otherwise, and changed
    where they do."""
    from conformance.engine import requested_version  # the engine runs the rules: imported when they run

    for group in _pairs(exchanges).values():
        intent = group[0].intent
        order = intent.detail.get(VERSIONS) if intent is not None else None
        by_version = {requested_version(ex): ex for ex in group}  # a retried send: its last attempt answers
        if not isinstance(order, list) or len(order) != 2 or not all(v in by_version for v in order):
            continue
        if not all(isinstance(v, str) and v in ctx.profiles for v in order):
            continue
        pa, pb = ctx.profiles.get(order[0]), ctx.profiles.get(order[1])
        xa, xb = by_version[order[0]], by_version[order[1]]
        body = xa.request.json if xa.request is not None else MISSING
        endpoint = endpoint_of(xa)
        if body is MISSING or endpoint not in ("messages", "count_tokens"):
            continue
        found = judge_pair(Side(pa.version, xa, expected_answer(pa, endpoint, body), answer_of(xa)),
                           Side(pb.version, xb, expected_answer(pb, endpoint, body), answer_of(xb)),
                           changes_between(pa, pb), body, endpoint)
        if found is not None:
            yield found


def judges(rule: str, intent: Mapping[str, Any] | None) -> bool:
    """Whether a versions rule judged an exchange sent with ``intent`` (its JSON form): the pairs' exchanges."""
    detail = intent.get("detail") if isinstance(intent, Mapping) else None
    return isinstance(detail, Mapping) and PAIR in detail


CHECKS: tuple[()] = ()
SEQUENCE_CHECKS: tuple[SequenceCheck, ...] = (versions_behave_as_predicted,)
