"""Fixtures for the SDK tests: one reference server on a loopback port per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.server import running_server

KEY = "sk-ant-test-scale"


@pytest.fixture(scope="session")
def sdk_server_url() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture
def server(sdk_server_url: str) -> Iterator[str]:
    """The server's base URL, with scenarios, request log and rate limits reset."""
    httpx.post(sdk_server_url + "/_conformance/reset", timeout=5).raise_for_status()
    yield sdk_server_url


def script(url: str, *steps: dict[str, object], key: str = KEY) -> None:
    httpx.post(url + "/_conformance/scenarios", json={"key": key, "responses": list(steps)},
               timeout=5).raise_for_status()


def logged(url: str, key: str = KEY) -> list[dict[str, object]]:
    data = httpx.get(url + "/_conformance/requests", params={"key": key}, timeout=5).json()
    return list(data["requests"][key])
