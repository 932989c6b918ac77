"""``conformance openapi``: a valid, self-contained OpenAPI 3.1 document per profile, equivalent to its schemas;
and Schemathesis, pointed at it and at the reference server, finds no 5xx and no crash."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.cli import main
from conformance.control import control_headers
from conformance.openapi import openapi_document
from conformance.profiles import load_profiles
from conformance.server import ServerConfig, running_server
from conformance.strategies.invalid import invalid_requests
from conformance.strategies.requests import valid_requests

PROFILES = load_profiles()
VERSIONS = sorted(PROFILES.versions)
DOC_URI = "urn:conformance:openapi"


@pytest.fixture(scope="module", params=VERSIONS)
def exported(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    profile = PROFILES.get(request.param)
    return profile, openapi_document(profile)


def test_the_export_is_valid_openapi_3_1(exported: tuple[Any, dict[str, Any]]) -> None:
    _, doc = exported
    assert doc["openapi"] == "3.1.0"
    validate_openapi(doc)
    json.dumps(doc)  # plain JSON


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_export_is_self_contained(exported: tuple[Any, dict[str, Any]]) -> None:
    _, doc = exported
    assert "$id" not in json.dumps(doc) and "$defs" not in json.dumps(doc)
    for ref in set(_refs(doc)):
        assert ref.startswith("#/components/schemas/"), ref
        node: Any = doc
        for step in ref[2:].split("/"):
            node = node[step]  # resolves, or KeyError names the dangling step
        assert isinstance(node, dict)


def test_operations_errors_headers_and_auth_follow_the_profile(exported: tuple[Any, dict[str, Any]]) -> None:
    profile, doc = exported
    paths = doc["paths"]
    assert set(paths) == {"/v1/messages", "/v1/messages/count_tokens", "/v1/models", "/v1/models/{model_id}"}
    messages = paths["/v1/messages"]["post"]
    assert {"application/json", "text/event-stream"} == set(messages["responses"]["200"]["content"])
    assert messages["responses"]["200"]["content"]["text/event-stream"]["x-event-schema"] == {
        "$ref": "#/components/schemas/StreamEvent"}
    assert messages["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Request"}
    statuses = {str(e.status) for e in profile.errors}
    for path in paths.values():
        for op in path.values():
            assert statuses <= set(op["responses"]), op["operationId"]
            version = next(p for p in op["parameters"] if p["name"] == "anthropic-version")
            assert version["in"] == "header" and version["required"] and version["schema"]["enum"] == [profile.version]
    limited = messages["responses"]["429"]
    assert profile.rate_limits.retry_after in limited["headers"]
    assert {r.limit for r in profile.rate_limits.resources} <= set(limited["headers"])
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert ("Bearer" in schemes) is ("authorization-bearer" in profile.auth_styles)


def _bundled_validator(doc: dict[str, Any], component: str) -> jsonschema.protocols.Validator:
    registry: Registry[Any] = Registry().with_resource(DOC_URI, Resource(doc, DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{component}"}, registry=registry)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_bundled_request_schemas_judge_as_the_profiles_do(version: str) -> None:
    profile = PROFILES.get(version)
    doc = openapi_document(profile)
    bundled = {"request": _bundled_validator(doc, "Request"),
               "count_tokens_request": _bundled_validator(doc, "CountTokensRequest")}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(valid=valid_requests(profile, "messages"), invalid=invalid_requests(profile, "messages"),
           counted=valid_requests(profile, "count_tokens"))
    def agree(valid: Any, invalid: Any, counted: Any) -> None:
        for shape, body in (("request", valid), ("request", invalid.body), ("count_tokens_request", counted)):
            assert bundled[shape].is_valid(body) == profile.schemas.is_valid(shape, body), (shape, body)

    agree()


def test_the_bundled_response_schemas_judge_as_the_profiles_do() -> None:
    from conformance.strategies.responses import example_message_case

    for profile in PROFILES:
        doc = openapi_document(profile)
        message = example_message_case(profile).response_body
        samples = [("message", "Message", message), ("message", "Message", {**message, "content": [{"type": 3}]}),
                   ("message", "Message", {k: v for k, v in message.items() if k != "id"}),
                   ("error", "Error", {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}),
                   ("error", "Error", {"type": "error"}),
                   ("stream_event", "StreamEvent", {"type": "message_start", "message": message}),
                   ("stream_event", "StreamEvent", {"type": "content_block_delta", "index": 0,
                                                    "delta": {"type": "text_delta"}})]
        for shape, component, instance in samples:
            assert _bundled_validator(doc, component).is_valid(instance) == profile.schemas.is_valid(shape, instance), \
                (profile.version, component, instance)


def test_the_cli_writes_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "openapi.json"
    assert main(["openapi", "--api-version", "2026-10-21", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["info"]["version"] == "2026-10-21"
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["version"] == PROFILES.default_version
    assert main(["openapi", "--api-version", "1999-01-01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1999-01-01" in err[0]


# -- Schemathesis against the reference server --------------------------------------------------------------


@pytest.mark.integration
def test_schemathesis_finds_no_server_error_in_the_reference_server(tmp_path: Path) -> None:
    """The ecosystem's fuzzer, bounded (30 examples per operation, deterministic), positive and negative data.

    Every phase runs: the coverage phase (a fixed set of boundary and wrongly typed values per field, about
    4,700 requests, most of this test's time) is the one that finds type confusion: without it, the
    ``tools[].name`` 500 fixed in rules/requests.py went unnoticed.
    """
    version = PROFILES.default_version
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(openapi_document(PROFILES.get(version))))
    config = ServerConfig(log_max_requests=100_000, log_max_bytes=256 * 1024 * 1024, log_max_body_bytes=64)
    with running_server(config) as url:
        done = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", str(spec), "--url", url, "--checks", "not_a_server_error",
             "--max-examples", "30", "--generation-deterministic", "--workers", "1", "--request-timeout", "10",
             "--header", "x-api-key: sk-ant-test-scale", "--no-color", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")})
        import httpx

        log = httpx.get(url + "/_conformance/requests", headers=control_headers(config.control_token),
                        timeout=30).json()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    statuses = collections.Counter((e["path"].split("/")[2] if e["path"].count("/") > 1 else e["path"], e["status"])
                                   for entries in log["requests"].values() for e in entries)
    assert [k for k in statuses if k[1] is None or k[1] >= 500] == [], statuses
    assert {path for path, _ in statuses} >= {"messages", "models"}
    assert sum(statuses.values()) > 500 and log["dropped"] == 0
