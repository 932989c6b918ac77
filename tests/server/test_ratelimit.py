"""Rate limits: per-key buckets per tier, the profile's header names, 429 with retry-after."""

from __future__ import annotations

from conformance.engine import check_sequence
from conformance.profiles import load_profiles
from conformance.server import KeySpec, ServerConfig
from tests.server.support import body, error_of, exchange_of, findings_of, headers

FREE = "sk-ant-test-free"


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_anthropic_family_headers_count_down(client):
    p = load_profiles().get("2023-06-01")
    names = {r.name: r for r in p.rate_limits.resources}
    seen = []
    for _ in range(3):
        r = client.post("/v1/messages", headers=headers(), json=body())
        assert r.status_code == 200
        seen.append(int(r.headers[names["requests"].remaining]))
        assert r.headers[names["requests"].limit] == str(p.tier("build").requests_per_minute)
        assert r.headers[names["requests"].reset].endswith("Z")
    assert seen == [49, 48, 47]


def test_reference_version_uses_x_ratelimit_names(client):
    r = client.post("/v1/messages", headers=headers("2024-01-01"), json=body())
    assert r.headers["x-ratelimit-limit-requests"] == "50"
    assert r.headers["x-ratelimit-remaining-requests"] == "49"
    # The document's single tokens-per-minute figure for Build, spent by this request's input and output.
    assert r.headers["x-ratelimit-limit-tokens"] == "100000"
    usage = r.json()["usage"]
    assert int(r.headers["x-ratelimit-remaining-tokens"]) == 100000 - usage["input_tokens"] - usage["output_tokens"]
    assert not any(n.startswith("anthropic-ratelimit") for n in r.headers)


def test_free_tier_gets_429_after_five_requests_and_recovers_after_reset(make_client):
    clock = FakeClock()
    c = make_client(ServerConfig(clock=clock))
    responses = [c.post("/v1/messages", headers=headers(key=FREE), json=body()) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    clock.now += 10
    limited = c.post("/v1/messages", headers=headers(key=FREE), json=body())
    assert limited.status_code == 429
    assert error_of(limited)[0] == "rate_limit_error"
    assert limited.headers["retry-after"] == "50"
    assert limited.headers["x-should-retry"] == "true"
    assert limited.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert findings_of(limited) == []
    exchanges = [exchange_of(r) for r in [*responses, limited]]
    assert check_sequence(exchanges, load_profiles().default) == []
    # Other keys are not affected.
    assert c.post("/v1/messages", headers=headers(), json=body()).status_code == 200
    clock.now += 51
    again = c.post("/v1/messages", headers=headers(key=FREE), json=body())
    assert again.status_code == 200
    assert again.headers["anthropic-ratelimit-requests-remaining"] == "4"


def test_input_token_bucket_limits_big_requests(make_client):
    from conformance.server.config import DEFAULT_KEYS

    keys = {**DEFAULT_KEYS, "sk-small": KeySpec("free")}
    c = make_client(ServerConfig(keys=keys))
    huge = body(" ".join(["word"] * 25_000))
    r = c.post("/v1/messages", headers=headers(key="sk-small"), json=huge)
    assert r.status_code == 429 and "input tokens" in error_of(r)[1]
    assert int(r.headers["retry-after"]) >= 1


def test_count_tokens_and_models_carry_the_headers_without_spending(client):
    for _ in range(3):
        r = client.post("/v1/messages/count_tokens", headers=headers(), json={"model": body()["model"],
                                                                              "messages": body()["messages"]})
        assert r.headers["anthropic-ratelimit-requests-remaining"] == "50"
    assert client.get("/v1/models", headers=headers()).headers["anthropic-ratelimit-requests-limit"] == "50"
