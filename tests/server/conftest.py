"""Fixtures: the reference server in-process (Starlette TestClient) and on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from conformance.server import ServerConfig, create_app, running_server


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A fresh in-process server (default keys, seed 0)."""
    with TestClient(create_app(ServerConfig()), base_url="http://reference.test") as c:
        yield c


@pytest.fixture
def make_client() -> Iterator[object]:
    """Build an in-process server with a given ServerConfig."""
    made: list[TestClient] = []

    def make(config: ServerConfig) -> TestClient:
        c = TestClient(create_app(config), base_url="http://reference.test")
        c.__enter__()
        made.append(c)
        return c

    yield make
    for c in made:
        c.__exit__(None, None, None)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[str, str]]:
    """(base URL, control token) of a real uvicorn serving the reference server on a free loopback port."""
    config = ServerConfig()
    with running_server(config) as url:
        yield url, config.control_token


@pytest.fixture(scope="session")
def server_url(live_server: tuple[str, str]) -> str:
    return live_server[0]
