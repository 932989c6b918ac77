"""What each check may spend on a live target, to say before a run whether it fits its caps.

Upper bounds per run of a check (per Hypothesis example for the generated ones): requests sent, and
tokens a real model could bill (input plus the output its ``max_tokens`` allows). A rejected request
costs no tokens. ``conformance run`` adds these up over the selected checks and prints the estimate
against ``--max-requests`` and ``--max-tokens`` before anything is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from conformance.intent import check_id


@dataclasses.dataclass(frozen=True, slots=True)
class Cost:
    requests: int
    tokens: int
    per_example: bool = False
    """Spent once per Hypothesis example (``--max-examples`` times), not once per check."""


VERSION_PROBE = -1
"""A request count that means: one per version in the table."""

COSTS: dict[str, Cost] = {
    # test_messages: plain, streamed and counted; generated bodies ask for at most 256 tokens (1024 more
    # while thinking) and hold a few hundred input tokens.
    "test_valid_requests_get_valid_messages": Cost(3, 2 * 1300 + 3 * 400, per_example=True),
    "test_a_many_block_answer_streams_in_order": Cost(3, 2 * 4096 + 3 * 200),
    "test_the_common_parameters_are_honoured": Cost(3, 2 * 64 + 3 * 100),
    "test_invalid_requests_get_400": Cost(1, 0, per_example=True),
    "test_missing_key_gets_401": Cost(1, 0),
    "test_wrong_key_gets_401": Cost(1, 0),
    "test_auth_styles_follow_the_profile": Cost(1, 30),
    "test_bad_versions_get_400": Cost(1, 0),
    "test_every_version_in_the_table_is_probed": Cost(VERSION_PROBE, 30),
    "test_unknown_model_gets_404": Cost(1, 0),
    "test_models_list_holds_the_profile_models": Cost(2, 0),
    "test_models_list_refuses_a_bad_limit": Cost(1, 0),
    "test_tool_conversation_over_several_turns": Cost(3, 3 * (64 + 400)),
    "test_scripted_http_errors_map_status_to_type": Cost(1, 30),
    "test_mid_stream_error_event_ends_the_stream": Cost(1, 30),
    "test_unknown_event_types_are_tolerated": Cost(1, 30),
    "test_burst_reaches_the_limit_and_retry_after_is_honoured": Cost(13, 13 * 20),
    # test_versions (--compare-versions): each request once under each of the two versions, never streamed.
    "test_the_common_parameters_under_both_versions": Cost(4, 4 * (64 + 100)),
    "test_generated_requests_under_both_versions": Cost(6, 4 * (256 + 400), per_example=True),
    "test_version_rejections_under_both_versions": Cost(2, 256 + 400, per_example=True),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Estimate:
    checks: int
    requests: int
    tokens: int
    unknown: tuple[str, ...] = ()
    """Checks with no cost entry (counted as one request)."""


def estimate(nodeids: Iterable[str], *, examples: int, versions: int) -> Estimate:
    """The most the checks ``nodeids`` may spend (their function name picks their :data:`COSTS` entry)."""
    checks = requests = tokens = 0
    unknown: list[str] = []
    for nodeid in nodeids:
        name = check_id(nodeid).split("::", 1)[-1].split("[", 1)[0]
        cost = COSTS.get(name)
        checks += 1
        if cost is None:
            unknown.append(name)
            requests += 1
            continue
        times = examples if cost.per_example else 1
        sends = versions if cost.requests == VERSION_PROBE else cost.requests
        requests += times * sends
        tokens += times * (versions if cost.requests == VERSION_PROBE else 1) * cost.tokens
    return Estimate(checks, requests, tokens, tuple(sorted(set(unknown))))
