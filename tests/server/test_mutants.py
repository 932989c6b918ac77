"""Each mutant breaks its contract at the server level, and the faithful server does not (in-process, fast).

Every probe below sends the requests that expose one mutant and returns True when the contract is broken;
the same probe on the unmodified server must return False, so a probe cannot pass by accident. Where the
contract is a rule the validators run on one exchange (or a sequence), the probe asks the rules; where it
is about intent (an invalid request, a wrong key), it looks at the answer directly. The end-to-end proof
(``conformance run --mutant``) is tests/test_mutants.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from conformance.engine import check_sequence
from conformance.findings import Severity
from conformance.profiles import load_profiles
from conformance.server import MUTANTS, ServerConfig, create_app
from conformance.server.mutants import MUTANT_TABLE, MUTANTS_BY_NAME
from conformance.sse import decode_sse
from tests.server.support import BUILD, body, control, exchange_of, findings_of, headers

FREE = "sk-ant-test-free"
TOOL = {"name": "get_weather", "description": "Weather for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _client(mutant: str | None, clock: FakeClock | None = None) -> TestClient:
    config = ServerConfig(mutant=mutant, clock=clock or FakeClock())
    return TestClient(create_app(config), base_url="http://reference.test")


def _error_rules(response: httpx.Response) -> set[str]:
    return {f.rule for f in findings_of(response) if f.severity >= Severity.ERROR and not f.part.startswith("request")}


def _rule_fires(rule: str, send: Callable[[TestClient], httpx.Response]) -> Callable[[TestClient], bool]:
    return lambda c: rule in _error_rules(send(c))


def _post(**extra: Any) -> Callable[[TestClient], httpx.Response]:
    return lambda c: c.post("/v1/messages", headers=headers(), json=body(**extra))


#: thinking + text + tool_use in one answer: enough blocks for every stream mutant to show.
RICH: dict[str, Any] = {"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 1024},
                        "tools": [TOOL], "tool_choice": {"type": "auto"},
                        "messages": [{"role": "user", "content": "What is the weather?"}]}
RICH_STREAM = _post(stream=True, **RICH)


def _no_key(c: TestClient) -> httpx.Response:
    return c.post("/v1/messages", headers=headers(key=None), json=body())


def _status(c: TestClient, hdrs: dict[str, str], payload: Any = None, path: str = "/v1/messages") -> int:
    return c.post(path, headers=hdrs, json=payload if payload is not None else body()).status_code


def _versions_sent(value: str | None) -> Callable[[TestClient], bool]:
    def probe(c: TestClient) -> bool:
        h = headers(version=None)
        if value is not None:
            h["anthropic-version"] = value
        return _status(c, h) == 200
    return probe


def _invalid_answered(accepted: Callable[[int], bool], payload: dict[str, Any],
                      version: str = "2023-06-01") -> Callable[[TestClient], bool]:
    return lambda c: accepted(_status(c, headers(version), payload))


def _models_listed(c: TestClient) -> bool:
    listed = {m["id"] for m in c.get("/v1/models?limit=1000", headers=headers()).json()["data"]}
    return not set(load_profiles().default.model_ids) <= listed


def _counts_disagree(c: TestClient) -> bool:
    b = body()
    counted = c.post("/v1/messages/count_tokens", headers=headers(), json={k: b[k] for k in ("model", "messages")})
    used = c.post("/v1/messages", headers=headers(), json=b).json()["usage"]["input_tokens"]
    return bool(counted.json()["input_tokens"] != used)


def _stream_differs(c: TestClient) -> bool:
    plain = c.post("/v1/messages", headers=headers(), json=body()).json()
    payloads = [orjson.loads(e.data) for e in decode_sse(_post(stream=True)(c).content)]
    text = "".join(p["delta"].get("text", "") for p in payloads if p["type"] == "content_block_delta")
    return bool(text != plain["content"][0]["text"])


def _error_event_type(c: TestClient) -> bool:
    c.post("/_conformance/scenarios", headers=control(c), json={"key": BUILD, "responses": [{"stream_error_after": 3}]})
    return "stream.error-event" in _error_rules(_post(stream=True)(c))


def _overloaded_arrives_as_529(c: TestClient) -> bool:
    c.post("/_conformance/scenarios", headers=control(c), json={"key": BUILD, "responses": [{"status": 529}]})
    return _post()(c).status_code != 529


def _tool_turn(c: TestClient) -> int:
    turns = [{"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                                                "input": {"city": "Paris"}}]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "Sunny"}]}]
    return _status(c, headers(), body(messages=turns, tools=[TOOL]))


def _burst(c: TestClient, n: int) -> list[httpx.Response]:
    return [c.post("/v1/messages", headers=headers(key=FREE), json=body(max_tokens=1)) for _ in range(n)]


def _sequence_rule(rule: str) -> Callable[[TestClient], bool]:
    def probe(c: TestClient) -> bool:
        found = check_sequence([exchange_of(r) for r in _burst(c, 3)], load_profiles().default)
        return rule in {f.rule for f in found if f.severity >= Severity.ERROR}
    return probe


def _limited_rule(rule: str) -> Callable[[TestClient], bool]:
    return lambda c: rule in _error_rules(_burst(c, 6)[-1])


def _retry_after_short(c: TestClient) -> bool:
    clock = FakeClock()
    c = _client(c.app.state.conformance.config.mutant, clock)  # type: ignore[attr-defined]
    limited = _burst(c, 6)[-1]
    assert limited.status_code == 429
    if "retry-after" not in limited.headers:
        return False  # nothing to honour (that is another mutant's break)
    clock.now += float(limited.headers["retry-after"])
    return _burst(c, 1)[0].status_code == 429


PROBES: dict[str, Callable[[TestClient], bool]] = {
    "problem-json-errors": _rule_fires("body.response-schema", _no_key),
    "overloaded-as-503": _overloaded_arrives_as_529,
    "metadata-rejected": lambda c: _status(c, headers(), body(metadata={"user_id": "u-1"})) != 200,
    "metadata-rejected-in-2023-06-01": lambda c: _status(c, headers(), body(metadata={"user_id": "u-1"})) != 200
    and _status(c, headers("2026-10-21"), body(metadata={"user_id": "u-1"})) == 200,
    "tool-result-rejected": lambda c: _tool_turn(c) != 200,
    "wrong-error-type": _rule_fires("error.status-type", _no_key),
    "missing-request-id": _rule_fires("error.request-id-missing", _post()),
    "request-id-mismatch": _rule_fires("error.request-id-match", _no_key),
    "accepts-invalid": _invalid_answered(lambda s: s == 200, body(max_tokens="many")),
    "invalid-5xx": _invalid_answered(lambda s: s >= 500, body(max_tokens="many")),
    "tool-result-unchecked": _invalid_answered(lambda s: s == 200, body(messages=[
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nowhere", "content": "x"}]}])),
    "temperature-accepted": _invalid_answered(lambda s: s == 200, body(temperature=0.5), "2026-10-21"),
    "model-refusals-unchecked": _invalid_answered(lambda s: s == 200, body(
        model="claude-3-haiku-20240307", max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024})),
    "unknown-version-accepted": _versions_sent("1999-01-01"),
    "missing-version-accepted": _versions_sent(None),
    "repeated-version-accepted": _versions_sent("2023-06-01, 2023-06-01"),
    "wrong-key-accepted": lambda c: _status(c, headers(key="sk-ant-api00-nobody")) == 200,
    "bearer-rejected": lambda c: _status(c, headers(bearer=True)) != 200,
    "unknown-model-accepted": lambda c: _status(c, headers(), body(model="claude-nothing-20990101")) == 200,
    "models-list-incomplete": _models_listed,
    "bad-message-id": _rule_fires("message.id-prefix", _post()),
    "stop-sequence-unreported": _rule_fires("message.stop-sequence", _post(stop_sequences=["e"])),
    "max-tokens-exceeded": _rule_fires("message.max-tokens", _post()),
    "tool-use-stop-without-tool": _rule_fires("message.tool-use-last",
                                              _post(tools=[TOOL], tool_choice={"type": "any"})),
    "count-tokens-off": _counts_disagree,
    "no-message-stop": _rule_fires("stream.message-stop", RICH_STREAM),
    "delta-after-stop": _rule_fires("stream.delta-after-stop", RICH_STREAM),
    "overlapping-blocks": _rule_fires("stream.block-order", RICH_STREAM),
    "wrong-delta-type": _rule_fires("stream.delta-type", RICH_STREAM),
    "early-message-delta": _rule_fires("stream.message-delta-order", RICH_STREAM),
    "usage-decreasing": _rule_fires("stream.usage-monotonic", RICH_STREAM),
    "error-event-non-error-type": _error_event_type,
    "event-name-mismatch": _rule_fires("stream.event-name", RICH_STREAM),
    "block-index-gap": _rule_fires("stream.block-index", RICH_STREAM),
    "message-start-twice": _rule_fires("stream.first-event", RICH_STREAM),
    "tool-input-broken": _rule_fires("stream.tool-input-json", RICH_STREAM),
    "stream-differs": _stream_differs,
    "no-retry-after": _limited_rule("ratelimit.retry-after-missing"),
    "no-ratelimit-headers-on-429": _limited_rule("ratelimit.missing-on-429"),
    "remaining-rises": _sequence_rule("ratelimit.remaining-rises"),
    "reset-not-timestamp": _rule_fires("ratelimit.reset-format", _post()),
    "remaining-above-limit": _rule_fires("ratelimit.remaining-above-limit", _post()),
    "retry-after-too-short": _retry_after_short,
}


def test_every_mutant_has_a_probe_and_a_known_rule() -> None:
    from conformance.rules import CATALOGUE

    assert sorted(PROBES) == sorted(MUTANTS)
    known = {r.id for r in CATALOGUE}
    assert [m.name for m in MUTANT_TABLE if m.rule not in known] == []
    assert len(MUTANTS) == len(set(MUTANTS)) >= 20


def test_rich_stream_has_thinking_text_and_tool_use() -> None:
    """The stream the stream probes use holds every block kind a stream mutant acts on."""
    with _client(None) as c:
        content = _post(**RICH)(c).json()["content"]
    assert [b["type"] for b in content] == ["thinking", "text", "tool_use"]


@pytest.mark.parametrize("name", MUTANTS)
def test_mutant_breaks_its_contract_and_the_faithful_server_does_not(name: str) -> None:
    probe = PROBES[name]
    with _client(None) as faithful:
        assert probe(faithful) is False, f"the unmodified server already shows {name}"
    with _client(name) as mutant:
        assert probe(mutant) is True, f"mutant {name} ({MUTANTS_BY_NAME[name].breaks}) did not show its break"


#: Probes another mutant's probe also trips, because that mutant is the general case or a direct consequence.
EXPECTED_OVERLAPS = {
    "accepts-invalid": {"tool-result-unchecked", "temperature-accepted", "model-refusals-unchecked"},  # it accepts all
    "wrong-delta-type": {"stream-differs"},  # text sent as thinking_delta is missing from the streamed text
    "metadata-rejected-in-2023-06-01": {"metadata-rejected"},  # the probe of the general case uses 2023-06-01
}


@pytest.mark.parametrize("name", MUTANTS)
def test_mutant_breaks_no_other_mutants_contract(name: str) -> None:
    """Exactly one contract: every other mutant's probe finds the mutant server faithful."""
    tripped = []
    for other, probe in PROBES.items():
        if other != name:
            with _client(name) as c:
                if probe(c):
                    tripped.append(other)
    assert set(tripped) == EXPECTED_OVERLAPS.get(name, set())


def test_each_mutant_replaces_exactly_one_seam() -> None:
    from conformance.server.behaviour import FAITHFUL, SEAMS

    for m in MUTANT_TABLE:
        changed = [s for s in SEAMS if getattr(m.behaviour, s) is not getattr(FAITHFUL, s)]
        assert changed == [m.seam] and m.seam, (m.name, changed)


def test_the_faithful_server_code_names_no_mutant() -> None:
    """Mutants live in mutants.py alone: the rest of the server reads as the faithful server."""
    from pathlib import Path

    import conformance.server

    server_dir = Path(conformance.server.__file__).parent
    for module in server_dir.glob("*.py"):
        if module.name == "mutants.py":
            continue
        text = module.read_text(encoding="utf-8")
        named = [m.name for m in MUTANT_TABLE if f'"{m.name}"' in text]
        assert named == [], f"{module.name} names mutants {named}"


def test_unknown_mutant_is_an_input_error() -> None:
    from conformance.errors import InputError

    with pytest.raises(InputError, match="unknown mutant 'nope'"):
        ServerConfig(mutant="nope")
