"""Per-app shared state and the per-request context the API handlers work from."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import threading

from starlette.requests import Request
from starlette.responses import Response

from conformance.profiles import Profile, Profiles, Tier
from conformance.server.config import KeySpec, ServerConfig
from conformance.server.generate import make_id
from conformance.server.mutants import behaviour_for
from conformance.server.ratelimit import Quota, RateLimiter
from conformance.server.requestlog import ANSWER_HEADERS, LoggedRequest, RequestLog
from conformance.server.scenarios import Scenarios
from conformance.server.streaming import StreamVocabulary

RAW_SEND = "conformance.raw_send"
"""Scope extension holding the ASGI server's own ``send`` (see :func:`abort_connection`)."""


async def abort_connection(request: Request) -> bool:
    """Close the client's connection before any response, when the ASGI server lets us (uvicorn does).

    uvicorn's ``send`` is a method of its per-request cycle, which holds the transport;
    aborting it is exactly "the server went away". Returns False where that is not
    possible (e.g. an in-process test client); the caller then breaks the response instead.
    """
    raw = request.scope.get("extensions", {}).get(RAW_SEND)
    transport = getattr(getattr(raw, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)
    if abort is None:
        return False
    abort()
    # Let the event loop deliver connection_lost, so the server ignores whatever is sent next.
    for _ in range(3):
        await asyncio.sleep(0)
    return True


class ConnectionDropped(Exception):
    """Raised inside a response on purpose: the server breaks the connection (a scripted fault)."""


class _DropFilter(logging.Filter):
    """Keep uvicorn quiet about connections the server drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_drop(record.exc_info[1]))


def _is_drop(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, ConnectionDropped):
            return True
        if isinstance(exc, BaseExceptionGroup) and any(_is_drop(e) for e in exc.exceptions):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def quiet_dropped_connections(logger_name: str = "uvicorn.error") -> None:
    """Install (once) the filter that hides tracebacks of connections dropped on purpose."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


@dataclasses.dataclass
class RequestContext:
    """What the server knows about one API request after reading it."""

    request: Request
    request_id: str
    key: str | None
    key_spec: KeySpec | None
    auth_scheme: str | None
    """``x-api-key`` or ``bearer``."""
    body: bytes
    too_large: bool
    arrived: float
    logged: LoggedRequest


class ServerState:
    """Shared state of one app: config, profiles, behaviour, rate limiter, scenarios, request log and clock."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.behaviour = behaviour_for(config.mutant)
        """What the server does at each seam (faithful, or the config's mutant): see behaviour.py."""
        self.profiles: Profiles = config.load_profiles()
        self.limiter = RateLimiter(self.behaviour.limit_values)
        self.scenarios = Scenarios()
        self.log = RequestLog(config.log_max_requests, config.log_max_bytes, config.log_max_body_bytes)
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._quotas: dict[tuple[str, str], tuple[Profile, Tier, Quota]] = {}
        self._vocabularies: dict[str, tuple[Profile, StreamVocabulary]] = {}
        self._clock_offset = 0.0
        self._id_prefix = f"{config.seed}:".encode()
        self._key_table = config.key_table

    def now(self) -> float:
        """The clock rate-limit windows and reset headers read: the config's clock plus the control offset.

        ``POST /_conformance/clock`` moves it forward, so a run can "wait" for ``retry-after`` instantly.
        """
        return self.config.clock() + self._clock_offset

    def advance_clock(self, seconds: float, limit: float) -> float | None:
        """Add ``seconds`` (>= 0) to the offset and return it; ``None`` (and no change) past ``limit``."""
        with self._lock:
            if self._clock_offset + seconds > limit:
                return None
            self._clock_offset += seconds
            return self._clock_offset

    def reset_clock(self) -> None:
        with self._lock:
            self._clock_offset = 0.0

    def new_request_id(self) -> str:
        with self._lock:
            n = next(self._counter)
        return make_id("req_", self._id_prefix + str(n).encode())

    def quota_of(self, profile: Profile, tier: Tier) -> Quota:
        """``Quota.of(profile, tier)`` (cached: asked on every request)."""
        cache_key = (profile.version, tier.name)
        found = self._quotas.get(cache_key)
        if found is None or found[0] is not profile or found[1] is not tier:
            found = (profile, tier, Quota.of(profile, tier))
            self._quotas[cache_key] = found
        return found[2]

    def vocabulary(self, profile: Profile) -> StreamVocabulary:
        """``StreamVocabulary.of(profile)`` (cached: asked on every stream)."""
        found = self._vocabularies.get(profile.version)
        if found is None or found[0] is not profile:
            found = (profile, StreamVocabulary.of(profile))
            self._vocabularies[profile.version] = found
        return found[1]

    def profile_named(self, version: str | None) -> Profile:
        if version is not None and version in self.profiles:
            return self.profiles.get(version)
        return self.profiles.default

    async def begin(self, request: Request) -> RequestContext:
        """Read the body (up to the size limit), identify the key and log the arrival."""
        arrived = self.config.clock()
        scope = request.scope
        raw_headers = scope["headers"]
        # One pass for the three headers read here: the first of each, as ``request.headers.get`` finds them.
        declared = api_key = authorization = None
        for name, value in raw_headers:
            if name == b"content-length":
                if declared is None:
                    declared = value.decode("latin-1")
            elif name == b"x-api-key":
                if api_key is None:
                    api_key = value
            elif name == b"authorization" and authorization is None:
                authorization = value
        limit = self.config.max_body_bytes
        too_large = False
        if declared is not None and declared.isdigit() and int(declared) > limit:
            too_large = True
        chunks: list[bytes] = []
        size = 0
        if not too_large:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    too_large = True
                    break
                chunks.append(chunk)
        body = b"" if too_large else b"".join(chunks)
        key, scheme = _api_key(api_key.decode("latin-1") if api_key is not None else None,
                               authorization.decode("latin-1") if authorization is not None else "")
        spec = self.behaviour.key_spec(key, self._key_table) if key is not None else None
        whole = int(declared) if too_large and declared is not None and declared.isdigit() else size
        logged = self.log.record(key, request.method, scope["path"], scope.get("query_string", b""), raw_headers,
                                 None if too_large else body, whole, arrived)
        return RequestContext(request, self.new_request_id(), key, spec, scheme, body, too_large, arrived, logged)

    def finish(self, ctx: RequestContext, response: Response) -> Response:
        logged = ctx.logged
        logged.status = response.status_code
        logged.request_id = response.headers.get("request-id")
        logged.answer_headers = {k: v[:200] for k, v in response.headers.items() if k in ANSWER_HEADERS}
        return response


def _api_key(key: str | None, auth: str) -> tuple[str | None, str | None]:
    """(key, scheme) from the ``x-api-key`` and ``authorization`` values (the first of each)."""
    if key:
        return key, "x-api-key"
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), "bearer"
    return None, None


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.conformance
    return state
