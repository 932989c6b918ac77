"""A driver without any SDK: the Messages API over raw HTTP (standard library only), protocol 1.

It proves the driver protocol is language-neutral: nothing here comes from the suite or an SDK. It does
what an SDK does (headers, retries with backoff and the server's hints, SSE accumulation, timeouts) in
about 200 lines. ``--fault NAME`` breaks exactly one behaviour, so the tests can show that each check
catches its fault (see FAULTS); ``--one-shot`` answers one scenario and exits.
``python raw_driver.py [--fault NAME] [--one-shot]`` reads scenario lines on stdin.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import sys
import time
import urllib.parse
from typing import Any

PROTOCOL = 1
VERSION = "2023-06-01"
FAULTS = {
    "no-version": "drops the anthropic-version header",
    "two-versions": "sends anthropic-version twice",
    "retry-400": "retries a 400",
    "ignore-retry-after": "ignores retry-after (seconds), backing off on its own",
    "never-retry-529": "never retries a 529",
    "retry-forever": "retries a retryable failure whatever max_retries says",
    "swallow-stream-error": "returns the partial message when a stream carries an error event",
    "partial-after-drop": "returns the partial message when the connection drops mid-stream",
    "text-out-of-order": "accumulates a block's text deltas in the wrong order",
    "500-as-success": "reports a 500 as a success",
    "no-auth": "sends no key",
    "text-content-type": "declares its JSON body text/plain",
    "string-max-tokens": "sends max_tokens as a string",
    # Protocol breakers (not SDK faults): the runner must turn each into one line, never a traceback.
    "garbage": "prints something that is not JSON",
    "crash": "dies with a traceback before answering",
    "hang": "never answers",
    "huge": "prints a line of 5 MiB",
    "deep": "prints JSON nested 10 000 levels deep",
    "wrong-shape": "prints JSON that is not a result",
}
FAULT = sys.argv[sys.argv.index("--fault") + 1] if "--fault" in sys.argv else None
SDK = {"name": "raw-http", "version": "1", "language": "python"}


class ApiError(Exception):
    def __init__(self, status: int | None, body: Any, request_id: str | None, message: str = "") -> None:
        inner = body.get("error") if isinstance(body, dict) else None
        self.status, self.request_id = status, request_id
        self.type = inner.get("type") if isinstance(inner, dict) else None
        super().__init__(message or (inner or {}).get("message") or f"status {status}")


class Dropped(Exception):
    """The connection broke, before an answer or in the middle of one."""


class TimedOut(Exception):
    """No byte for longer than the scenario's timeout."""


def _headers(scenario: dict[str, Any]) -> list[tuple[str, str]]:
    version = scenario["client"].get("api_version") or VERSION
    out = [("content-type", "text/plain" if FAULT == "text-content-type" else "application/json"),
           ("accept", "application/json"), ("user-agent", "raw-http-driver/1")]
    if FAULT != "no-auth":
        out.append(("x-api-key", os.environ["ANTHROPIC_API_KEY"]))
    if FAULT != "no-version":
        out.append(("anthropic-version", version))
    if FAULT == "two-versions":
        out.append(("anthropic-version", version))
    if scenario.get("betas"):
        out.append(("anthropic-beta", ",".join(scenario["betas"])))
    return out


def _send(method: str, path: str, body: Any, scenario: dict[str, Any]) -> http.client.HTTPResponse:
    base = urllib.parse.urlsplit(os.environ["ANTHROPIC_BASE_URL"])
    conn = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=scenario["client"]["timeout"])
    conn.putrequest(method, base.path.rstrip("/") + path, skip_accept_encoding=True)
    if FAULT == "string-max-tokens" and isinstance(body, dict) and "max_tokens" in body:
        body = {**body, "max_tokens": str(body["max_tokens"])}
    data = json.dumps(body).encode() if body is not None else None
    for name, value in _headers(scenario):
        conn.putheader(name, value)
    if data is not None:
        conn.putheader("content-length", str(len(data)))
    conn.endheaders(data)
    return conn.getresponse()


def _retryable(status: int, should_retry: str | None) -> bool:
    if FAULT == "never-retry-529" and status == 529:
        return False
    if FAULT == "retry-400" and status == 400:
        return True
    if should_retry in ("true", "false"):
        return should_retry == "true"
    return status in (408, 409, 429) or status >= 500


def _wait(retry: int, headers: Any) -> float:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        if name == "retry-after" and FAULT == "ignore-retry-after":
            continue
        value = headers.get(name) if headers is not None else None
        try:
            seconds = float(value) * scale if value is not None else None
        except ValueError:
            seconds = None
        if seconds is not None and seconds > 0:
            return seconds
    return min(0.5 * 2 ** retry, 8.0) * (1 - 0.25 * random.random())


def request(method: str, path: str, body: Any, scenario: dict[str, Any]) -> http.client.HTTPResponse:
    """One call with retries: the response of the last attempt (a 2xx), or the error that ended it."""
    max_retries = scenario["client"]["max_retries"]
    retry = 0
    while True:
        headers = None
        try:
            response = _send(method, path, body, scenario)
        except TimeoutError:
            failure: Exception = TimedOut(f"no answer within {scenario['client']['timeout']} s")
        except (OSError, http.client.HTTPException) as exc:
            failure = Dropped(str(exc) or type(exc).__name__)
        else:
            if response.status < 400:
                return response
            headers = response.headers
            raw = response.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            failure = ApiError(response.status, parsed, headers.get("request-id"))
            final = not _retryable(response.status, headers.get("x-should-retry")) or \
                (retry >= max_retries and FAULT != "retry-forever")
            if final and FAULT == "500-as-success" and response.status == 500:
                response.fake_body = raw  # type: ignore[attr-defined]
                return response
            if final:
                raise failure
        if retry >= max_retries and FAULT != "retry-forever":
            raise failure
        time.sleep(_wait(retry, headers))
        retry += 1


def _events(response: http.client.HTTPResponse) -> Any:
    """(event type, data) of an SSE body, line by line."""
    data: list[str] = []
    while True:
        try:
            line = response.readline()
        except TimeoutError:
            raise TimedOut("the stream stalled past the timeout") from None
        except (OSError, http.client.HTTPException) as exc:
            raise Dropped(str(exc) or type(exc).__name__) from None
        if not line:
            return
        text = line.decode().rstrip("\r\n")
        if text.startswith("data:"):
            data.append(text[5:].lstrip())
        elif not text and data:
            payload = json.loads("\n".join(data))
            data = []
            yield payload.get("type"), payload


def stream(body: dict[str, Any], scenario: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    response = request("POST", "/v1/messages", {**body, "stream": True}, scenario)
    info = result["stream"] = {"events": [], "text": ""}
    message: dict[str, Any] = {}
    pieces: dict[int, list[str]] = {}
    try:
        for kind, event in _events(response):
            info["events"].append(kind)
            if kind == "message_start":
                message = event["message"]
            elif kind == "content_block_start":
                message["content"].append(event["content_block"])
                pieces[event["index"]] = []
            elif kind == "content_block_delta":
                block, delta = message["content"][event["index"]], event["delta"]
                if delta["type"] == "text_delta":
                    info["text"] += delta["text"]
                    if FAULT == "text-out-of-order":
                        block["text"] = delta["text"] + block["text"]
                    else:
                        block["text"] += delta["text"]
                elif delta["type"] == "thinking_delta":
                    block["thinking"] += delta["thinking"]
                elif delta["type"] == "signature_delta":
                    block["signature"] = delta["signature"]
                elif delta["type"] == "input_json_delta":
                    pieces[event["index"]].append(delta["partial_json"])
            elif kind == "content_block_stop":
                joined = "".join(pieces.get(event["index"], []))
                if message["content"][event["index"]]["type"] == "tool_use" and joined:
                    message["content"][event["index"]]["input"] = json.loads(joined)
            elif kind == "message_delta":
                message.update(event["delta"])
                message["usage"].update(event.get("usage") or {})
            elif kind == "message_stop":
                return message
            elif kind == "error":
                if FAULT == "swallow-stream-error":
                    return message
                raise ApiError(200, event, response.headers.get("request-id"))
    except Dropped:
        if FAULT == "partial-after-drop":
            return message
        raise
    if FAULT == "partial-after-drop":
        return message
    raise Dropped("the stream ended before message_stop")


def call(scenario: dict[str, Any], result: dict[str, Any]) -> Any:
    params, kind = scenario["params"], scenario["call"]
    beta = "?beta=true" if scenario.get("betas") else ""
    if kind == "messages.create":
        response = request("POST", "/v1/messages" + beta, params, scenario)
        return json.loads(getattr(response, "fake_body", None) or response.read())
    if kind == "messages.stream":
        return stream(params, scenario, result)
    if kind == "messages.count_tokens":
        return json.loads(request("POST", "/v1/messages/count_tokens", params, scenario).read())
    if kind == "models.list":
        models: list[Any] = []
        query = {"limit": params.get("limit", 20)}
        while True:
            page = json.loads(request("GET", "/v1/models?" + urllib.parse.urlencode(query), None, scenario).read())
            models += page["data"]
            if not page.get("has_more"):
                return models
            query["after_id"] = page["last_id"]
    if kind == "models.retrieve":
        return json.loads(request("GET", f"/v1/models/{params['model_id']}", None, scenario).read())
    raise NotImplementedError(kind)


def describe(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, TimedOut):
        kind = "timeout"
    elif isinstance(exc, ApiError):
        kind = "api"
    elif isinstance(exc, (Dropped, socket.error)):
        kind = "connection"
    else:
        kind = "other"
    return {"class": type(exc).__name__, "classes": [type(exc).__name__], "kind": kind,
            "status": getattr(exc, "status", None), "type": getattr(exc, "type", None), "message": str(exc),
            "request_id": getattr(exc, "request_id", None)}


def run(scenario: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"protocol": PROTOCOL, "sdk": SDK}
    if scenario["client"].get("strict"):
        return {**result, "outcome": "unsupported", "reason": "raw HTTP has no types to validate answers against"}
    start = time.monotonic()
    try:
        result.update(outcome="ok", response=call(scenario, result))
    except Exception as exc:  # whatever went wrong is the answer
        result.update(outcome="error", error=describe(exc))
    result["elapsed_ms"] = round((time.monotonic() - start) * 1000, 1)
    return result


def misbehave() -> None:
    if FAULT == "garbage":
        print("Traceback? no: just some garbage on stdout", flush=True)
    elif FAULT == "crash":
        raise RuntimeError("the driver crashed")
    elif FAULT == "hang":
        time.sleep(3600)
    elif FAULT == "huge":
        sys.stdout.write('{"x": "' + "a" * (5 * 1024 * 1024) + '"}\n')
    elif FAULT == "deep":
        sys.stdout.write("[" * 10000 + "]" * 10000 + "\n")
    elif FAULT == "wrong-shape":
        sys.stdout.write(json.dumps({"protocol": 1, "sdk": SDK, "outcome": "maybe"}) + "\n")
    sys.stdout.flush()


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        if FAULT in ("garbage", "crash", "hang", "huge", "deep", "wrong-shape"):
            misbehave()
            continue
        sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
        sys.stdout.flush()
        if "--one-shot" in sys.argv:
            return  # a driver may answer one scenario and exit: the runner starts it again


if __name__ == "__main__":
    main()
