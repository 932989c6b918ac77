"""Request validation for the server: the very functions the validators use, so the two never drift.

:func:`conformance.rules.requests.request_problems` judges bodies and
:func:`conformance.rules.requests.header_problems` the ``anthropic-version`` header;
their messages are already in the API's style (``messages.0.role: Input should be ...``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance.exchange import Headers
from conformance.profiles import Profile, Profiles
from conformance.rules import requests as request_rules


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    field: str
    """Dotted path in the API's style (``messages.0.role``); ``""`` for the body as a whole."""
    message: str
    """The whole message, field included, as the API words it."""
    keyword: str = ""
    """The JSON Schema keyword that failed, or the cross-field rule (``rules.requests.TOOL_RESULT_UNKNOWN_ID``
    ...): what a caller selects problems by, never the message's wording."""


def request_problems(body: Any, profile: Profile, endpoint: str) -> list[Problem]:
    """Every reason ``body`` is not a valid request to ``endpoint`` under ``profile``, most useful first."""
    return [Problem(v.dotted, v.message, v.keyword)
            for v in request_rules.request_problems(body, profile, endpoint)]


def version_problem(headers: Headers, profiles: Profiles) -> str | None:
    """The API's 400 message for a missing, unknown or duplicated ``anthropic-version``; ``None`` if fine."""
    for v in request_rules.header_problems(headers, profiles):
        if v.keyword != "authentication":
            return v.message
    return None
