"""Redaction of secrets in text, bytes, headers and curl reproducers."""

from __future__ import annotations

import base64
import json
import secrets as token
from urllib.parse import quote, quote_plus

import pytest

from conformance.cassettes.redact import (
    FRAGMENT_LENGTH,
    REDACTED,
    SECRET_REQUEST_HEADERS,
    SECRET_RESPONSE_HEADERS,
    redact_bytes,
    redact_curl,
    redact_header_value,
    redact_headers,
    redact_text,
    redactor,
    secrets_from_env,
)
from conformance.exchange import Headers


def fake_key(kind: str = "api03") -> str:
    # built at run time so no key-shaped literal sits in the repository
    return "-".join(("sk", "ant", kind, token.token_urlsafe(24)))


def test_literal_secret_is_replaced_everywhere_in_text() -> None:
    secret = "not-key-shaped-" + token.token_hex(8)
    text = f"a {secret} b {secret}"
    assert redact_text(text, [secret]) == f"a {REDACTED} b {REDACTED}"


def test_key_shaped_strings_are_replaced_without_being_told() -> None:
    key, admin = fake_key(), fake_key("admin01")
    out = redact_text(f'{{"k": "{key}", "a": "{admin}"}}')
    assert key not in out and admin not in out
    assert out == f'{{"k": "{REDACTED}", "a": "{REDACTED}"}}'


def test_text_without_secrets_is_unchanged() -> None:
    text = "sk-ant- is a prefix; sk-ant-api03- alone names a kind of key, not a key"
    assert redact_text(text, ["abc"]) == text


@pytest.mark.parametrize("tail", ["A", "AbCdEfG", "AbCdEfGh"])
def test_a_key_cut_short_is_still_key_shaped(tail: str) -> None:
    # A key's first 20 characters are its 13-character prefix and 7 of its own.
    assert redact_text(f"key=sk-ant-api03-{tail} end") == f"key={REDACTED} end"


def test_short_secrets_are_ignored_rather_than_shredding_the_text() -> None:
    assert redact_text("abc abc", ["ab", "", "   "]) == "abc abc"


def test_url_encoded_secret_is_replaced() -> None:
    secret = "p@ss/word+" + token.token_hex(4)
    from urllib.parse import quote
    assert redact_text(f"https://h/?key={quote(secret, safe='')}", [secret]) == f"https://h/?key={REDACTED}"


def test_longer_secret_containing_a_shorter_one_leaves_no_tail() -> None:
    short = "secret-" + token.token_hex(4)
    long = short + "-extension"
    assert redact_text(long, [short, long]) == REDACTED


def test_redact_bytes_keeps_binary_bodies_intact() -> None:
    key = fake_key()
    data = b"\xff\xfe\x00" + key.encode() + b"\x80"
    assert redact_bytes(data) == b"\xff\xfe\x00" + REDACTED.encode() + b"\x80"
    assert redact_bytes(b"\xff\x00\x80") == b"\xff\x00\x80"


def test_secret_header_values_go_whatever_they_look_like() -> None:
    assert redact_header_value("X-Api-Key", "anything") == REDACTED
    assert redact_header_value("Cookie", "session=abc") == REDACTED
    assert redact_header_value("Set-Cookie", "id=1; Path=/") == REDACTED
    assert redact_header_value("anthropic-organization-id", "org-123") == REDACTED


def test_authorization_keeps_its_scheme_word() -> None:
    assert redact_header_value("Authorization", "Bearer " + fake_key()) == f"Bearer {REDACTED}"
    assert redact_header_value("authorization", "opaque") == REDACTED


def test_ordinary_header_values_are_scrubbed_only_of_secrets() -> None:
    key = fake_key()
    assert redact_header_value("x-echo", f"got {key}") == f"got {REDACTED}"
    assert redact_header_value("content-type", "application/json") == "application/json"


def test_redact_headers_keeps_the_shape_given() -> None:
    key = fake_key()
    as_lists = redact_headers({"x-api-key": [key], "Content-Type": ["application/json"]})
    assert as_lists == {"x-api-key": [REDACTED], "Content-Type": ["application/json"]}
    as_values = redact_headers({"Authorization": "Bearer x", "x-other": key})
    assert as_values == {"Authorization": f"Bearer {REDACTED}", "x-other": REDACTED}
    pairs = redact_headers(Headers([("set-cookie", "a=1"), ("set-cookie", "b=2"), ("request-id", "req_1")]))
    assert pairs == [("set-cookie", REDACTED), ("set-cookie", REDACTED), ("request-id", "req_1")]
    assert Headers(pairs).get_all("set-cookie") == [REDACTED, REDACTED]


def test_redact_headers_with_custom_names() -> None:
    assert redact_headers([("x-tenant", "t1"), ("x-api-key", "k")], names={"X-Tenant"}) == [
        ("x-tenant", REDACTED), ("x-api-key", "k")]


def test_header_name_lists_cover_the_documented_secrets() -> None:
    assert {"x-api-key", "authorization", "anthropic-organization-id", "cookie",
            "proxy-authorization"} <= SECRET_REQUEST_HEADERS
    assert {"set-cookie", "anthropic-organization-id"} <= SECRET_RESPONSE_HEADERS


def test_redact_curl_from_arguments() -> None:
    key = fake_key()
    args = ["curl", "https://api.example/v1/messages", "-H", f"x-api-key: {key}",
            "--header", "anthropic-version: 2023-06-01", "-d", f'{{"note": "{key}"}}']
    out = redact_curl(args)
    assert key not in out
    assert f"'x-api-key: {REDACTED}'" in out
    assert "'anthropic-version: 2023-06-01'" in out
    assert f'{{"note": "{REDACTED}"}}' in out


def test_redact_curl_from_a_command_line_and_from_broken_quoting() -> None:
    secret = "literal-" + token.token_hex(6)
    out = redact_curl(f"curl -H 'Authorization: Bearer {secret}' https://h/x")
    assert secret not in out and f"Bearer {REDACTED}" in out
    broken = f"curl -H 'x-api-key: {secret}"
    assert redact_curl(broken, [secret]) == f"curl -H 'x-api-key: {REDACTED}"


def test_secrets_from_env_reads_only_set_names() -> None:
    env = {"ANTHROPIC_API_KEY": " k1-value ", "EMPTY": "", "OTHER": "x"}
    assert secrets_from_env(env, ["ANTHROPIC_API_KEY", "EMPTY", "MISSING"]) == ("k1-value",)


# --- the exact key the run was given, in every form a target may echo it -----------------------------


def long_key() -> str:
    # Real keys are about 108 characters; token_urlsafe(68) gives 91 after the prefix.
    return fake_key() + "-" + token.token_urlsafe(6)


def _b64_forms(key: str) -> list[str]:
    raw = key.encode()
    return [
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        # inside a larger encoded text, at each alignment modulo 3
        base64.b64encode(b"x-api-key: " + raw + b"\r\n").decode(),
        base64.b64encode(b"Bearer " + raw).decode(),
        base64.b64encode(b'{"k":"' + raw + b'"}').decode(),
    ]


def _escaped(key: str, upper: bool = False) -> str:
    return "".join(f"\\u{ord(c):04X}" if upper else f"\\u{ord(c):04x}" for c in key)


FORMS = {
    "exact": lambda k: k,
    "url-quote": lambda k: quote(k, safe=""),
    "url-quote-plus": lambda k: quote_plus(k),
    "url-every-byte": lambda k: "".join(f"%{b:02X}" for b in k.encode()),
    "url-every-byte-lower": lambda k: "".join(f"%{b:02x}" for b in k.encode()),
    "json-escaped": _escaped,
    "json-escaped-upper": lambda k: _escaped(k, upper=True),
    "base64": lambda k: _b64_forms(k)[0],
    "base64-urlsafe-unpadded": lambda k: _b64_forms(k)[1],
    "base64-in-a-header-line": lambda k: _b64_forms(k)[2],
    "base64-after-bearer": lambda k: _b64_forms(k)[3],
    "base64-in-json": lambda k: _b64_forms(k)[4],
    "split-lf-early": lambda k: k[:5] + "\n" + k[5:],
    "split-crlf-indented": lambda k: k[:50] + "\r\n      " + k[50:],
    "split-json-escaped-newline": lambda k: k[:60] + "\\n" + k[60:],
    "split-twice": lambda k: k[:30] + "\n" + k[30:70] + "\n" + k[70:],
    "first-20": lambda k: k[:20],
    "last-20": lambda k: k[-20:],
    "middle-16": lambda k: k[40:40 + FRAGMENT_LENGTH],
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_given_key_is_redacted_in_every_form(form: str) -> None:
    # The key is redacted as a literal here (not by its shape): prove it with a key that has no sk-ant- shape.
    key = "k3y" + token.token_urlsafe(72)
    shown = FORMS[form](key)
    text = f'{{"echo": "{shown}", "after": "kept"}}'
    out = redact_text(text, [key])
    assert REDACTED in out
    assert out.endswith('"after": "kept"}')
    _assert_no_fragment(out, key)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_given_key_is_redacted_in_every_form_in_bytes(form: str) -> None:
    key = long_key()
    data = b"\xff\x00" + FORMS[form](key).encode() + b"\x80"
    out = redact_bytes(data, [key])
    assert out.startswith(b"\xff\x00") and out.endswith(b"\x80")
    _assert_no_fragment(out.decode("latin-1"), key)


def _assert_no_fragment(out: str, key: str) -> None:
    n = FRAGMENT_LENGTH
    left = [key[i:i + n] for i in range(len(key) - n + 1) if key[i:i + n] in out]
    assert not left, f"fragments of the key survive: {left}"
    for encoded in _b64_forms(key)[:2]:
        assert encoded[4:24] not in out


def test_a_non_ascii_secret_is_redacted_in_text_and_bytes() -> None:
    secret = "pässwörd-" + token.token_hex(8)
    assert redact_text(f"a {secret} b", [secret]) == f"a {REDACTED} b"
    assert redact_bytes(f"a {secret} b".encode(), [secret]) == f"a {REDACTED} b".encode()
    escaped = json.dumps(secret)  # ensure_ascii: \u00e4 for the umlauts
    assert secret not in redact_text(escaped, [secret]) and "REDACTED" in redact_text(escaped, [secret])


def test_fragments_shorter_than_the_threshold_and_unrelated_text_are_kept() -> None:
    key = long_key()
    body = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the quick brown fox"}}'
    assert redact_text(body, [key]) == body
    short = key[30:30 + FRAGMENT_LENGTH - 2]
    assert redact_text(f"x {short} y", [key]) == f"x {short} y"


def test_every_form_is_built_once_per_secret_set() -> None:
    key = long_key()
    assert redactor((key,)) is redactor((key,))
    assert redactor((key,)) is not redactor(())


def test_json_values_are_redacted_before_serialising_so_the_document_stays_valid() -> None:
    secret = 'quo"te\\and-' + token.token_hex(12)
    doc = {"findings": [{"actual": f"x {secret} y", secret: 1, "n": 2}], "ok": None}
    out = redactor((secret,)).json(doc)
    text = json.dumps(out)
    assert json.loads(text) == {"findings": [{"actual": f"x {REDACTED} y", REDACTED: 1, "n": 2}], "ok": None}
    assert secret not in text and json.dumps(secret)[1:-1] not in text
