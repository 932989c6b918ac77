"""Secret redaction shared by cassettes, reports and logs: one placeholder, one set of rules.

Two things are redacted wherever text leaves the process:

- the values of headers that carry credentials or account identity (:data:`SECRET_REQUEST_HEADERS`,
  :data:`SECRET_RESPONSE_HEADERS`), whatever they look like;
- anywhere in any text (header values, URLs, bodies): every literal secret the caller knows (the key
  read from the environment) and anything shaped like an Anthropic key (:data:`ANTHROPIC_KEY`), so a
  key the suite was never told about (echoed by a gateway, pasted into a prompt) is caught too.

Everything is replaced by :data:`REDACTED`. Header *names* are kept, so a reader can still see that
a request was authenticated (the auth rules need that); only the values go. All functions are pure.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import overload
from urllib.parse import quote, quote_plus

REDACTED = "REDACTED"
"""The fixed placeholder every redacted value becomes."""

ANTHROPIC_KEY = re.compile(r"sk-ant-[a-z]+\d*-[A-Za-z0-9_-]{8,}")
"""Anything shaped like an Anthropic key (``sk-ant-api03-...``, ``sk-ant-admin01-...``, ``sk-ant-oat01-...``)."""

SECRET_REQUEST_HEADERS: frozenset[str] = frozenset({
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "anthropic-organization-id",
    # gateways and compatible servers take keys under these names
    "api-key",
    "x-goog-api-key",
})
"""Request headers whose values are always redacted (lower case)."""

SECRET_RESPONSE_HEADERS: frozenset[str] = frozenset({
    "set-cookie",
    "anthropic-organization-id",
    # a misbehaving proxy may echo credentials back
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
})
"""Response headers whose values are always redacted (lower case)."""

SECRET_HEADERS: frozenset[str] = SECRET_REQUEST_HEADERS | SECRET_RESPONSE_HEADERS
"""Every header name redacted by default, on either side."""

MIN_SECRET_LENGTH = 6
"""Shorter 'secrets' are ignored: replacing every ``ab`` in a body would destroy it and hide nothing."""

_AUTH_SCHEME = re.compile(r"\A([A-Za-z][A-Za-z0-9_-]*)\s+\S")


def _literal_secrets(secrets: Iterable[str]) -> list[str]:
    """The secrets worth replacing, with their URL-encoded forms, longest first.

    Longest first so a secret that contains another is replaced whole, leaving no tail behind.
    """
    out: set[str] = set()
    for secret in secrets:
        secret = secret.strip()
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        out.update((secret, quote(secret, safe=""), quote_plus(secret)))
    return sorted(out, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every literal secret and every Anthropic-key-shaped string replaced by :data:`REDACTED`."""
    for secret in _literal_secrets(secrets):
        text = text.replace(secret, REDACTED)
    return ANTHROPIC_KEY.sub(REDACTED, text)


def redact_bytes(data: bytes, secrets: Iterable[str] = ()) -> bytes:
    """:func:`redact_text` for a body: works on the bytes, so binary or non-UTF-8 bodies survive untouched."""
    for secret in _literal_secrets(secrets):
        data = data.replace(secret.encode("utf-8"), REDACTED.encode())
    return _ANTHROPIC_KEY_BYTES.sub(REDACTED.encode(), data)


_ANTHROPIC_KEY_BYTES = re.compile(ANTHROPIC_KEY.pattern.encode("ascii"))


def redact_header_value(name: str, value: str, secrets: Iterable[str] = (),
                        names: Collection[str] = SECRET_HEADERS) -> str:
    """One header value, redacted.

    A header in ``names`` loses its whole value; for ``Authorization``-style values the scheme word
    (``Bearer``) is kept because it says how the client authenticated, not who it is.
    """
    if name.lower() in names:
        scheme = _AUTH_SCHEME.match(value) if "authorization" in name.lower() else None
        return f"{scheme.group(1)} {REDACTED}" if scheme else REDACTED
    return redact_text(value, secrets)


@overload
def redact_headers(headers: Mapping[str, str | Sequence[str]], secrets: Iterable[str] = (),
                   names: Collection[str] = SECRET_HEADERS) -> dict[str, str | list[str]]: ...


@overload
def redact_headers(headers: Iterable[tuple[str, str]], secrets: Iterable[str] = (),
                   names: Collection[str] = SECRET_HEADERS) -> list[tuple[str, str]]: ...


def redact_headers(headers: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]],
                   secrets: Iterable[str] = (),
                   names: Collection[str] = SECRET_HEADERS) -> dict[str, str | list[str]] | list[tuple[str, str]]:
    """Headers with secret values redacted, in the shape given.

    A mapping (``{name: value}`` or vcrpy's ``{name: [values]}``) gives a dict of the same shape;
    pairs (``Headers``, ``httpx.Headers.multi_items()``) give a list of pairs, order kept.
    """
    secret_list = list(secrets)
    lowered = {n.lower() for n in names}
    if isinstance(headers, Mapping):
        out: dict[str, str | list[str]] = {}
        for name, value in headers.items():
            if isinstance(value, str):
                out[name] = redact_header_value(name, value, secret_list, lowered)
            else:
                out[name] = [redact_header_value(name, str(v), secret_list, lowered) for v in value]
        return out
    return [(name, redact_header_value(name, value, secret_list, lowered)) for name, value in headers]


_CURL_HEADER = re.compile(r"\A([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s?(.*)\Z", re.DOTALL)


def redact_curl(command: str | Sequence[str], secrets: Iterable[str] = ()) -> str:
    """A ``curl`` reproducer safe to print: secret ``-H`` values and secrets anywhere else redacted.

    Takes the argument list (preferred: no re-parsing) or a command line, and returns a shell-quoted
    command line. A command line that does not parse as shell words is redacted as plain text.
    """
    secret_list = list(secrets)
    if isinstance(command, str):
        try:
            args = shlex.split(command)
        except ValueError:
            return redact_text(command, secret_list)
    else:
        args = list(command)
    out: list[str] = []
    header_next = False
    for arg in args:
        if header_next:
            match = _CURL_HEADER.match(arg)
            if match:
                arg = f"{match.group(1)}: {redact_header_value(match.group(1), match.group(2), secret_list)}"
        out.append(redact_text(arg, secret_list))
        header_next = arg in ("-H", "--header")
    return shlex.join(out)


def secrets_from_env(env: Mapping[str, str], names: Iterable[str]) -> tuple[str, ...]:
    """The values of the named environment variables that are set: the literal secrets to redact."""
    return tuple(v for n in names if (v := env.get(n, "").strip()))
