"""What a conformance run talks to, and the options that shape it: the reference server, a URL, a recording.

:class:`RunOptions` holds the run's options (with the defaults a live target gets), :class:`RunTarget`
what the target can do; :func:`open_target` starts or connects to it; :func:`check_target` refuses one
that cannot work before any check starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.client import Timeouts
from conformance.run.defaults import DEFAULT_EXAMPLES, LIVE_EXAMPLES, LIVE_REQUESTS, LIVE_TOKENS

__all__ = ["DEFAULT_EXAMPLES", "LIVE_EXAMPLES", "RunOptions", "RunTarget", "check_target", "open_target",
           "unreachable"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunTarget:
    """What the run talks to, and what that target can do."""

    kind: str
    """``reference``, ``url`` or ``cassettes``."""
    base_url: str
    api_key: str | None
    keys: dict[str, str]
    """Keys by purpose: ``default``, and on the reference server ``free``, ``forbidden``, ..."""
    deterministic: bool
    """Same request, same answer (the reference server): the streamed and plain answers must be equal."""
    control_api: bool
    """The reference server's ``/_conformance/*`` API is there to script faults and move the clock."""
    cassette_dir: Path | None
    record_mode: str | None
    live_clock: bool
    """Headers carry times of this run (False when replaying old recordings)."""
    control_token: str | None = None
    """The embedded reference server's control-API token (send it with ``conformance.control.control_headers``)."""
    fault_control: FaultControl | None = None
    """Where faults are scripted: the target's own control API, or (``--upstream-control``) that of a reference
    server behind a gateway under test; ``None``: fault checks are not exercised."""
    max_wait: float = 70.0
    """The longest a check waits for a target's retry-after (longer: not exercised)."""


@dataclasses.dataclass(frozen=True)
class FaultControl:
    """A reference server's control API, where a check scripts the answers to its next requests."""

    url: str
    token: str | None
    key: str | None
    """The API key that reaches that server (a gateway may send its own upstream): faults are scripted for it."""


def _reference_keys() -> dict[str, str]:
    """The reference server's built-in test keys (not secrets) by purpose; ``default`` is the Scale one."""
    from conformance.server.config import TEST_KEYS

    return {"default": TEST_KEYS["scale"], **TEST_KEYS}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    target: str
    api_versions: list[str] | None
    api_key_env: str
    ratelimit_key_env: str | None
    record_mode: str | None
    cassette_dir: Path
    replay_mode: str
    examples: int | None
    requests: int | None
    tokens: int | None
    report_dir: Path
    select: list[str]
    ignore: list[str]
    first_failure_per_rule: bool
    party: str
    mutant: str | None
    seed: int
    timeouts: Timeouts
    max_wait: float
    shrink_requests: int
    baseline: Path | None = None
    """Known deviations (:mod:`conformance.baseline`): their findings are reported as known and fail no check."""
    baseline_update: bool = False
    """Write or refresh :attr:`baseline` from this run when it ends."""
    compare_versions: bool = False
    """Send the same requests under both ``api_versions`` and compare (conformance/suite/test_versions.py)."""
    upstream_control: str | None = None
    """A URL target that is a gateway in front of ``conformance serve``: that server's base URL, to script faults."""
    upstream_control_token_env: str | None = None
    upstream_key_env: str | None = None
    """The variable holding the key the gateway sends upstream (default: the run's own key)."""

    @classmethod
    def of(cls, config: pytest.Config) -> RunOptions:
        get = config.getoption
        return cls(str(get("conformance_target")), get("conformance_api_version"), get("conformance_api_key_env"),
                   get("conformance_ratelimit_key_env"), get("conformance_record_mode"),
                   Path(get("conformance_cassette_dir")),
                   get("conformance_replay_mode"), get("conformance_max_examples"),
                   get("conformance_max_requests"), get("conformance_max_tokens"),
                   Path(get("conformance_report_dir")), list(get("conformance_select") or []),
                   list(get("conformance_ignore") or []), bool(get("conformance_first_failure_per_rule")),
                   get("conformance_party"), get("conformance_mutant"), get("conformance_seed"),
                   Timeouts(get("conformance_timeout"), get("conformance_stream_timeout")),
                   get("conformance_max_wait"), get("conformance_shrink_requests"),
                   baseline=Path(get("conformance_baseline")) if get("conformance_baseline") else None,
                   baseline_update=bool(get("conformance_baseline_update")),
                   compare_versions=bool(get("conformance_compare_versions")),
                   upstream_control=get("conformance_upstream_control"),
                   upstream_control_token_env=get("conformance_upstream_control_token_env"),
                   upstream_key_env=get("conformance_upstream_key_env"))

    @property
    def replaying(self) -> bool:
        return self.target.startswith("cassettes:")

    @property
    def max_examples(self) -> int:
        return self.examples or (LIVE_EXAMPLES if self.live else DEFAULT_EXAMPLES)

    @property
    def max_requests(self) -> int:
        return self.requests or (LIVE_REQUESTS if self.live else 5000)

    @property
    def max_tokens(self) -> int | None:
        return self.tokens or (LIVE_TOKENS if self.live else None)

    @property
    def live(self) -> bool:
        """A URL target: every request costs, and the same request need not get the same answer."""
        return self.target.startswith(("http://", "https://"))

    @property
    def rejudging(self) -> bool:
        return self.replaying and self.replay_mode == "rejudge"


def unreachable(url: str, timeout: float = 5.0) -> str | None:
    """Why ``url`` cannot be a target (malformed, or nothing accepts a connection there), or ``None``.

    Only a TCP connection is opened: nothing is sent, so a live target spends nothing on this check.
    """
    import socket

    import httpx

    try:
        parsed = httpx.URL(url)
        host, port = parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"not a URL ({exc})"
    if not host:
        return "not a URL (no host)"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot connect to {host}:{port} ({exc.strerror or exc})"


def check_target(options: RunOptions) -> None:
    """Refuse a target that cannot work before any check starts (pytest then exits with a usage error)."""
    spec = options.target
    if options.upstream_control and not spec.startswith(("http://", "https://")):
        raise pytest.UsageError("--upstream-control is the control API of a reference server behind a gateway: it "
                                "applies to a URL target only")
    if spec == "reference":
        if options.mutant is not None:
            from conformance.server.config import MUTANTS

            if options.mutant not in MUTANTS:
                raise pytest.UsageError(f"unknown mutant {options.mutant!r}; known: {', '.join(MUTANTS) or 'none'}")
        return
    if options.mutant is not None:
        raise pytest.UsageError("--mutant only applies to --target reference")
    if options.replaying:
        directory = Path(spec.split(":", 1)[1])
        if not directory.is_dir():
            raise pytest.UsageError(f"--target {spec}: {directory} is not a directory of cassettes")
        return
    if spec.startswith(("http://", "https://")):
        if not os.environ.get(options.api_key_env):
            raise pytest.UsageError(f"--target {spec} needs an API key: set the {options.api_key_env} environment "
                                    "variable (or name another with --api-key-env)")
        if options.ratelimit_key_env and not os.environ.get(options.ratelimit_key_env):
            raise pytest.UsageError(f"--ratelimit-key-env {options.ratelimit_key_env}: that environment variable is "
                                    "not set")
        problem = unreachable(spec)
        if problem is not None:
            raise pytest.UsageError(f"--target {spec}: {problem}")
        if options.upstream_control:
            for flag, name in (("--upstream-control-token-env", options.upstream_control_token_env),
                               ("--upstream-key-env", options.upstream_key_env)):
                if name and not os.environ.get(name):
                    raise pytest.UsageError(f"{flag} {name}: that environment variable is not set")
            problem = unreachable(options.upstream_control)
            if problem is not None:
                raise pytest.UsageError(f"--upstream-control {options.upstream_control}: {problem}")
        return
    raise pytest.UsageError(f"unknown target {spec!r}: use reference, a base URL (https://...) or cassettes:DIR")


@contextlib.contextmanager
def open_target(options: RunOptions) -> Iterator[RunTarget]:
    spec = options.target
    recording = options.cassette_dir if options.record_mode else None
    if spec == "reference":
        from conformance.server import ServerConfig, running_server

        server_config = ServerConfig(seed=options.seed, mutant=options.mutant)
        with running_server(server_config) as url:
            keys = _reference_keys()
            yield RunTarget(kind="reference", base_url=url, api_key=keys["default"], keys=keys, deterministic=True,
                            control_api=True, cassette_dir=recording, record_mode=options.record_mode,
                            live_clock=True, control_token=server_config.control_token,
                            fault_control=FaultControl(url, server_config.control_token, keys["default"]),
                            max_wait=options.max_wait)
    elif options.replaying:
        # The control API calls that scripted faults were recorded too, so they replay like the rest.
        # Same (public, test-only) keys as the reference server the shipped cassettes come from.
        keys = _reference_keys()
        yield RunTarget(kind="cassettes", base_url="http://replay.invalid", api_key=keys["default"], keys=keys,
                        deterministic=True, control_api=True, cassette_dir=Path(spec.split(":", 1)[1]),
                        record_mode="none", live_clock=False, max_wait=options.max_wait,
                        fault_control=FaultControl("http://replay.invalid", None, keys["default"]))
    else:
        key = os.environ[options.api_key_env]  # checked in _check_target
        keys = {"default": key}
        if options.ratelimit_key_env:
            keys["free"] = os.environ[options.ratelimit_key_env]  # the burst's key (checked in _check_target)
        faults = None
        if options.upstream_control:
            token = os.environ[options.upstream_control_token_env] if options.upstream_control_token_env else None
            upstream_key = os.environ[options.upstream_key_env] if options.upstream_key_env else key
            faults = FaultControl(options.upstream_control.rstrip("/"), token, upstream_key)
        yield RunTarget(kind="url", base_url=spec.rstrip("/"), api_key=key, keys=keys,
                        deterministic=False, control_api=False, cassette_dir=recording,
                        record_mode=options.record_mode, live_clock=True, max_wait=options.max_wait,
                        fault_control=faults)
