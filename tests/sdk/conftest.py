"""Fixtures for the SDK tests: one reference server on a loopback port per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.control import control_headers, key_fingerprint
from conformance.server import ServerConfig, running_server

KEY = "sk-ant-test-scale"
CONFIG = ServerConfig()
"""The SDK tests' server (one per session): its control token is what the helpers below send."""
CONTROL = control_headers(CONFIG.control_token)


@pytest.fixture(scope="session")
def sdk_server_url() -> Iterator[str]:
    with running_server(CONFIG) as url:
        yield url


@pytest.fixture
def server(sdk_server_url: str) -> Iterator[str]:
    """The server's base URL, with scenarios, request log and rate limits reset."""
    httpx.post(sdk_server_url + "/_conformance/reset", headers=CONTROL, timeout=5).raise_for_status()
    yield sdk_server_url


def script(url: str, *steps: dict[str, object], key: str = KEY) -> None:
    httpx.post(url + "/_conformance/scenarios", json={"key": key, "responses": list(steps)}, headers=CONTROL,
               timeout=5).raise_for_status()


def logged(url: str, key: str = KEY) -> list[dict[str, object]]:
    data = httpx.get(url + "/_conformance/requests", params={"key": key}, headers=CONTROL, timeout=5).json()
    return list(data["requests"][key_fingerprint(key)])
