"""Driver for the official Python SDK (``anthropic``), protocol 1 (schemas/sdk/driver-*.schema.json).

Reads scenario lines on stdin, calls the SDK once per line against ANTHROPIC_BASE_URL with
ANTHROPIC_API_KEY, and prints one result line per scenario on stdout. Standard library and the SDK
only: it runs in the SDK's own environment, never imports the suite. Tested from anthropic 0.30 on; what an
older SDK lacks (client.beta, count_tokens, models, a parameter) is reported as unsupported, so not exercised.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
import warnings
from typing import Any

import anthropic

PROTOCOL = 1
SDK = {"name": "anthropic", "version": str(anthropic.__version__), "language": "python"}


def dump(value: Any) -> Any:
    """An SDK object as JSON with the API's field names (pydantic models, pages and lists alike)."""
    if isinstance(value, list):
        return [dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return json.loads(json.dumps(value, default=str))


def error_kind(err: BaseException) -> str:
    if isinstance(err, anthropic.APITimeoutError):
        return "timeout"
    if isinstance(err, anthropic.APIConnectionError):
        return "connection"
    if isinstance(err, anthropic.APIResponseValidationError):
        return "validation"
    if isinstance(err, anthropic.APIStatusError):
        return "api"
    # A stream cut mid-body surfaces as the HTTP library's own error (httpx, or httpx2 from 1.13 on).
    for cls in type(err).__mro__:
        module = cls.__module__.split(".")[0]
        if module in ("httpx", "httpx2", "httpcore", "httpcore2"):
            return "timeout" if "Timeout" in cls.__name__ else "connection"
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, (ConnectionError, OSError)):
        return "connection"
    return "other"


def describe(err: BaseException) -> dict[str, Any]:
    classes = [c.__name__ for c in type(err).__mro__ if c not in (object, BaseException, Exception)]
    body = getattr(err, "body", None)
    inner = body.get("error") if isinstance(body, dict) else None
    etype = inner.get("type") if isinstance(inner, dict) else None
    status = getattr(err, "status_code", None)
    request_id = getattr(err, "request_id", None)
    if request_id is None and getattr(err, "response", None) is not None:
        request_id = err.response.headers.get("request-id")  # type: ignore[attr-defined]
    return {"class": type(err).__name__, "classes": classes, "kind": error_kind(err),
            "status": status if isinstance(status, int) and 100 <= status <= 599 else None,
            "type": etype if isinstance(etype, str) else None,
            "message": str(getattr(err, "message", None) or err)[:100000],
            "request_id": request_id if isinstance(request_id, str) else None}


def make_client(client: dict[str, Any]) -> anthropic.Anthropic:
    options: dict[str, Any] = {"api_key": os.environ["ANTHROPIC_API_KEY"], "base_url": os.environ["ANTHROPIC_BASE_URL"],
                               "max_retries": client["max_retries"], "timeout": client["timeout"]}
    if client.get("strict"):
        options["_strict_response_validation"] = True
    if client.get("api_version"):
        options["default_headers"] = {"anthropic-version": client["api_version"]}
    return anthropic.Anthropic(**options)


class Unsupported(Exception):
    """This SDK version cannot make the call as asked."""


def resource(client: anthropic.Anthropic, scenario: dict[str, Any], name: str) -> Any:
    betas = scenario.get("betas")
    base = getattr(client, "beta", None) if betas else client  # the beta namespace came with anthropic 0.3x
    found = getattr(base, name, None)
    if found is None:
        raise Unsupported(f"anthropic {anthropic.__version__} has no client{'.beta' if betas else ''}.{name}")
    return found


def method(owner: Any, name: str, params: dict[str, Any]) -> Any:
    """``owner.name``, if this SDK version has it and takes every parameter (else :class:`Unsupported`)."""
    found = getattr(owner, name, None)
    if found is None:
        raise Unsupported(f"anthropic {anthropic.__version__} has no {name}")
    accepted = inspect.signature(found).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise Unsupported(f"anthropic {anthropic.__version__}'s {name} has no parameter {', '.join(unknown)}")
    return found


def call(client: anthropic.Anthropic, scenario: dict[str, Any], result: dict[str, Any]) -> Any:
    params = dict(scenario["params"])
    if scenario.get("betas"):
        params["betas"] = scenario["betas"]
    kind = scenario["call"]
    if kind == "messages.create":
        return method(resource(client, scenario, "messages"), "create", params)(**params)
    if kind == "messages.stream":
        stream_info: dict[str, Any] = {"events": [], "text": ""}
        result["stream"] = stream_info
        with method(resource(client, scenario, "messages"), "stream", params)(**params) as stream:
            for event in stream:
                stream_info["events"].append(str(event.type))
                if event.type == "text":
                    stream_info["text"] += event.text
            return stream.get_final_message()
    if kind == "messages.count_tokens":
        return method(resource(client, scenario, "messages"), "count_tokens", params)(**params)
    if kind == "models.list":
        return list(resource(client, scenario, "models").list(**params))
    if kind == "models.retrieve":
        return resource(client, scenario, "models").retrieve(params["model_id"])
    raise Unsupported(f"unknown call {kind!r}")


def run(scenario: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"protocol": PROTOCOL, "sdk": SDK}
    if scenario.get("protocol") != PROTOCOL:
        return {**result, "outcome": "unsupported", "reason": f"this driver speaks protocol {PROTOCOL}"}
    start = time.monotonic()
    try:
        value = call(make_client(scenario["client"]), scenario, result)
        result.update(outcome="ok", response=dump(value))
    except Unsupported as exc:
        result.update(outcome="unsupported", reason=str(exc))
    except Exception as exc:  # whatever the SDK raises is the answer
        result.update(outcome="error", error=describe(exc))
    result["elapsed_ms"] = round((time.monotonic() - start) * 1000, 1)
    return result


def main() -> None:
    warnings.simplefilter("ignore")  # deprecation notices (old model names) are not results
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(run(json.loads(line)), separators=(",", ":")) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
