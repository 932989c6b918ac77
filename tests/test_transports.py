"""ValidatingTransport: every exchange judged, a stream handed on chunk by chunk before it is judged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest

from conformance import AsyncValidatingTransport, ConformanceFailure, ValidatingTransport
from conformance.cassettes.recorder import make_vcr
from conformance.server import running_server
from tests.test_public_api import BODY, EVENTS, HEADERS, MESSAGE, sse

URL = "https://api.anthropic.com/v1/messages"
SSE_HEADERS = {"content-type": "text/event-stream", "request-id": "req_1"}


class Paced(httpx.SyncByteStream):
    """A body whose every chunk is logged when the transport below hands it on."""

    def __init__(self, chunks: list[bytes], log: list[str]) -> None:
        self.chunks, self.log = chunks, log

    def __iter__(self) -> Iterator[bytes]:
        for n, chunk in enumerate(self.chunks):
            self.log.append(f"sent {n}")
            yield chunk


def streaming(chunks: list[bytes], log: list[str]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=SSE_HEADERS, stream=Paced(chunks, log)))


def test_a_stream_reaches_the_caller_chunk_by_chunk_and_is_judged_after() -> None:
    log: list[str] = []
    body = sse(EVENTS)
    chunks = [body[i:i + 40] for i in range(0, len(body), 40)]
    transport = ValidatingTransport(streaming(chunks, log), on_finding="collect")
    with httpx.Client(transport=transport) as client, \
            client.stream("POST", URL, headers=HEADERS, json={**BODY, "stream": True}) as response:
        for n, chunk in enumerate(response.iter_raw()):
            log.append(f"got {n}")
            assert chunk == chunks[n]  # boundaries kept
    assert log == [step for n in range(len(chunks)) for step in (f"sent {n}", f"got {n}")]
    assert transport.findings == []


def test_raise_fails_at_the_end_of_a_broken_stream_with_the_rule() -> None:
    broken = sse([EVENTS[0], EVENTS[1], dict(EVENTS[1], index=1), *EVENTS[2:]])
    with httpx.Client(transport=ValidatingTransport(streaming([broken], []))) as client, \
            pytest.raises(ConformanceFailure, match=r"stream\.block-order") as failure:
        client.post(URL, headers=HEADERS, json={**BODY, "stream": True})
    assert "stream.block-order" in {f.rule for f in failure.value.findings}


def test_a_client_mistake_is_a_client_finding_and_party_filters_it() -> None:
    answer = httpx.MockTransport(lambda request: httpx.Response(200, headers={"request-id": "r"}, json=MESSAGE))
    everyone = ValidatingTransport(answer, on_finding="collect")
    servers = ValidatingTransport(answer, on_finding="collect", party="server")
    for transport in (everyone, servers):
        with httpx.Client(transport=transport) as client:
            client.post(URL, headers=[*HEADERS.items(), ("anthropic-version", "2023-06-01")], json=BODY)
    assert ("request.version-duplicated", "client") in {(f.rule, f.party) for f in everyone.findings}
    assert servers.findings == []


def test_a_caller_that_stops_reading_early_is_not_blamed_on_the_server() -> None:
    body = sse(EVENTS)
    transport = ValidatingTransport(streaming([body[:50], body[50:]], []), on_finding="collect")
    with httpx.Client(transport=transport) as client, \
            client.stream("POST", URL, headers=HEADERS, json={**BODY, "stream": True}) as response:
        next(response.iter_raw())
    assert transport.findings == []
    assert len(transport.validation.labels) == 1


def test_a_broken_connection_is_judged_and_raised_as_it_was() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    transport = ValidatingTransport(httpx.MockTransport(refuse), on_finding="collect")
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError):
        client.post(URL, headers=HEADERS, json=BODY)
    assert [(f.rule, f.party) for f in transport.findings] == [("transport.incomplete", "server")]


def test_warn_issues_one_warning_per_finding() -> None:
    answer = httpx.MockTransport(lambda request: httpx.Response(200, headers={"request-id": "r"}, json={"id": "x"}))
    with httpx.Client(transport=ValidatingTransport(answer, on_finding="warn")) as client, \
            pytest.warns(UserWarning, match=r"body\.response-schema") as caught:
        client.post(URL, headers=HEADERS, json=BODY)
    assert len(caught) == 7 and all("server" in str(w.message) for w in caught)


def test_what_it_prints_never_holds_the_key() -> None:
    key = "sk-ant-api03-" + "k" * 40
    echo = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"request-id": "r", "x-api-key": request.headers["x-api-key"]},
        json={"echo": request.headers["x-api-key"], "b64": "czAtYW50LWFwaTAz"}))
    transport = ValidatingTransport(echo, on_finding="collect")
    with httpx.Client(transport=transport) as client:
        client.post(URL, headers={**HEADERS, "x-api-key": key}, json=BODY)
    text = transport.validation.render()
    assert transport.findings and key not in text and key[:20] not in text


def test_the_options_are_named_when_wrong() -> None:
    with pytest.raises(ValueError, match="on_finding must be one of 'raise', 'collect', 'warn'"):
        ValidatingTransport(on_finding="explode")


def test_the_default_transport_against_the_reference_server() -> None:
    transport = ValidatingTransport()
    with running_server() as url, httpx.Client(transport=transport, base_url=url) as client:
        ok = client.post("/v1/messages", headers=HEADERS, json=BODY)
        assert ok.status_code == 200 and ok.json()["content"]
        with client.stream("POST", "/v1/messages", headers=HEADERS, json={**BODY, "stream": True}) as stream:
            assert b"message_stop" in b"".join(stream.iter_raw())
    assert [f for f in transport.findings if f.severity >= 1] == []


def test_a_vcrpy_patched_transport_replays_and_is_judged(tmp_path) -> None:
    recorder = make_vcr(tmp_path, "once", secrets=[])
    with running_server() as url:
        with recorder.use_cassette("replayed"), httpx.Client(base_url=url) as client:
            client.post("/v1/messages", headers=HEADERS, json=BODY)
    transport = ValidatingTransport(on_finding="collect")
    with recorder.use_cassette("replayed"), httpx.Client(transport=transport, base_url=url) as client:
        replayed = client.post("/v1/messages", headers=HEADERS, json=BODY)
    assert replayed.json()["type"] == "message"
    assert len(transport.validation.labels) == 1 and [f for f in transport.findings if f.severity >= 1] == []


class AsyncPaced(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await asyncio.sleep(0)
            yield chunk


def test_the_async_transport_judges_an_async_client() -> None:
    broken = sse([e for e in EVENTS if e["type"] != "message_stop"])

    async def handler(request: httpx.Request) -> httpx.Response:
        if orjson.loads(request.content).get("stream"):
            return httpx.Response(200, headers=SSE_HEADERS, stream=AsyncPaced([broken[:30], broken[30:]]))
        return httpx.Response(200, headers={"request-id": "r"}, json=MESSAGE)

    async def main() -> AsyncValidatingTransport:
        transport = AsyncValidatingTransport(httpx.MockTransport(handler), on_finding="collect")
        async with httpx.AsyncClient(transport=transport) as client:
            await client.post(URL, headers=HEADERS, json=BODY)
            async with client.stream("POST", URL, headers=HEADERS, json={**BODY, "stream": True}) as response:
                async for _ in response.aiter_raw():
                    pass
        return transport

    transport = asyncio.run(main())
    assert [f.rule for f in transport.findings] == ["stream.message-stop"]
    assert len(transport.validation.labels) == 2
