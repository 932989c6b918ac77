"""The exchange log: one bounded, redacted JSON record per exchange, kept beside ``findings.json``.

``findings.json`` says what was wrong; ``exchanges.jsonl`` keeps what was sent and answered, so a
report (``conformance report DIR``) can show the exchange behind every finding long after the run.
``run`` and ``lint`` both write it, from the same :func:`exchange_fields`; findings are not copied
into it (they stay in ``findings.json`` and are joined on ``file`` + ``interaction``).

One line per exchange, a JSON object with:

    file, interaction     where it came from: the check (run) or the recording (lint), and its index there
    label                 ``POST /v1/messages -> 200 (stream)``
    api_version           the profile that judged it
    areas, intent         run only: the rule areas the check exercises; what the request was sent to provoke
    shrinking             run only: sent from a Hypothesis example while shrinking was on (so the check's
                          last failing exchange is the minimal example)
    method, url, request_headers ({name: [values]}), request_body
    status, response_headers, response_body (``null`` for a stream), stream (bool)
    events                for a stream: ``[{"index", "name", "payload"}]`` (``data`` and ``error`` instead of
                          ``payload`` when the data is not JSON)
    truncated             notes on what was cut to keep the record small (empty when nothing was)

Bodies are JSON values when they parse, else text. Every secret is redacted when the log is written
(:func:`redact_entry`, through :mod:`conformance.cassettes.redact`), never later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from conformance.cassettes.redact import redact_headers, redact_text
from conformance.errors import InputError
from conformance.exchange import Exchange, HttpMessage

EXCHANGES_FILE = "exchanges.jsonl"

MAX_BODY_CHARS = 32_768
"""A body longer than this (as compact JSON or text) is kept as its first characters, with a note."""
MAX_EVENTS = 400
"""Events kept per stream; a reader sees the shape of a stream long before this many."""
MAX_EVENT_CHARS = 2_048
"""An event whose data is longer keeps only the start of its data (as text)."""
MAX_STREAM_CHARS = 65_536
"""All kept events of one stream together; the events after the budget is spent are counted, not kept."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(orjson.dumps(value))


def _body(message: HttpMessage | None, what: str, notes: list[str]) -> Any:
    """The body as JSON when it parses, else text; cut to :data:`MAX_BODY_CHARS` with a note."""
    if message is None or not message.body:
        return None
    value: Any = message.json if message.json_error is None else message.body.decode("utf-8", "replace")
    size = _size(value)
    if size <= MAX_BODY_CHARS:
        return value
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    notes.append(f"{what}: kept the first {MAX_BODY_CHARS:,} of {size:,} characters")
    return text[:MAX_BODY_CHARS]


def _events(exchange: Exchange, notes: list[str]) -> list[dict[str, Any]] | None:
    events = exchange.events
    if events is None:
        return None
    out: list[dict[str, Any]] = []
    spent = 0
    for ev in events:
        if len(out) >= MAX_EVENTS or spent >= MAX_STREAM_CHARS:
            notes.append(f"stream: kept events 0-{len(out) - 1} of {len(events)}")
            break
        record: dict[str, Any] = {"index": ev.index, "name": ev.name}
        size = len(ev.data)
        if ev.parse_error is not None:
            record.update(data=ev.data[:MAX_EVENT_CHARS], error=ev.parse_error)
        elif size > MAX_EVENT_CHARS:
            record.update(data=ev.data[:MAX_EVENT_CHARS], type=ev.type)
            notes.append(f"stream event {ev.index}: kept the first {MAX_EVENT_CHARS:,} of {size:,} characters")
        else:
            record["payload"] = ev.payload
        spent += min(size, MAX_EVENT_CHARS)
        out.append(record)
    return out


def exchange_fields(exchange: Exchange) -> dict[str, Any]:
    """What an exchange log keeps of one exchange (not yet redacted: see :func:`redact_entry`)."""
    req, resp = exchange.request, exchange.response
    notes: list[str] = []
    stream = exchange.is_stream
    return {
        "method": req.method if req is not None else None,
        "url": req.url if req is not None else None,
        "request_headers": req.headers.to_dict() if req is not None else {},
        "request_body": _body(req, "request body", notes),
        "status": resp.status if resp is not None else None,
        "response_headers": resp.headers.to_dict() if resp is not None else {},
        "response_body": None if stream else _body(resp, "response body", notes),
        "stream": stream,
        "events": _events(exchange, notes),
        "truncated": notes,
    }


def redact_json(value: Any, secrets: list[str]) -> Any:
    """A JSON value with every secret or key-shaped string in it (keys included) replaced."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {redact_text(str(k), secrets): redact_json(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v, secrets) for v in value]
    return value


_HEADER_FIELDS = ("request_headers", "response_headers")


def redact_entry(entry: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The entry with credential headers blanked and every secret or key-shaped string replaced, everywhere."""
    secret_list = list(secrets)
    out: dict[str, Any] = {}
    for name, value in entry.items():
        if name in _HEADER_FIELDS and isinstance(value, Mapping):
            out[name] = redact_json(redact_headers(value, secret_list), secret_list)
        else:
            out[name] = redact_json(value, secret_list)
    return out


def write_exchange_log(path: Path, entries: Iterable[Mapping[str, Any]]) -> None:
    """Write entries that :func:`redact_entry` already went over (the writers redact once, before any report)."""
    with path.open("w", encoding="utf-8") as out:
        for entry in entries:
            out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


MAX_LINE_BYTES = 8 * 1024 * 1024
"""The longest exchange-log line read back: a written entry is bounded far below it (bodies, events)."""
_REWRITE = "rewrite it with `conformance run` or `conformance lint --report-dir`"


def read_exchange_log(path: Path) -> Iterator[dict[str, Any]]:
    """The entries of an exchange log, each checked against ``schemas/reports/exchange.schema.json``.

    A broken line (not JSON, too long, too deep, the wrong shape) is an :class:`InputError` naming the file,
    the line and the JSON path."""
    from conformance.reports.documents import EXCHANGE_SCHEMA, check_document

    with path.open("rb") as lines:
        n = 0
        while line := lines.readline(MAX_LINE_BYTES + 1):
            n += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise InputError(f"a line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB", file=str(path),
                                 where=str(n), fix=_REWRITE)
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except RecursionError:
                raise InputError("nested too deeply to be an exchange", file=str(path), where=str(n),
                                 fix=_REWRITE) from None
            except ValueError as exc:
                raise InputError(f"not a JSON object: {exc}", file=str(path), where=str(n), fix=_REWRITE) from None
            if not isinstance(entry, dict):
                raise InputError("not a JSON object", file=str(path), where=str(n),
                                 fix="each line of an exchange log is one exchange as a JSON object")
            check_document(entry, EXCHANGE_SCHEMA, file=str(path), line=n, fix=_REWRITE)
            yield entry
