"""``conformance proxy``: a validating, recording pass-through for any client, in any language.

    serve_proxy(ProxyOptions(upstream="reference")) -> exit code      blocking, the command
    running_proxy(ProxyOptions(...)) -> ContextManager[(url, Proxy)]  in a thread, for tests and benchmarks

Modules: :mod:`~conformance.proxy.app` (the ASGI app: forward, relay, judge after), :mod:`~conformance.proxy.session`
(numbering, live lines, records, recording, verdict), :mod:`~conformance.proxy.run` (uvicorn and httpx around them).
Every exchange is judged by :mod:`conformance.live`, the engine ``lint`` and ``ValidatingTransport`` share.
"""

from conformance.proxy.run import Proxy, ProxyOptions, running_proxy, serve_proxy

__all__ = ["Proxy", "ProxyOptions", "running_proxy", "serve_proxy"]
