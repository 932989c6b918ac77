"""Redaction of secrets in text, bytes, headers and curl reproducers."""

from __future__ import annotations

import secrets as token

from conformance.cassettes.redact import (
    REDACTED,
    SECRET_REQUEST_HEADERS,
    SECRET_RESPONSE_HEADERS,
    redact_bytes,
    redact_curl,
    redact_header_value,
    redact_headers,
    redact_text,
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
    text = "sk-ant- is a prefix; sk-ant-api03-short is too short to be a key"
    assert redact_text(text, ["abc"]) == text


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
