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
def server_url() -> Iterator[str]:
    """A real uvicorn serving the reference server on a free loopback port (shared by a session)."""
    with running_server() as url:
        yield url
