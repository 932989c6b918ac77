"""Record and replay HTTP exchanges as vcrpy cassettes, secrets redacted before anything is written.

    my_vcr = make_vcr(Path("cassettes"), record_mode="once", secrets=[api_key])
    with use_cassette(my_vcr, cassette_name(request.node.nodeid)):
        httpx.post(...)              # recorded, or replayed from cassettes/<name>.yaml

vcrpy does the patching, storage and record modes; this module only configures it:

- matching (:data:`MATCH_ON`): method, path, query, the headers that change what the API does
  (``anthropic-version``, ``anthropic-beta``, ``content-type``, whether a key was sent) and the body —
  JSON compared as JSON (key order and whitespace do not matter; ``1``, ``1.0`` and ``true`` stay
  distinct), anything else as bytes — so distinct requests never replay each other. Host, scheme and
  port are not matched: a cassette recorded from the reference server on a random port must replay
  anywhere.
- redaction (:mod:`conformance.cassettes.redact`) of request and response headers, URLs and bodies
  in vcrpy's ``before_record_request`` / ``before_record_response`` hooks, which run before an
  interaction is kept in memory and so before the cassette is saved. Compressed responses are
  decoded first (``decode_compressed_response``), so secrets in gzip bodies are found too.
- storage as readable YAML: bodies as UTF-8 text (never ``!!binary`` unless they really are binary),
  multi-line bodies such as SSE streams in literal ``|`` blocks, long lines not folded.
- playback of identical requests in recorded order (``allow_playback_repeats=False``): a rate-limit
  burst of identical requests replays its falling ``remaining`` one response at a time.

A request with no recording in ``none``/``once`` mode raises vcrpy's
``CannotOverwriteExistingCassetteException`` from inside the HTTP client; :func:`use_cassette`
turns it into an :class:`~conformance.errors.InputError` that keeps vcrpy's description (the
cassette, the request, the closest recorded requests and how they differ) and says how to record it.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from hashlib import sha256
from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr.cassette import Cassette
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request
from vcr.serializers import yamlserializer

from conformance.cassettes.redact import (
    SECRET_REQUEST_HEADERS,
    SECRET_RESPONSE_HEADERS,
    redact_bytes,
    redact_header_value,
    redact_text,
)
from conformance.errors import InputError, UsageError
from conformance.intent import META_HEADER

RECORD_MODES: tuple[str, ...] = ("none", "once", "new_episodes", "all")
"""vcrpy's record modes, by vcrpy's names (vcrpy's ``any`` is undocumented and not offered)."""

CASSETTE_SUFFIX = ".yaml"

MATCH_ON: tuple[str, ...] = ("method", "path", "query", "contract_headers", "json_body")
"""The matchers every cassette uses, in the order vcrpy reports their differences."""

VALUE_MATCHED_HEADERS: tuple[str, ...] = ("anthropic-version", "anthropic-beta", "content-type")
"""Request headers whose values change the response (version probes send the same body)."""

PRESENCE_MATCHED_HEADERS: tuple[str, ...] = ("x-api-key", "authorization")
"""Request headers matched on presence only: their values are redacted, but 'no key' is a distinct request."""

_MAX_NAME = 120
_MAX_DIFF_LINES = 12
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# --- matching -------------------------------------------------------------------------------------


def _canonical_json(body: bytes) -> str | None:
    """``body`` as canonical JSON text, or None if it is not JSON.

    Objects become sorted pair lists (duplicate keys kept, so they still count), and numbers keep
    their JSON spelling, so ``true``/``1``/``1.0`` differ as they do on the wire to a validator.
    """
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        return {"{}": sorted(items, key=lambda kv: (kv[0], json.dumps(kv[1], sort_keys=True)))}

    try:
        parsed = json.loads(body, object_pairs_hook=pairs, parse_float=lambda s: {"float": s},
                            parse_int=lambda s: {"int": s}, parse_constant=lambda s: {"const": s})
    except (ValueError, RecursionError):
        return None
    return json.dumps(parsed, sort_keys=True, indent=1, ensure_ascii=False)


def _readable_json(body: bytes) -> str:
    """The body pretty-printed with sorted keys, for a diff a person can read."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace")


def _body_bytes(request: Request) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    # file-like or iterator bodies: vcrpy re-creates them on each access
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)


def json_body(r1: Request, r2: Request) -> None:
    """vcrpy matcher: bodies equal as JSON when both are JSON, else byte for byte.

    vcrpy calls it with the request being made first and the recorded one second; the diff reads
    recorded -> this request, like vcrpy's own body matcher.
    """
    new, recorded = _body_bytes(r1), _body_bytes(r2)
    if new == recorded:
        return
    c_new, c_recorded = _canonical_json(new), _canonical_json(recorded)
    if c_new is not None and c_new == c_recorded:
        return
    if c_new is None or c_recorded is None:
        if c_new is None and c_recorded is None:
            raise AssertionError(f"the bodies differ ({len(new)} bytes in this request, {len(recorded)} recorded)")
        which = "this request" if c_new is None else "the recorded request"
        raise AssertionError(f"{which} has a body that is not JSON")
    diff = list(difflib.unified_diff(_readable_json(recorded).splitlines(), _readable_json(new).splitlines(),
                                     "recorded", "this request", n=0, lineterm=""))
    # the two file-name lines say nothing a reader needs
    diff = [line for line in diff if not line.startswith(("---", "+++", "@@"))]
    if not diff:
        # equal once re-serialised, distinct on the wire: e.g. 1 vs 1.0, or a duplicated key
        raise AssertionError("the JSON bodies differ in number spelling or duplicated keys")
    shown = diff[:_MAX_DIFF_LINES]
    if len(diff) > _MAX_DIFF_LINES:
        shown.append(f"... ({len(diff) - _MAX_DIFF_LINES} more lines)")
    raise AssertionError("\n".join(shown))


def _header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return None if value is None else str(value).strip()


def contract_headers(r1: Request, r2: Request) -> None:
    """vcrpy matcher: the request headers that change the API's answer agree (see module docstring)."""
    differences: list[str] = []
    for name in VALUE_MATCHED_HEADERS:
        a, b = _header(r1, name), _header(r2, name)
        if a != b:
            differences.append(f"{name}: {b!r} recorded, {a!r} in this request")
    for name in PRESENCE_MATCHED_HEADERS:
        a_sent, b_sent = _header(r1, name) is not None, _header(r2, name) is not None
        if a_sent != b_sent:
            state = {True: "sent", False: "absent"}
            differences.append(f"{name}: {state[b_sent]} when recorded, {state[a_sent]} in this request")
    if differences:
        raise AssertionError("; ".join(differences))


# --- redaction hooks ------------------------------------------------------------------------------


def _secret_header(key: str, value: str, request: Request) -> str:
    """vcrpy ``filter_headers`` replacement: the value goes, an auth scheme word stays."""
    return redact_header_value(key, str(value), (), SECRET_REQUEST_HEADERS)


Annotate = Callable[[], str | None]
"""Returns the ``x-conformance-meta`` value of the request being recorded (``None``: nothing to add)."""


def _request_redactor(secrets: Sequence[str], annotate: Annotate | None = None) -> Callable[[Request], Request]:
    def redact_request(request: Request) -> Request:
        # vcrpy deep-copies the request before its before_record_request hooks, so editing is safe
        request.uri = redact_text(request.uri, secrets)
        request.headers = {name: redact_header_value(name, str(value), secrets, SECRET_REQUEST_HEADERS)
                           for name, value in request.headers.items()}
        meta = annotate() if annotate is not None else None
        if meta is not None:
            # Stored with the recording only (this is vcrpy's copy; the wire never saw it): what the
            # request was for, so a later suite re-judges it instead of regenerating it.
            request.headers[META_HEADER] = redact_text(meta, secrets)
        body = request.body
        if isinstance(body, (bytes, bytearray)):
            request.body = redact_bytes(bytes(body), secrets)
        return request
    return redact_request


def _response_redactor(secrets: Sequence[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def redact_response(response: dict[str, Any]) -> dict[str, Any]:
        headers: Mapping[str, Any] = response.get("headers") or {}
        redacted: dict[str, list[str]] = {}
        for name, values in headers.items():
            values = values if isinstance(values, list) else [values]
            redacted[name] = [redact_header_value(name, str(v), secrets, SECRET_RESPONSE_HEADERS) for v in values]
        body = response.get("body")
        if isinstance(body, dict) and isinstance(body.get("string"), (bytes, str)):
            raw = body["string"]
            data = raw.encode("utf-8") if isinstance(raw, str) else raw
            clean = redact_bytes(data, secrets)
            if clean != data:
                body["string"] = clean
                # a replayed response must not announce more bytes than it carries
                for name in redacted:
                    if name.lower() == "content-length":
                        redacted[name] = [str(len(clean))]
        response["headers"] = redacted
        return response
    return redact_response


# --- storage --------------------------------------------------------------------------------------


# libyaml's emitter when present: recording a whole suite writes many large bodies
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _ReadableDumper(_BaseDumper):  # type: ignore[valid-type,misc]  # chosen at import time
    """YAML that a person can read in a diff: multi-line text as ``|`` blocks.

    PyYAML falls back to a quoted scalar by itself when a block cannot hold the text exactly
    (CR characters, trailing spaces), so round-tripping stays exact.
    """


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_tuple(dumper: yaml.SafeDumper, data: tuple[Any, ...]) -> yaml.SequenceNode:
    return dumper.represent_list(list(data))


_ReadableDumper.add_representer(str, _represent_str)
_ReadableDumper.add_representer(tuple, _represent_tuple)


class ReadableYamlSerializer:
    """vcrpy serializer: writes readable YAML, reads with vcrpy's own safe loader."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        # width: never fold a long JSON line; a folded body is harder to read and to grep
        return yaml.dump(cassette_dict, Dumper=_ReadableDumper, allow_unicode=True, width=1 << 30,
                         sort_keys=True)

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        return yamlserializer.deserialize(cassette_string)


# --- public API -----------------------------------------------------------------------------------


def validate_record_mode(record_mode: str) -> str:
    """``record_mode`` if vcrpy knows it, else a UsageError naming the valid ones."""
    if record_mode not in RECORD_MODES:
        raise UsageError(f"unknown record mode {record_mode!r}", where="--record-mode",
                         fix=f"use one of: {', '.join(RECORD_MODES)}")
    return record_mode


class _ConformanceVCR(vcr.VCR):  # type: ignore[misc]  # vcrpy ships no type hints
    """vcrpy's VCR with a default for ``allow_playback_repeats``, which vcrpy only takes per cassette."""

    allow_playback_repeats = False

    def get_merged_config(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("allow_playback_repeats", self.allow_playback_repeats)
        config: dict[str, Any] = super().get_merged_config(**kwargs)
        return config


def make_vcr(cassette_dir: Path, record_mode: str = "none", secrets: Sequence[str] = (), *,
             allow_playback_repeats: bool = False, annotate: Annotate | None = None) -> vcr.VCR:
    """A vcrpy ``VCR`` storing ``<cassette_dir>/<name>.yaml``, configured as the module docstring says.

    ``secrets`` are the literal values to redact (the API key); Anthropic-key-shaped strings and the
    secret headers are redacted regardless. ``allow_playback_repeats`` lets one recording answer any
    number of identical requests — only for checks that do not depend on the target's state.
    ``annotate`` gives the metadata of the request being recorded, stored as its ``x-conformance-meta``
    header in the cassette (see :mod:`conformance.intent`).
    """
    mode = validate_record_mode(record_mode)
    secret_list = [s for s in secrets if s]
    my_vcr = _ConformanceVCR(
        cassette_library_dir=str(cassette_dir),
        path_transformer=vcr.VCR.ensure_suffix(CASSETTE_SUFFIX),
        record_mode=mode,
        match_on=MATCH_ON,
        serializer="yaml",
        decode_compressed_response=True,
        # vcrpy's declarative header filter first; the hook below then scrubs everything else
        filter_headers=[(name, _secret_header) for name in sorted(SECRET_REQUEST_HEADERS)],
        before_record_request=_request_redactor(secret_list, annotate),
        before_record_response=_response_redactor(secret_list),
    )
    my_vcr.allow_playback_repeats = allow_playback_repeats
    my_vcr.register_serializer("yaml", ReadableYamlSerializer())
    my_vcr.register_matcher("json_body", json_body)
    my_vcr.register_matcher("contract_headers", contract_headers)
    return my_vcr


def cassette_name(test_id: str) -> str:
    """A safe, stable file name (no suffix) for a pytest node id or a check name.

    Characters outside ``[A-Za-z0-9._-]`` become ``-``. When that changed anything, or the name
    had to be shortened, a short hash of the original id is appended, so two ids that clean up to the
    same text (``a/b`` and ``a-b``) still get different cassettes.
    """
    cleaned = _UNSAFE.sub("-", test_id).strip("-.")
    if cleaned == test_id and 0 < len(cleaned) <= _MAX_NAME:
        return cleaned
    digest = sha256(test_id.encode("utf-8")).hexdigest()[:10]
    head = cleaned[:_MAX_NAME].rstrip("-.")
    return f"{head}-{digest}" if head else f"cassette-{digest}"


def unmatched_request_error(exc: CannotOverwriteExistingCassetteException) -> InputError:
    """vcrpy's 'no recording for this request' as an InputError: its description, our fix."""
    cassette: Cassette = exc.cassette
    text = str(exc)
    # vcrpy's own advice names its Python arguments; a user of the suite sets --record-mode instead
    description = text.split("\nHow to fix:", 1)[0].rstrip()
    reason = getattr(exc, "reason", "")
    if reason == "already_played":
        fix = ("the run sent this request more often than when it was recorded; "
               "re-record with --record-mode new_episodes (or all)")
    elif reason == "cassette_not_found":
        fix = "record it first against a target: --record-mode once (or new_episodes)"
    else:
        fix = ("if the request changed on purpose, re-record: --record-mode new_episodes, "
               "or --record-mode all to start the cassette afresh")
    return InputError(description, file=str(cassette.path), fix=fix)


@contextlib.contextmanager
def use_cassette(my_vcr: vcr.VCR, name: str, **kwargs: Any) -> Iterator[Cassette]:
    """``my_vcr.use_cassette(name)``, with a missing recording raised as :class:`InputError`.

    ``name`` is a file name without suffix (see :func:`cassette_name`); keyword arguments go to
    vcrpy (e.g. ``allow_playback_repeats=True``).
    """
    try:
        with my_vcr.use_cassette(name, **kwargs) as cassette:
            yield cassette
    except CannotOverwriteExistingCassetteException as exc:
        raise unmatched_request_error(exc) from exc
