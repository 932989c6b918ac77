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

import base64
import functools
import re
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, overload
from urllib.parse import quote, quote_plus

REDACTED = "REDACTED"
"""The fixed placeholder every redacted value becomes."""

ANTHROPIC_KEY = re.compile(r"sk-ant-[a-z]+\d*-[A-Za-z0-9_-]+")
"""Anything shaped like an Anthropic key (``sk-ant-api03-...``, ``sk-ant-admin01-...``, ``sk-ant-oat01-...``).

One character after the kind is enough: a key cut short (its first 20 characters, a key wrapped onto
two lines) still gives part of itself away."""

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

FRAGMENT_LENGTH = 16
"""Any run of this many characters of a secret is redacted wherever it appears (its first or last 20
characters, a piece of it next to a line break): a fragment that long still narrows a key down."""

_AUTH_SCHEME = re.compile(r"\A([A-Za-z][A-Za-z0-9_-]*)\s+\S")

# Fragments are found by looking up the text's windows of _WINDOW characters, taken every _WINDOW
# characters, in a table of the secret's windows: any fragment of 2 * _WINDOW - 1 characters or more
# holds one sampled window whole, so the scan costs len(text) / _WINDOW dict lookups.
_WINDOW = 8
assert 2 * _WINDOW - 1 <= FRAGMENT_LENGTH
# What a secret may be split by and still be the secret: a line break (raw, or escaped inside a JSON
# string) and the indentation after it.
_SPLIT_AFTER = re.compile(r"(?:\r\n|\r|\n|\\r\\n|\\n|\\r)[ \t]*")
_SPLIT_BEFORE = re.compile(r"(?:\r\n|\r|\n|\\r\\n|\\n|\\r)[ \t]*\Z")
_SPLIT_LOOKBEHIND = 16


def encoded_forms(secret: str) -> set[str]:
    r"""The secret as it may appear once encoded: URL-encoded, JSON ``\uXXXX``-escaped, base64.

    Base64 of a text that holds the secret depends on where the secret starts modulo 3, so each of
    the three alignments contributes the characters that depend on the secret's bytes alone.
    """
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    forms.update(("".join(f"%{b:02X}" for b in raw), "".join(f"%{b:02x}" for b in raw)))
    units = secret.encode("utf-16-be")
    code_units = [int.from_bytes(units[i:i + 2], "big") for i in range(0, len(units), 2)]
    forms.update(("".join(f"\\u{u:04x}" for u in code_units), "".join(f"\\u{u:04X}" for u in code_units)))
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start, end = -(-8 * offset // 6), 8 * (offset + len(raw)) // 6
        middle = encoded[start:end]
        forms.update((middle, middle.replace("+", "-").replace("/", "_")))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class _Literals:
    """Every form of a set of secrets, over text of one alphabet (real text, or bytes read as latin-1)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            forms |= encoded_forms(secret)
        # Longest first, so a form that contains another is replaced whole, leaving no tail behind.
        ordered = sorted(forms, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.secrets = [s for s in secrets if len(s) >= FRAGMENT_LENGTH]
        self.windows: dict[str, list[tuple[int, int]]] = {}
        for n, secret in enumerate(self.secrets):
            for offset in range(len(secret) - _WINDOW + 1):
                self.windows.setdefault(secret[offset:offset + _WINDOW], []).append((n, offset))

    def apply(self, text: str) -> str:
        if self.pattern is not None:
            text = self.pattern.sub(REDACTED, text)
        if self.windows:
            text = self._fragments(text)
        return text

    def _fragments(self, text: str) -> str:
        spans: list[tuple[int, int]] = []
        windows = self.windows
        pos, size = 0, len(text)
        while pos + _WINDOW <= size:
            hits = windows.get(text[pos:pos + _WINDOW])
            if hits is None:
                pos += _WINDOW
                continue
            end = pos + _WINDOW
            for n, offset in hits:
                span = self._extend(text, self.secrets[n], pos, offset)
                if span is not None:
                    spans.append(span)
                    end = max(end, span[1])
            pos = end
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, stop in sorted(spans):
            if stop <= last:
                continue
            out.append(text[last:max(start, last)])
            out.append(REDACTED)
            last = stop
        out.append(text[last:])
        return "".join(out)

    @staticmethod
    def _extend(text: str, secret: str, pos: int, offset: int) -> tuple[int, int] | None:
        """The span around ``text[pos:]`` (equal to ``secret[offset:]`` for a window) that spells a long
        fragment of ``secret``, allowing line breaks inside; ``None`` when the fragment is short."""
        i, j = pos + _WINDOW, offset + _WINDOW
        matched = _WINDOW
        while j < len(secret) and i < len(text):
            if text[i] == secret[j]:
                i, j, matched = i + 1, j + 1, matched + 1
                continue
            split = _SPLIT_AFTER.match(text, i)
            if split is None or split.end() >= len(text) or text[split.end()] != secret[j]:
                break
            i = split.end()
        stop = i
        i, j = pos, offset
        while j > 0 and i > 0:
            if text[i - 1] == secret[j - 1]:
                i, j, matched = i - 1, j - 1, matched + 1
                continue
            split = _SPLIT_BEFORE.search(text, max(0, i - _SPLIT_LOOKBEHIND), i)
            if split is None or split.start() == 0 or text[split.start() - 1] != secret[j - 1]:
                break
            i = split.start()
        return (i, stop) if matched >= FRAGMENT_LENGTH else None


class Redactor:
    """Redaction for one set of literal secrets, every form built once (it runs on every recorded body).

    Redacts each secret as given and in :func:`encoded_forms`, every run of :data:`FRAGMENT_LENGTH`
    or more of its characters (also across a line break), and anything shaped like an Anthropic key.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = sorted({s.strip() for s in secrets if len(s.strip()) >= MIN_SECRET_LENGTH})
        self._text = _Literals(kept)
        # Bytes are redacted as latin-1 text: one character per byte, so any body survives the round trip.
        as_latin1 = [s.encode("utf-8").decode("latin-1") for s in kept]
        self._bytes = self._text if as_latin1 == kept else _Literals(as_latin1)

    def text(self, text: str) -> str:
        return ANTHROPIC_KEY.sub(REDACTED, self._text.apply(text))

    def bytes(self, data: bytes) -> bytes:
        text = data.decode("latin-1")
        redacted = ANTHROPIC_KEY.sub(REDACTED, self._bytes.apply(text))
        return data if redacted == text else redacted.encode("latin-1")

    def json(self, value: Any) -> Any:
        """A parsed JSON value with every string in it (keys too) redacted: redacting before
        serialising keeps the document valid, whatever characters a secret holds."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.json(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.json(v) for v in value]
        return value


@functools.lru_cache(maxsize=32)
def redactor(secrets: tuple[str, ...] = ()) -> Redactor:
    """The :class:`Redactor` for ``secrets``, built once per distinct set."""
    return Redactor(secrets)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every form of every literal secret and every Anthropic-key-shaped string redacted."""
    return redactor(tuple(secrets)).text(text)


def redact_bytes(data: bytes, secrets: Iterable[str] = ()) -> bytes:
    """:func:`redact_text` for a body: works on the bytes, so binary or non-UTF-8 bodies survive untouched."""
    return redactor(tuple(secrets)).bytes(data)


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
