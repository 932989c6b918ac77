"""The reference server: a deterministic, spec-faithful simulator of the Claude API.

Public API::

    create_app(config=None) -> starlette.applications.Starlette
    ServerConfig(seed=0, keys=None, ...), KeySpec, DEFAULT_KEYS, load_keys_file(path)
    running_server(config=None) -> ContextManager[str]   # base URL of a live uvicorn in a thread
    serve(host, port, seed, keys_file) -> None            # blocking, for ``conformance serve``
"""

from conformance.server.app import create_app
from conformance.server.config import DEFAULT_KEYS, MUTANTS, KeySpec, ServerConfig, load_keys_file
from conformance.server.run import running_server, serve

__all__ = ["DEFAULT_KEYS", "MUTANTS", "KeySpec", "ServerConfig", "create_app", "load_keys_file",
           "running_server", "serve"]
