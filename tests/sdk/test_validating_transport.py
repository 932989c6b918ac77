"""The example in the README, for real: the official Python SDK over ValidatingTransport.

Against the reference server every call (create, stream, tools, count_tokens, models) is conformant;
against a mutant the transport names the mutant's rule.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx2
import pytest

from conformance import ConformanceFailure, Finding, ValidatingTransport
from conformance.server import ServerConfig, running_server
from tests.sdk.conftest import KEY

pytestmark = pytest.mark.sdk

MODEL = "claude-sonnet-4-20250514"
HELLO = [{"role": "user", "content": "Hello, Claude"}]
WEATHER = {"name": "get_weather", "description": "The weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def sdk(url: str, transport: ValidatingTransport) -> anthropic.Anthropic:
    # The official SDK 2.x is built on httpx2; ValidatingTransport serves httpx and httpx2 clients alike.
    return anthropic.Anthropic(api_key=KEY, base_url=url, max_retries=0,
                               http_client=httpx2.Client(transport=transport))


def every_call(client: anthropic.Anthropic) -> None:
    client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        assert "".join(stream.text_stream)
    for _event in client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, stream=True):
        pass
    client.messages.count_tokens(model=MODEL, messages=HELLO)
    asked = client.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER], tool_choice={"type": "any"},
                                   messages=[{"role": "user", "content": "Weather in Paris?"}])
    call = next(b for b in asked.content if b.type == "tool_use")
    client.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER], messages=[
        {"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": asked.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]}])
    assert [m.id for m in client.models.list()]


def test_the_sdk_against_the_reference_server_has_no_findings(server: str) -> None:
    transport = ValidatingTransport()  # raises at the first exchange with an error finding
    client = sdk(server, transport)
    every_call(client)
    client.close()
    assert [f for f in transport.findings if f.severity >= 1] == [], transport.validation.render()
    assert len(transport.validation.labels) == 8


@pytest.fixture
def mutant(request: pytest.FixtureRequest) -> Iterator[str]:
    with running_server(ServerConfig(mutant=request.param)) as url:
        yield url


@pytest.mark.parametrize("mutant", ["wrong-delta-type"], indirect=True)
def test_a_mutant_server_fails_with_its_rule(mutant: str) -> None:
    client = sdk(mutant, ValidatingTransport())
    with pytest.raises(ConformanceFailure) as failure, \
            client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        for _text in stream.text_stream:
            pass
    assert {f.rule for f in failure.value.findings} == {"stream.delta-type"}
    assert "stream.delta-type" in str(failure.value) and "server" in str(failure.value)


@pytest.mark.parametrize("mutant", ["bad-message-id"], indirect=True)
def test_collect_keeps_the_findings_of_a_plain_answer(mutant: str) -> None:
    transport = ValidatingTransport(on_finding="collect")
    message = sdk(mutant, transport).messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert message.content  # the SDK got its answer untouched
    found: list[Finding] = transport.findings
    assert [(f.rule, f.party) for f in found] == [("message.id-prefix", "server")]


@pytest.mark.parametrize("mutant", ["wrong-delta-type"], indirect=True)
def test_warn_names_the_rule_of_a_broken_stream(mutant: str) -> None:
    client = sdk(mutant, ValidatingTransport(on_finding="warn"))
    with pytest.warns(UserWarning, match=r"stream\.delta-type"), \
            client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        assert stream.get_final_message().content


def test_the_async_sdk_over_the_async_transport(server: str) -> None:
    import asyncio

    from conformance import AsyncValidatingTransport

    async def main() -> AsyncValidatingTransport:
        transport = AsyncValidatingTransport()
        client = anthropic.AsyncAnthropic(api_key=KEY, base_url=server, max_retries=0,
                                          http_client=httpx2.AsyncClient(transport=transport))
        await client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
            assert (await stream.get_final_message()).content
        await client.close()
        return transport

    transport = asyncio.run(main())
    assert len(transport.validation.labels) == 2
    assert [f for f in transport.findings if f.severity >= 1] == []
