"""Request validation for the server: profile schemas + the profile's request rules.

One seam (:func:`request_problems`) so the server and the validators judge requests
alike; messages follow the real API's style, ``<dotted.field>: <what is wrong>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from conformance.profiles import Profile
from conformance.schemas import Violation

SHAPE_FOR_ENDPOINT = {"messages": "request", "count_tokens": "count_tokens_request"}


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    field: str
    """Dotted path in the API's style (``messages.0.role``); ``""`` for the body as a whole."""
    message: str

    def render(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


_TYPE_WORDS = {"object": "a valid dictionary", "array": "a valid list", "string": "a valid string",
               "integer": "a valid integer", "number": "a valid number", "boolean": "a valid boolean",
               "null": "None"}


def _problem(v: Violation) -> Problem:
    field = v.dotted
    kw = v.keyword
    if kw == "required":
        missing = v.message.split("'")[1] if v.message.count("'") >= 2 else ""
        return Problem(f"{field}.{missing}".strip("."), "Field required")
    if kw in ("additionalProperties", "unevaluatedProperties"):
        extra = v.message.split("'")[1] if v.message.count("'") >= 2 else ""
        return Problem(f"{field}.{extra}".strip("."), "Extra inputs are not permitted")
    if kw == "type":
        expected = v.expected if isinstance(v.expected, str) else "/".join(map(str, v.expected or ()))
        return Problem(field, f"Input should be {_TYPE_WORDS.get(expected, expected)}")
    if kw in ("enum", "const"):
        values = v.expected if isinstance(v.expected, list) else [v.expected]
        return Problem(field, "Input should be " + " or ".join(repr(x) for x in values))
    if kw in ("minimum", "exclusiveMinimum"):
        op = "greater than or equal to" if kw == "minimum" else "greater than"
        return Problem(field, f"Input should be {op} {v.expected}")
    if kw in ("maximum", "exclusiveMaximum"):
        op = "less than or equal to" if kw == "maximum" else "less than"
        return Problem(field, f"Input should be {op} {v.expected}")
    if kw == "not":
        return Problem(field, "Extra inputs are not permitted")
    return Problem(field, v.message)


def _rule_problems(body: Mapping[str, Any], profile: Profile, endpoint: str) -> list[Problem]:
    """The profile's ``request_rules`` that a schema cannot express."""
    rules = profile.data.get("request_rules") or {}
    out: list[Problem] = []
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        low = rules.get("thinking_budget_tokens_min")
        if isinstance(budget, int) and isinstance(low, int) and budget < low:
            out.append(Problem("thinking.enabled.budget_tokens", f"Input should be greater than or equal to {low}"))
        max_tokens = body.get("max_tokens")
        if (endpoint == "messages" and rules.get("thinking_budget_below_max_tokens") and isinstance(budget, int)
                and isinstance(max_tokens, int) and budget >= max_tokens):
            out.append(Problem("max_tokens", "`max_tokens` must be greater than `thinking.budget_tokens`"))
    return out


def request_problems(body: Any, profile: Profile, endpoint: str) -> list[Problem]:
    """Every reason ``body`` is not a valid request to ``endpoint`` under ``profile``, first one first."""
    shape = SHAPE_FOR_ENDPOINT[endpoint]
    if not isinstance(body, Mapping):
        return [Problem("", "Input should be a valid dictionary")]
    found = [_problem(v) for v in profile.schemas.violations(shape, body)] if profile.schemas.has(shape) else []
    return found + _rule_problems(body, profile, endpoint)
