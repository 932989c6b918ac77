"""The proxy under hostile conditions, in-process: a broken upstream, a client that leaves, a slow-loris
client, oversized requests, 200 simultaneous streams, keys echoed back; and --annotate."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from pathlib import Path

import httpx
import pytest

from conformance.proxy import ProxyOptions, running_proxy
from tests.gateway import echoed_forms
from tests.proxy_upstream import MESSAGE, events, hostile_upstream

HEADERS = {"x-api-key": "sk-ant-test-scale", "anthropic-version": "2023-06-01", "content-type": "application/json"}
BODY = {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


def post(url: str, mode: str = "ok", **kw: object) -> httpx.Response:
    return httpx.post(url + "/v1/messages", headers={**HEADERS, "x-test-mode": mode}, json=BODY, timeout=30, **kw)


def closed_port() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_a_refused_upstream_gives_a_502_in_the_api_envelope_and_the_proxy_keeps_serving() -> None:
    out = io.StringIO()
    with running_proxy(ProxyOptions(upstream=closed_port()), out) as (url, proxy):
        first, second = post(url), post(url)
    for answer in (first, second):
        assert answer.status_code == 502
        assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == "api_error"
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["#0", "#1"]
    assert all("server transport.incomplete" in line and "ConnectError" in line for line in lines)
    assert proxy.close() == 1


def test_an_upstream_that_breaks_off_mid_stream_breaks_off_for_the_client_too() -> None:
    out = io.StringIO()
    with hostile_upstream() as upstream, running_proxy(ProxyOptions(upstream=upstream.url), out) as (url, _proxy):
        got = b""
        with pytest.raises(httpx.HTTPError), httpx.stream("POST", url + "/v1/messages", json={**BODY, "stream": True},
                                                          headers={**HEADERS, "x-test-mode": "reset"}) as answer:
            for chunk in answer.iter_raw():
                got += chunk
        assert got == events(1)[0]  # what the upstream gave, before it broke
        assert post(url).json() == MESSAGE  # and the proxy keeps serving
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines  # one finding line: the cut, not its consequences
    assert lines[0].startswith("#0 POST /v1/messages -> 200 (stream)") and "server transport.incomplete" in lines[0]


def test_an_answer_that_is_not_http_gives_a_502() -> None:
    out = io.StringIO()
    with hostile_upstream() as upstream, running_proxy(ProxyOptions(upstream=upstream.url), out) as (url, _proxy):
        answer = post(url, "not-http")
        assert post(url).status_code == 200
    assert answer.status_code == 502 and "conformance proxy" in answer.json()["error"]["message"]
    assert out.getvalue().count("transport.incomplete") == 1


def test_a_10_mb_error_page_is_passed_on_whole() -> None:
    out = io.StringIO()
    with hostile_upstream() as upstream, \
            running_proxy(ProxyOptions(upstream=upstream.url, max_body_bytes=1024 * 1024), out) as (url, proxy):
        answer = post(url, "big-error")
    assert answer.status_code == 502 and answer.headers["content-type"] == "text/html"
    assert len(answer.content) == 10 * 1024 * 1024 and answer.content.endswith(b"</html>")
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("#0 POST /v1/messages -> 502") for line in lines)
    assert len(lines) <= 3
    assert any("transport.body-not-judged" in line for line in lines)
    assert proxy.session is not None and proxy.session.findings


def test_a_client_that_leaves_mid_stream_closes_the_upstream_request() -> None:
    with hostile_upstream() as upstream, running_proxy(ProxyOptions(upstream=upstream.url)) as (url, proxy):
        with httpx.stream("POST", url + "/v1/messages", headers={**HEADERS, "x-test-mode": "hold"},
                          json={**BODY, "stream": True}) as answer:
            first = next(answer.iter_raw())
        assert first == events(1)[0]
        assert upstream.closed.wait(10), "the upstream request was left open"
        assert post(url).status_code == 200
    assert proxy.session is not None
    assert [f.rule for f in proxy.session.findings if f.severity >= 1] == []  # leaving is nobody's fault


def test_200_simultaneous_streams_lose_and_mix_nothing() -> None:
    async def one(client: httpx.AsyncClient, url: str, n: int) -> bytes:
        async with client.stream("POST", url + "/v1/messages", json={**BODY, "stream": True},
                                 headers={**HEADERS, "x-test-mode": "stream", "x-test-id": str(n)}) as answer:
            return b"".join([chunk async for chunk in answer.aiter_raw()])

    async def all_of(url: str) -> list[bytes]:
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            return await asyncio.gather(*(one(client, url, n) for n in range(200)))

    with hostile_upstream() as upstream, running_proxy(ProxyOptions(upstream=upstream.url)) as (url, proxy):
        bodies = asyncio.run(all_of(url))
    for n, body in enumerate(bodies):
        assert body == b"".join(events(20, stop=n % 2 == 0)), n
    session = proxy.session
    assert session is not None and len(session.records) == 200
    for record in session.records.values():
        n = int(record["request_headers"]["x-test-id"][0])
        rules = {f["rule"] for f in record["findings"]}
        assert rules == (set() if n % 2 == 0 else {"stream.message-stop"}), (n, rules)


def test_a_key_echoed_back_in_any_encoding_is_written_nowhere(tmp_path: Path) -> None:
    key = "test-only-secret-0123456789abcdefghij"  # not key-shaped: found because the client sent it
    out = io.StringIO()
    with hostile_upstream() as upstream:
        options = ProxyOptions(upstream=upstream.url, report_dir=tmp_path / "reports", record=tmp_path / "recorded")
        with running_proxy(options, out) as (url, proxy):
            answer = httpx.post(url + "/v1/messages", headers={**HEADERS, "x-api-key": key, "x-test-mode": "echo"},
                                json={**BODY, "bogus": key})
            assert key in answer.text  # passed through untouched
        proxy.close()
    written = [out.getvalue()] + [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 6 and "bogus" in out.getvalue()
    for text in written:
        for form in (key, *echoed_forms(key)):
            assert form not in text


def test_a_slow_loris_client_is_cut_off() -> None:
    options = ProxyOptions(upstream=closed_port(), header_timeout=0.3, body_timeout=0.3)
    with running_proxy(options) as (url, _proxy):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            assert silent.recv(1) == b""  # closed without a request head
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
            answer = b""
            while b"timeout_error" not in answer and (piece := slow.recv(4096)):
                answer += piece
        assert answer.startswith(b"HTTP/1.1 408") and b"timeout_error" in answer


def test_an_endless_request_head_is_cut_off() -> None:
    # The head deadline is far away: what cuts this client off is the bound on a head's size.
    with running_proxy(ProxyOptions(upstream=closed_port(), header_timeout=60)) as (url, _proxy):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as hostile:
            hostile.sendall(b"POST /v1/messages HTTP/1.1\r\n")
            try:
                for _ in range(1000):
                    hostile.sendall(b"x-filler: " + b"a" * 1000 + b"\r\n")
                closed = hostile.recv(1) == b""
            except TimeoutError:
                pytest.fail("the proxy kept reading an endless request head")
            except (ConnectionResetError, BrokenPipeError):
                closed = True
        assert closed


def test_a_request_body_past_the_limit_is_refused_without_reaching_the_upstream() -> None:
    with hostile_upstream() as upstream, \
            running_proxy(ProxyOptions(upstream=upstream.url, max_body_bytes=1000)) as (url, proxy):
        answer = httpx.post(url + "/v1/messages", headers=HEADERS, content=b"x" * 5000)
    assert answer.status_code == 413 and answer.json()["error"]["type"] == "request_too_large"
    assert proxy.session is not None and proxy.session.started == 0


def test_annotate_counts_the_findings_and_names_the_first() -> None:
    with hostile_upstream() as upstream, \
            running_proxy(ProxyOptions(upstream=upstream.url, annotate=True)) as (url, _proxy):
        clean = post(url)
        broken = httpx.post(url + "/v1/messages", headers=[*HEADERS.items(), ("anthropic-version", "2023-06-01")],
                            json=BODY)
        with httpx.stream("POST", url + "/v1/messages", json={**BODY, "stream": True, "bogus": 1},
                          headers={**HEADERS, "x-test-mode": "stream", "x-test-id": "1"}) as streamed:
            body = b"".join(streamed.iter_raw())
    assert clean.headers["x-conformance-findings"] == "0" and clean.json() == MESSAGE
    assert broken.headers["x-conformance-findings"] == "1; first=request.version-duplicated"
    # A stream's head goes before its body: it counts the request's findings only (the unknown field here),
    # not the missing message_stop that came later.
    assert streamed.headers["x-conformance-findings"] == "1; first=schema.unknown-request-field"
    assert body == b"".join(events(20, stop=False))


def test_without_validation_it_is_a_plain_pass_through() -> None:
    with hostile_upstream() as upstream, running_proxy(ProxyOptions(upstream=upstream.url, validate=False)) as (
            url, proxy):
        assert post(url).json() == MESSAGE
    assert proxy.session is None and proxy.close() == 0


def test_the_recording_is_read_by_lint(tmp_path: Path) -> None:
    from conformance.lint import lint_paths

    with hostile_upstream() as upstream:
        options = ProxyOptions(upstream=upstream.url, record=tmp_path)
        with running_proxy(options) as (url, proxy):
            post(url)
            with httpx.stream("POST", url + "/v1/messages", json={**BODY, "stream": True},
                              headers={**HEADERS, "x-test-mode": "stream", "x-test-id": "3"}) as answer:
                answer.read()
        proxy.close()
    result = lint_paths([tmp_path])
    assert result.interactions == 2 and {f.rule for f in result.findings} == {"stream.message-stop"}
    assert dict(result.formats) == {"vcrpy-yaml": 1}


# -- an upstream mounted under a path prefix (a gateway's route: --upstream http://gateway:4000/anthropic) --------

MODEL_ID = "claude-sonnet-4-20250514"


def good_client(url: str) -> list[httpx.Response]:
    """What an SDK sends, by the paths it sends it to (query strings included)."""
    h = {"x-api-key": HEADERS["x-api-key"], "anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as client:
        answers = [client.post("/v1/messages", json=BODY),
                   client.post("/v1/messages?beta=true", json={**BODY, "stream": True}),
                   client.post("/v1/messages/count_tokens", json={"model": MODEL_ID, "messages": BODY["messages"]}),
                   client.get("/v1/models", params={"limit": 2}),
                   client.get(f"/v1/models/{MODEL_ID}")]
    return answers


@pytest.mark.parametrize("prefix", ["/anthropic", "/anthropic/", "/gw/routes/anthropic"])
def test_an_upstream_under_a_path_prefix_is_a_mount_point(prefix: str) -> None:
    from tests.proxy_upstream import mounted_reference

    out = io.StringIO()
    with mounted_reference(prefix) as upstream, \
            running_proxy(ProxyOptions(upstream=upstream + ("/" if prefix.endswith("/") else "")), out) as (
                url, proxy):
        answers = good_client(url)
        broken = httpx.post(url + "/v1/messages", json=BODY, headers=[*HEADERS.items(),
                                                                      ("anthropic-version", "2023-06-01")])
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert broken.status_code == 400
    session = proxy.session
    assert session is not None and len(session.records) == 6  # every exchange judged, none passed over
    judged = [session.records[n] for n in sorted(session.records)]
    assert all(f["severity"] == "info" for r in judged[:5] for f in r["findings"]), out.getvalue()
    assert "request.version-duplicated" in str(judged[5]["findings"])
    assert "#5 POST " in out.getvalue() and "request.version-duplicated" in out.getvalue()
    # The URL on record is where the request went: the mount, then the client's path and query.
    assert judged[1]["url"] == upstream.rstrip("/") + "/v1/messages?beta=true"


def test_a_mutant_upstream_under_a_path_prefix_is_named() -> None:
    from tests.proxy_upstream import mounted_reference

    with mounted_reference("/anthropic", mutant="no-message-stop") as upstream, \
            running_proxy(ProxyOptions(upstream=upstream)) as (url, proxy):
        with httpx.stream("POST", url + "/v1/messages", json={**BODY, "stream": True}, headers=HEADERS) as answer:
            assert answer.status_code == 200 and b"message_stop" not in answer.read()
    assert proxy.session is not None
    assert {(f.rule, f.party) for f in proxy.session.findings if f.severity >= 1} == {("stream.message-stop", "server")}
    assert proxy.close() == 1


def test_a_client_base_url_with_a_path_is_forwarded_as_is_and_judged() -> None:
    # ANTHROPIC_BASE_URL=http://proxy/gw/anthropic in front of --upstream http://gateway: the client's path goes on
    # unchanged after the upstream's (here empty) mount.
    from tests.proxy_upstream import mounted_reference

    with mounted_reference("/gw/anthropic") as upstream, \
            running_proxy(ProxyOptions(upstream=upstream.removesuffix("/gw/anthropic"))) as (url, proxy):
        answers = good_client(url + "/gw/anthropic")
    assert [a.status_code for a in answers] == [200] * 5
    assert proxy.session is not None and len(proxy.session.records) == 5
    assert [f for f in proxy.session.findings if f.severity >= 1] == []


def test_the_recording_of_a_prefixed_upstream_keeps_its_bodies_and_lint_judges_it(tmp_path: Path) -> None:
    import yaml

    from conformance.lint import lint_paths
    from tests.proxy_upstream import mounted_reference

    with mounted_reference("/anthropic") as upstream:
        with running_proxy(ProxyOptions(upstream=upstream, record=tmp_path)) as (url, proxy):
            good_client(url)
        proxy.close()
    [cassette] = tmp_path.glob("*.yaml")
    interactions = yaml.safe_load(cassette.read_text())["interactions"]
    assert len(interactions) == 5
    assert all(i["request"]["uri"].startswith(upstream + "/v1/") for i in interactions)
    assert all(i["response"]["body"]["string"] for i in interactions), "a response body was not recorded"
    result = lint_paths([tmp_path])
    assert result.interactions == 5 and not result.skipped, result.skipped
    assert [f for f in result.findings if f.severity >= 1] == []


def test_an_answer_the_rules_do_not_read_is_recorded_whole(tmp_path: Path) -> None:
    import yaml

    out = io.StringIO()
    with hostile_upstream() as upstream:
        options = ProxyOptions(upstream=upstream.url + "/gateway", record=tmp_path, max_body_bytes=1024 * 1024)
        with running_proxy(options, out) as (url, proxy):
            plain = httpx.get(url + "/health", headers={"x-test-mode": "ok"})
            zipped = httpx.get(url + "/health", headers={"x-test-mode": "gzip"})
            big = httpx.get(url + "/health", headers={"x-test-mode": "big-error"})
            with pytest.raises(httpx.HTTPError):
                httpx.get(url + "/health", headers={"x-test-mode": "reset"})
        proxy.close()
    assert plain.json() == zipped.json() == MESSAGE and len(big.content) == 10 * 1024 * 1024
    assert proxy.session is not None and proxy.session.records == {}  # not the Messages API: not judged
    assert "4 of 4 exchanges were not to a Messages API endpoint, passed on unjudged: GET /gateway/health -> 200, " \
           "GET /gateway/health -> 200, GET /gateway/health -> 502, ..." in out.getvalue()  # said, not silent
    [cassette] = tmp_path.glob("*.yaml")
    interactions = yaml.safe_load(cassette.read_text())["interactions"]
    # Both answers within the limit, as they passed (the gzip one decoded, as every recorded body is);
    # the 10 MB page is past --max-body-bytes, the reset answer broke off: neither is recorded.
    assert len(interactions) == 2 and proxy.session.not_recorded == 2
    for i in interactions:
        assert i["request"]["uri"] == upstream.url + "/gateway/health"
        assert json.loads(i["response"]["body"]["string"]) == MESSAGE
        assert "content-encoding" not in {k.lower() for k in i["response"]["headers"]}


@pytest.mark.parametrize("upstream", ["http://gateway:4000/anthropic?key=1", "http://gateway:4000/anthropic#x"])
def test_an_upstream_with_a_query_or_fragment_is_refused(upstream: str) -> None:
    from conformance.errors import UsageError

    with pytest.raises(UsageError, match="--upstream"):
        ProxyOptions(upstream=upstream)
