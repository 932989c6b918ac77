"""The reference server: a deterministic, spec-faithful simulator of the Claude API.

Public API::

    create_app(config=None) -> starlette.applications.Starlette
    ServerConfig(seed=0, keys=None, ..., control_token=<fresh>), KeySpec, DEFAULT_KEYS, load_keys_file(path)
    running_server(config=None) -> ContextManager[str]   # base URL of a live uvicorn in a thread
    serve(host, port, seed, keys_file, mutant, control_token) -> None   # blocking, for ``conformance serve``
    MUTANTS, MUTANT_TABLE: Mutant(name, breaks, rule, behaviour)        # ServerConfig(mutant=NAME)

Control API (test-only, see control.py), every call with ``config.control_token`` (send it with
``conformance.control.control_headers``): ``/_conformance/scenarios`` (faults on demand),
``/_conformance/requests`` (what each key sent, keys fingerprinted), ``/_conformance/reset``,
``/_conformance/clock`` (``{"advance": S}`` moves the rate-limit clock forward, ``{"reset": true}`` puts it
back; answers ``{"offset": S}``).
"""

from conformance.server.app import create_app
from conformance.server.config import DEFAULT_KEYS, MUTANTS, KeySpec, ServerConfig, load_keys_file
from conformance.server.mutants import MUTANT_TABLE, Mutant
from conformance.server.run import running_server, serve

__all__ = ["DEFAULT_KEYS", "MUTANTS", "MUTANT_TABLE", "KeySpec", "Mutant", "ServerConfig", "create_app",
           "load_keys_file", "running_server", "serve"]
