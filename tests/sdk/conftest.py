"""Fixtures for the SDK tests: one reference server on a loopback port per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.control import control_headers
from conformance.server import ServerConfig, running_server

KEY = "sk-ant-test-scale"
CONFIG = ServerConfig()
"""The SDK tests' server (one per session): its control token is what the reset below sends."""
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
