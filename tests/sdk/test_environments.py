"""Isolated, cached SDK environments: what is installed where, and the errors when it cannot be."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance.errors import InputError, UsageError
from conformance.sdk import environments
from conformance.sdk.environments import (
    READY,
    cache_root,
    custom_driver,
    driver_for,
    exact_version,
    python_driver,
    python_requirements,
    typescript_driver,
)


class FakeInstaller:
    """Records the install commands instead of running them (no network); fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv: Sequence[str], cwd: Path) -> None:
        self.calls.append(list(argv))
        if self.fail:
            raise InputError("pip install failed", file=str(cwd / "install.log"))


def test_anthropic_0_40_gets_an_httpx_from_before_0_28():
    assert python_requirements("0.40.0") == ["anthropic==0.40.0", "httpx<0.28"]
    assert python_requirements("0.75.0") == ["anthropic==0.75.0"]
    assert python_requirements("2.14.0") == ["anthropic==2.14.0"]


@pytest.mark.parametrize("bad", ["latest", "2.x", "1.0; rm -rf /", "--index-url=http://evil", ""])
def test_only_exact_versions_reach_pip_or_npm(bad):
    with pytest.raises(UsageError, match="--sdk-version"):
        exact_version(bad)


def test_the_cache_root_is_overridable(tmp_path):
    assert cache_root({"CONFORMANCE_SDK_CACHE": str(tmp_path)}) == tmp_path
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "claude-conformance" / "sdk"


def test_a_python_version_is_installed_once_into_its_own_venv(tmp_path):
    install = FakeInstaller()
    first = python_driver("0.40.0", tmp_path, install)
    venv = tmp_path / "python" / f"anthropic-0.40.0-py{sys.version_info.major}.{sys.version_info.minor}"
    assert first.argv == (str(venv / "bin" / "python"), str(environments.PYTHON_DRIVER))
    assert install.calls[0][1:] == ["-m", "venv", str(venv)]
    assert install.calls[1][-2:] == ["anthropic==0.40.0", "httpx<0.28"]
    assert first.installed and (venv / READY).is_file()
    again = python_driver("0.40.0", tmp_path, install)
    assert len(install.calls) == 2 and again.installed is None


def test_a_failed_install_leaves_no_ready_environment(tmp_path):
    with pytest.raises(InputError, match="pip install failed"):
        python_driver("9.9.9", tmp_path, FakeInstaller(fail=True))
    install = FakeInstaller()
    python_driver("9.9.9", tmp_path, install)
    assert install.calls, "the broken environment is rebuilt, not reused"


def test_typescript_installs_an_exact_version_or_the_shipped_lockfile(tmp_path, monkeypatch):
    monkeypatch.setattr(environments.shutil, "which", lambda name: f"/usr/bin/{name}")
    install = FakeInstaller()
    pinned = typescript_driver("0.71.2", tmp_path, install)
    prefix = tmp_path / "typescript" / "anthropic-ai-sdk-0.71.2"
    assert pinned.env == {"CONFORMANCE_SDK_PATH": str(prefix)}
    assert install.calls[0][-1] == "@anthropic-ai/sdk@0.71.2" and (prefix / "package.json").is_file()
    locked = typescript_driver(None, tmp_path, install)
    assert locked.label.startswith("typescript @anthropic-ai/sdk ") and install.calls[1][1] == "ci"
    assert (Path(locked.env["CONFORMANCE_SDK_PATH"]) / "package-lock.json").is_file()


def test_missing_tools_and_sdks_are_one_line_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(environments.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="node and npm must be on PATH"):
        typescript_driver(None, tmp_path)
    monkeypatch.setattr(environments.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match="--sdk-version V to install one"):
        python_driver(None, tmp_path)


def test_a_custom_driver_is_a_command_line(tmp_path):
    script = tmp_path / "my driver.py"
    script.write_text("")
    command = custom_driver(f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --flag")
    assert command.argv == (sys.executable, str(script), "--flag")
    with pytest.raises(InputError, match="not a program on PATH"):
        custom_driver("/nonexistent/driver --x")
    with pytest.raises(UsageError):
        custom_driver("'unbalanced")
    with pytest.raises(UsageError, match="brings its own"):
        driver_for("python", "2.14.0", "node d.mjs", tmp_path)


NPM_NOTARGET = """npm error code ETARGET
npm error notarget No matching version found for @anthropic-ai/sdk@0.50.0.
npm error notarget In most cases you or one of your dependencies are requesting
npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log
"""
PIP_MISSING = """Looking in indexes: https://pypi.org/simple
ERROR: Could not find a version that satisfies the requirement anthropic==9.9.9 (from versions: 0.2.0)
ERROR: No matching distribution found for anthropic==9.9.9
"""


@pytest.mark.parametrize(("output", "says"), [
    (NPM_NOTARGET, "No matching version found for @anthropic-ai/sdk@0.50.0"),
    (PIP_MISSING, "Could not find a version that satisfies the requirement anthropic==9.9.9"),
    ("npm error code E500\nnpm error A complete log of this run can be found in: x.log\n", "npm error code E500"),
    ("something odd\nand then it stopped\n", "and then it stopped"),
    ("", "no output"),
])
def test_a_failed_install_names_why_not_the_installers_boilerplate(output: str, says: str) -> None:
    assert says in environments.telling_line(output)


def test_the_reason_comes_from_this_attempt_not_an_earlier_one(tmp_path: Path) -> None:
    (tmp_path / "install.log").write_text("ERROR: No matching distribution found for an-earlier-attempt\n")
    script = "import sys; print('npm error notarget No matching version found for this-attempt'); sys.exit(1)"
    with pytest.raises(InputError) as raised:
        environments._run_install([sys.executable, "-c", script], tmp_path)
    assert "this-attempt" in str(raised.value) and "an-earlier-attempt" not in str(raised.value)
