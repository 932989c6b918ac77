"""The plugin as a guest: a project with its own ``client``, ``profile`` and ``api_version`` (and pytest-django's
``client``) runs exactly as it does without this package; ``conformance_validator`` and ``--conformance-cassettes``
work when asked for.

Each project runs in a subprocess, with the package installed as it is here (the ``pytest11`` entry points load
both halves of the plugin), and again with both halves disabled: the outcomes must be the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.server import running_server

WITHOUT_US = ["-p", "no:conformance", "-p", "no:conformance_guest"]

PROJECT = {
    "conftest.py": """
        import pytest

        @pytest.fixture
        def client():
            return "the project's own client"

        @pytest.fixture
        def profile():
            return {"name": "the project's own profile"}

        def pytest_generate_tests(metafunc):
            if "api_version" in metafunc.fixturenames:
                metafunc.parametrize("api_version", ["v1", "v2"])
    """,
    "test_project.py": """
        import pytest

        def test_client(client):
            assert client == "the project's own client"

        def test_profile(profile):
            assert profile == {"name": "the project's own profile"}

        def test_api_version(api_version):
            assert api_version in ("v1", "v2")

        @pytest.mark.parametrize("version", ["explicit"])
        def test_explicit_parameter(version):
            assert version == "explicit"

        def test_fails_as_it_should():
            assert 1 == 2
    """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


def outcomes(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args], cwd=root,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    lines = sorted(line for line in done.stdout.splitlines()
                   if line.startswith(("PASSED ", "FAILED ", "ERROR ", "SKIPPED ")))
    return done.returncode, [line.split(" - ")[0] for line in lines]


def test_a_project_with_its_own_client_profile_and_api_version_runs_unchanged(tmp_path: Path) -> None:
    write(tmp_path, PROJECT)
    with_us = outcomes(tmp_path)
    assert with_us == outcomes(tmp_path, *WITHOUT_US)
    assert with_us == (1, ["FAILED test_project.py::test_fails_as_it_should",
                           "PASSED test_project.py::test_api_version[v1]",
                           "PASSED test_project.py::test_api_version[v2]",
                           "PASSED test_project.py::test_client",
                           "PASSED test_project.py::test_explicit_parameter[explicit]",
                           "PASSED test_project.py::test_profile"])


def test_the_plugin_adds_only_namespaced_names(tmp_path: Path) -> None:
    write(tmp_path, PROJECT)
    fixtures = subprocess.run([sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120).stdout
    ours = [line.split()[0] for line in fixtures.splitlines() if line.startswith("conformance")]
    assert ours == ["conformance_validator"]
    markers = subprocess.run([sys.executable, "-m", "pytest", "--markers"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120).stdout
    assert all(line.startswith("@pytest.mark.conformance_") for line in markers.splitlines() if "onformance" in line
               and line.startswith("@pytest.mark."))


DJANGO_PACKAGES = ["pytest-django==4.14.0", "django", "asgiref", "sqlparse"]


@pytest.fixture(scope="session")
def django_path() -> Path:
    """pytest-django and Django in a directory of their own (installed once; kept between runs)."""
    target = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "conformance-tests" / "django"
    if not (target / "pytest_django").is_dir():
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                               str(target), *DJANGO_PACKAGES], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"pytest-django could not be installed from the package index: {done.stderr[-300:]}")
    return target


def test_a_django_project_keeps_pytest_djangos_client(tmp_path: Path, django_path: Path) -> None:
    write(tmp_path, {
        "settings.py": """
            SECRET_KEY = "not-a-secret"
            ROOT_URLCONF = "urls"
            ALLOWED_HOSTS = ["testserver"]
            INSTALLED_APPS = []
            DATABASES = {}
        """,
        "urls.py": """
            from django.http import HttpResponse
            from django.urls import path

            urlpatterns = [path("hello", lambda request: HttpResponse("hello from django"))]
        """,
        "pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = settings\n",
        "test_site.py": """
            def test_django_client(client):
                response = client.get("/hello")
                assert response.status_code == 200 and response.content == b"hello from django"

            def test_rf(rf):
                assert rf.get("/x").path == "/x"
        """,
    })
    env = {"PYTHONPATH": os.pathsep.join([str(django_path), str(tmp_path)])}
    with_us = outcomes(tmp_path, env=env)
    assert with_us == outcomes(tmp_path, *WITHOUT_US, env=env)
    assert with_us == (0, ["PASSED test_site.py::test_django_client", "PASSED test_site.py::test_rf"])


def test_conformance_validator_fails_a_test_whose_exchanges_break_the_contract(tmp_path: Path) -> None:
    write(tmp_path, {"test_api.py": """
        import httpx
        import pytest

        HEADERS = {"x-api-key": "sk-ant-test-scale", "anthropic-version": "2023-06-01"}
        BODY = {"model": "claude-sonnet-4-20250514", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}

        def broken(request):
            return httpx.Response(200, headers={"request-id": "req_1"}, json={"id": "msg_1", "type": "message"})

        def test_conformant(conformance_validator, server_url):
            with conformance_validator.client(base_url=server_url) as client:
                assert client.post("/v1/messages", headers=HEADERS, json=BODY).status_code == 200

        def test_broken_server(conformance_validator):
            with httpx.Client(transport=conformance_validator.transport(httpx.MockTransport(broken))) as client:
                client.post("https://api.anthropic.com/v1/messages", headers=HEADERS, json=BODY)

        @pytest.mark.conformance_validator(party="client")
        def test_only_the_client_is_judged(conformance_validator):
            with httpx.Client(transport=conformance_validator.transport(httpx.MockTransport(broken))) as client:
                client.post("https://api.anthropic.com/v1/messages", headers=HEADERS, json=BODY)
            assert conformance_validator.findings == []
    """, "conftest.py": """
        import os
        import pytest

        @pytest.fixture
        def server_url():
            return os.environ["SERVER_URL"]
    """})
    with running_server() as url:
        done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, env={**os.environ, "SERVER_URL": url})
    out = done.stdout
    assert done.returncode == 1, out
    assert "PASSED test_api.py::test_conformant" in out and "PASSED test_api.py::test_only_the_client_is_judged" in out
    assert "FAILED test_api.py::test_broken_server" in out
    # Printed as `conformance lint` prints findings: the exchange, then severity, party, rule, place, message.
    assert "interaction 0  POST /v1/messages -> 200" in out
    assert "error   server body.response-schema  response.body $" in out


def test_conformance_cassettes_lints_the_cassettes_the_run_used(tmp_path: Path) -> None:
    cassettes = Path(__file__).parent / "data" / "recordings"
    write(tmp_path, {"test_replay.py": f"""
        import vcr

        def test_uses_a_cassette():
            with vcr.use_cassette({str(cassettes / "vcrpy_plain.yaml")!r}, record_mode="none"):
                pass

        def test_uses_none():
            pass
    """})
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--conformance-cassettes"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "conformance: the cassettes this run used" in done.stdout
    assert "vcrpy_plain.yaml" in done.stdout and "summary: 1 file" in done.stdout
    plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and "the cassettes this run used" not in plain.stdout
