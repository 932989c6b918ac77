"""Requests, for validating clients and gateways; and the request validator the reference server uses.

Two pure functions answer "would the API reject this?" exactly as the API words it:

* :func:`request_problems` — the body: schema violations plus the cross-field rules no
  schema can express (the first turn's role where the version fixes it, ``tool_result`` ids, ``tool_choice``,
  thinking budget, the version's own rejections, what the named model refuses: a thinking type, sampling,
  temperature with top_p, ``speed``, an effort level), most useful first, each message in
  the API's style (``messages.0.role: Input should be 'user' or 'assistant'``).
* :func:`header_problems` — ``anthropic-version`` and auth, with the API's messages.
  ``keyword`` tells the status: ``authentication`` -> 401, anything else -> 400.

The Checks turn them into findings. Recorders filter auth (and sometimes every
request header), so a missing header in a recording is info, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from conformance.endpoints import BODY_ENDPOINTS, endpoint_named
from conformance.exchange import Exchange, Headers, endpoint_of
from conformance.findings import CLIENT, Finding, Severity, error, info, warning
from conformance.profiles import Profile, Profiles
from conformance.rules.base import Check, Context, RuleInfo
from conformance.rules.ratelimit import header_path
from conformance.schemas import Violation, split_profile_lag

REJECTED_AS_EXPECTED = "request.rejected-as-expected"

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("request.auth", Severity.ERROR, "the request authenticates with x-api-key or Authorization: Bearer",
             party=CLIENT),
    RuleInfo("request.version-missing", Severity.ERROR, "the request sends anthropic-version", party=CLIENT),
    RuleInfo("request.version-unknown", Severity.ERROR, "anthropic-version is a version in the table", party=CLIENT),
    RuleInfo("request.version-duplicated", Severity.ERROR, "exactly one anthropic-version value", party=CLIENT),
    RuleInfo("request.content-type", Severity.ERROR, "a request with a body declares application/json", party=CLIENT),
    RuleInfo("request.cross-field", Severity.ERROR,
             "the request obeys the rules across fields (first turn, tool ids, tool_choice, thinking, version, model)",
             party=CLIENT),
    RuleInfo("request.accepted-invalid", Severity.ERROR, "the server does not answer 2xx to an invalid request"),
    RuleInfo(REJECTED_AS_EXPECTED, Severity.WARNING,
             "the client sent a request the API rejects, and the server rejected it as the API does", party=CLIENT),
)


_TYPE_WORDS = {"integer": "a valid integer", "string": "a valid string", "object": "a valid dictionary",
               "array": "a valid list", "boolean": "a valid boolean", "number": "a valid number",
               "null": "None"}
_QUOTED = re.compile(r"'([^']*)'")


def _words(values: list[Any]) -> str:
    shown = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}[{key!r}]"


def _api_style(v: Violation) -> list[Violation]:
    """Re-word one jsonschema violation as the API words it (paths copied, only extended by a key name)."""
    kw, exp = v.keyword, v.expected
    if kw in ("additionalProperties", "unevaluatedProperties"):
        return [_prefixed(v, "Extra inputs are not permitted")]  # already one per key, at its path
    if kw == "required":
        names = _QUOTED.findall(v.message)[:1]
        path = _child(v.path, names[0]) if names else v.path
        return [_prefixed(Violation(path, "", v.schema_path, kw, v.expected, v.actual), "Field required")]
    if kw == "enum" and isinstance(exp, list):
        text = f"Input should be {_words(exp)}"
    elif kw == "const":
        text = f"Input should be {_words([exp])}"
    elif kw == "type":
        types = exp if isinstance(exp, list) else [exp]
        text = "Input should be " + " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
    elif kw == "minimum":
        text = f"Input should be greater than or equal to {exp}"
    elif kw == "exclusiveMinimum":
        text = f"Input should be greater than {exp}"
    elif kw == "maximum":
        text = f"Input should be less than or equal to {exp}"
    elif kw == "exclusiveMaximum":
        text = f"Input should be less than {exp}"
    elif kw == "minItems":
        text = f"List should have at least {exp} item{'s' if exp != 1 else ''} after validation"
    elif kw == "maxItems":
        text = f"List should have at most {exp} item{'s' if exp != 1 else ''} after validation"
    elif kw == "minLength":
        text = f"String should have at least {exp} character{'s' if exp != 1 else ''}"
    elif kw == "maxLength":
        text = f"String should have at most {exp} character{'s' if exp != 1 else ''}"
    elif kw == "pattern":
        text = f"String should match pattern '{exp}'"
    else:
        text = v.message
    return [_prefixed(v, text)]


def _prefixed(v: Violation, text: str) -> Violation:
    where = v.dotted
    return Violation(v.path, f"{where}: {text}" if where else text, v.schema_path, v.keyword, v.expected, v.actual)


# A cross-field rule has no JSON Schema keyword, so ``keyword`` names the rule: a caller (the reference
# server's mutants) picks one out by this field, never by the wording of its message.
FIRST_TURN_ROLE = "first-turn-role"
TOOL_RESULT_UNKNOWN_ID = "tool-result-unknown-id"
TOOL_CHOICE_WITHOUT_TOOLS = "tool-choice-without-tools"
TOOL_CHOICE_UNKNOWN_TOOL = "tool-choice-unknown-tool"
THINKING_BUDGET_NOT_BELOW_MAX_TOKENS = "thinking-budget-not-below-max-tokens"
VERSION_REJECTED = "version"
"""The version's own rejections (``request_rules`` in profile.json)."""
THINKING_UNSUPPORTED_MODEL = "thinking-unsupported-model"
SAMPLING_UNSUPPORTED_MODEL = "sampling-unsupported-model"
TEMPERATURE_WITH_TOP_P = "temperature-with-top-p"
SPEED_UNSUPPORTED_MODEL = "speed-unsupported-model"
EFFORT_UNSUPPORTED_LEVEL = "effort-unsupported-level"
MODEL_REJECTED = frozenset({THINKING_UNSUPPORTED_MODEL, SAMPLING_UNSUPPORTED_MODEL, TEMPERATURE_WITH_TOP_P,
                            SPEED_UNSUPPORTED_MODEL, EFFORT_UNSUPPORTED_LEVEL})
"""What the named model refuses (``accepts`` in the profile's catalogue)."""
CROSS_FIELD = frozenset({FIRST_TURN_ROLE, TOOL_RESULT_UNKNOWN_ID, TOOL_CHOICE_WITHOUT_TOOLS, TOOL_CHOICE_UNKNOWN_TOOL,
                         THINKING_BUDGET_NOT_BELOW_MAX_TOKENS}) | MODEL_REJECTED
"""Rules across fields that the API enforced at some point in its life (a 2024 recording shows a tool_result id
mismatch answered 200; a model starts refusing temperature with top_p, loses fast mode, ...): what a server
accepted of these is a warning, not a breach."""


def _cross(path: str, text: str, keyword: str, expected: Any = None, actual: Any = None) -> Violation:
    v = Violation(path, "", "", keyword, expected, actual)
    return _prefixed(v, text)


def _shown(value: Any, limit: int = 80) -> str:
    """A value as a message quotes it: whatever its type, never longer than ``limit``."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


def _conversation_problems(messages: list[Any], profile: Profile, already: set[str]) -> Iterator[Violation]:
    first = messages[0] if messages else None
    role = first.get("role") if isinstance(first, dict) else None
    required = profile.request_rules.first_message_role
    if required is not None and isinstance(role, str) and role != required and "$.messages[0].role" not in already:
        yield _cross("$.messages[0].role", f'first message must use the "{required}" role', FIRST_TURN_ROLE,
                     expected=required, actual=role)
    # The API merges consecutive messages of one role into one turn: a user turn's tool results answer the
    # tool uses of every assistant message of the turn before it (a recorded replay splits one assistant turn
    # in two and is answered 200).
    asked: set[str] = set()  # tool_use ids of the current (or last) assistant turn
    ids: set[str] = set()  # the ids the current user turn may answer
    prev_role: Any = None
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "assistant":
            if prev_role != "assistant":
                asked = set()
            # Only string ids can match (any other type is the schema's to report): never hash a JSON value.
            asked |= {b["id"] for b in _blocks(msg)
                      if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("id"), str)}
        elif role == "user" and prev_role != "user":
            ids = set(asked) if prev_role == "assistant" else set()
        prev_role = role
        if role != "user":
            continue
        results = [(j, b) for j, b in enumerate(_blocks(msg)) if isinstance(b, dict) and b.get("type") == "tool_result"]
        for j, block in results:
            tid = block.get("tool_use_id")
            if not (isinstance(tid, str) and tid in ids):
                yield _cross(f"$.messages[{i}].content[{j}].tool_use_id",
                             f"unexpected `tool_use_id` found in `tool_result` blocks: {_shown(tid)}. Each "
                             "`tool_result` block must have a corresponding `tool_use` block in the previous "
                             "message.", TOOL_RESULT_UNKNOWN_ID, expected=sorted(ids),
                             actual=tid if isinstance(tid, str) else None)


def _tool_choice_problems(body: Mapping[str, Any]) -> Iterator[Violation]:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return
    tools = body.get("tools")
    listed = [t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []
    # A name that is not a string is the schema's to report; it is never hashed here.
    names = {t["name"] for t in listed if isinstance(t.get("name"), str)}
    ctype = choice.get("type")
    if ctype in ("any", "tool") and not listed:
        yield _cross("$.tool_choice", "tool_choice may only be specified while providing tools",
                     TOOL_CHOICE_WITHOUT_TOOLS, expected="tools", actual=ctype)
    elif ctype == "tool" and isinstance(choice.get("name"), str) and choice["name"] not in names:
        yield _cross("$.tool_choice.name", f"Tool '{_shown(choice['name'])}' not found in tools",
                     TOOL_CHOICE_UNKNOWN_TOOL, expected=sorted(names), actual=choice["name"])


def _thinking_problems(body: Mapping[str, Any], profile: Profile, already: set[str]) -> Iterator[Violation]:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget, max_tokens = thinking.get("budget_tokens"), body.get("max_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool):
        return
    rules = profile.request_rules
    floor = rules.thinking_budget_tokens_min
    if budget < floor and "$.thinking.budget_tokens" not in already:
        yield _cross("$.thinking.budget_tokens", f"Input should be greater than or equal to {floor}", "minimum",
                     expected=floor, actual=budget)
    if rules.thinking_budget_below_max_tokens and isinstance(max_tokens, int) \
            and not isinstance(max_tokens, bool) and budget >= max_tokens:
        yield _cross("$.max_tokens", "`max_tokens` must be greater than `thinking.budget_tokens`",
                     THINKING_BUDGET_NOT_BELOW_MAX_TOKENS, expected=f"> {budget}", actual=max_tokens)


def _thinking_refusal(model: str, kind: str, thinks: bool | None) -> str:
    """The API's words for a ``thinking.type`` the model refuses (quoted from its 400 answers)."""
    if thinks is False and kind != "disabled":
        return f"'{model}' does not support thinking."
    if kind == "adaptive":
        return "adaptive thinking is not supported on this model"
    if kind == "disabled":
        return ('"thinking.type.disabled" is not supported for this model. Thinking defaults to adaptive mode when '
                'not specified; use "thinking.type.enabled" with "budget_tokens" for extended thinking.')
    if kind == "enabled":
        return ('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
                '"output_config.effort" to control thinking behavior.')
    return f'"thinking.type.{kind}" is not supported for this model.'


def _model_problems(body: Mapping[str, Any], profile: Profile, already: set[str]) -> Iterator[Violation]:
    """What the named model refuses (``accepts`` in the catalogue); an unknown fact is never judged."""
    model = body.get("model")
    if not isinstance(model, str):
        return
    accepts = profile.accepts(model)
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if isinstance(kind, str) and accepts.thinking.get(kind) is False \
            and not {"$.thinking", "$.thinking.type"} & already:
        yield _cross("$.thinking.type", _thinking_refusal(_shown(model), kind, accepts.thinks()),
                     THINKING_UNSUPPORTED_MODEL, expected=sorted(k for k, v in accepts.thinking.items() if v),
                     actual=kind)
    version_rejects = set(profile.request_rules.rejected_parameters)
    sampling = [p for p in ("temperature", "top_p", "top_k") if p in body and p not in version_rejects]
    refused = [p for p in sampling if accepts.sampling.get(p) is False]
    for param in refused:
        if f"$.{param}" not in already:
            yield _cross(f"$.{param}", f"`{param}` is deprecated for this model.", SAMPLING_UNSUPPORTED_MODEL,
                         actual=body[param])
    if {"temperature", "top_p"} <= set(sampling) and not refused and accepts.temperature_with_top_p is False \
            and not {"$.temperature", "$.top_p"} & already:
        yield _cross("$.top_p", "`temperature` and `top_p` cannot both be specified for this model. Please use "
                     "only one.", TEMPERATURE_WITH_TOP_P, expected="temperature or top_p", actual=body["top_p"])
    if body.get("speed") is not None and accepts.speed is False and "$.speed" not in already:
        yield _cross("$.speed", f"'{_shown(model)}' does not support the `speed` parameter.",
                     SPEED_UNSUPPORTED_MODEL, actual=body["speed"])
    output = body.get("output_config")
    effort = output.get("effort") if isinstance(output, dict) else None
    if isinstance(effort, str) and accepts.effort and effort not in accepts.effort \
            and not {"$.output_config", "$.output_config.effort"} & already:
        yield _cross("$.output_config.effort", f"This model does not support effort level '{_shown(effort)}'. "
                     f"Supported levels: {', '.join(sorted(accepts.effort))}.", EFFORT_UNSUPPORTED_LEVEL,
                     expected=list(accepts.effort), actual=effort)


def _version_problems(body: Mapping[str, Any], profile: Profile, already: set[str]) -> Iterator[Violation]:
    """The version's own rejections (``request_rules`` in profile.json) when the schema did not catch them."""
    rules = profile.request_rules
    for param in rules.rejected_parameters:
        path = f"$.{param}"
        if param in body and path not in already:
            yield _cross(path, f"`{param}` is not supported in API version {profile.version}",
                         VERSION_REJECTED, actual=body[param])
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    rejected_assistant = set(rules.rejected_assistant_blocks)
    citations_ok = rules.citations_on_user_text
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        for j, block in enumerate(_blocks(msg)):
            if not isinstance(block, dict):
                continue
            base = f"$.messages[{i}].content[{j}]"
            btype = block.get("type")
            if role == "assistant" and isinstance(btype, str) and btype in rejected_assistant \
                    and base not in already and f"{base}.type" not in already:
                yield _cross(f"{base}.type", f"{btype} blocks are not allowed in assistant turns "
                             f"in API version {profile.version}", VERSION_REJECTED, actual=btype)
            if role == "user" and btype == "text" and block.get("citations") is not None and not citations_ok \
                    and f"{base}.citations" not in already:
                yield _cross(f"{base}.citations",
                             f"citations are not allowed on user text blocks in API version {profile.version}",
                             VERSION_REJECTED)


def request_problems(body: Any, profile: Profile, endpoint: str = "messages") -> list[Violation]:
    """Why the API would reject ``body`` on ``endpoint`` (``messages`` or ``count_tokens``); [] if it would not.

    Schema violations (API-style messages, most useful first), then the cross-field rules.
    """
    shape = endpoint_named(endpoint).request_shape
    if shape is None:
        raise ValueError(f"endpoint must be one of {', '.join(BODY_ENDPOINTS)}, not {endpoint!r}")
    found: list[Violation] = []
    if profile.schemas.has(shape):
        for v in profile.schemas.violations(shape, body):
            found.extend(_api_style(v))
    if not isinstance(body, dict):
        return found
    already = {v.path for v in found}
    messages = body.get("messages")
    if messages == [] and "$.messages" not in already:
        # The API refuses an empty conversation even where the schema cannot say so.
        found.append(_cross("$.messages", "List should have at least 1 item after validation", "minItems",
                            expected=1, actual=0))
    if isinstance(messages, list):
        found.extend(_conversation_problems(messages, profile, already))
    found.extend(_tool_choice_problems(body))
    if endpoint == "messages":
        found.extend(_thinking_problems(body, profile, already))
    found.extend(_version_problems(body, profile, already))
    if endpoint == "messages":
        found.extend(_model_problems(body, profile, already))
    return found


def header_problems(headers: Headers, profiles: Profiles) -> list[Violation]:
    """``anthropic-version`` and auth problems, worded as the API words them.

    ``keyword`` is ``authentication`` for a missing key (401); the rest are 400s.
    Whether a present key is *valid* is the server's business, not this function's.
    """
    out: list[Violation] = []
    where = header_path("anthropic-version")
    values = headers.get_all("anthropic-version")
    if not values:
        out.append(Violation(where, "anthropic-version: header is required", "", "required"))
    elif len(values) > 1 or "," in values[0]:
        joined = ", ".join(values)
        out.append(Violation(where, f'anthropic-version: "{joined}" is not a valid version', "",
                             "duplicated", expected="one version", actual=joined))
    elif values[0].strip() not in profiles:
        out.append(Violation(where, f'anthropic-version: "{values[0]}" is not a valid version', "",
                             "enum", expected=list(profiles.versions), actual=values[0]))
    sent = values[0].strip() if len(values) == 1 and "," not in values[0] else None
    profile = profiles.get(sent) if sent is not None and sent in profiles else profiles.default
    auth = headers.get("authorization") or ""
    bearer = ("authorization-bearer" in profile.auth_styles and auth.lower().startswith("bearer ")
              and auth[7:].strip() != "")
    if not headers.get("x-api-key") and not bearer:
        out.append(Violation(header_path("x-api-key"), "x-api-key header is required", "", "authentication"))
    return out


# -- Checks ------------------------------------------------------------------------------------------


def _recorded(exchange: Exchange) -> bool:
    return exchange.file is not None or not exchange.request_headers_complete


def request_headers_are_valid(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    req = exchange.request
    if req is None or not req.url:
        return
    lenient = _recorded(exchange)
    for v in header_problems(req.headers, ctx.profiles):
        rule = {"authentication": "request.auth", "required": "request.version-missing",
                "duplicated": "request.version-duplicated"}.get(v.keyword, "request.version-unknown")
        absent = v.keyword in ("authentication", "required")
        make = info if absent and lenient else error
        note = " (recorders usually filter it)" if absent and lenient else ""
        yield make(rule, v.message + note, path=v.path, part="request.headers", expected=v.expected,
                   actual=v.actual)
    if req.body and req.method.upper() == "POST":
        ctype = req.content_type
        if ctype and ctype != "application/json":
            yield error("request.content-type", "the request body is not declared application/json",
                        path=header_path("content-type"), part="request.headers", expected="application/json",
                        actual=req.headers.get("content-type"))
        elif not ctype:
            make = info if lenient else error
            yield make("request.content-type", "the request declares no content-type", path=header_path("content-type"),
                       part="request.headers", expected="application/json")


def request_obeys_cross_field_rules(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    req = exchange.request
    endpoint = endpoint_of(exchange)
    if req is None or req.method.upper() != "POST" or endpoint not in BODY_ENDPOINTS or not isinstance(req.json, dict):
        return
    accepted = exchange.response is not None and exchange.response.status is not None \
        and 200 <= exchange.response.status < 300
    for v in request_problems(req.json, profile, endpoint or "messages"):
        if v.schema_path != "":
            continue  # schema violations are body.request-schema's findings
        if accepted and v.keyword in CROSS_FIELD:
            # The API enforced some of these only later (a 2024 recording shows a tool_result id mismatch
            # answered 200): what the server accepted is a warning, not a breach.
            yield warning("request.cross-field", f"{v.message} (the server accepted it: the API may have enforced "
                          "this only later)", path=v.path, part="request.body", expected=v.expected, actual=v.actual)
            continue
        yield error("request.cross-field", v.message, path=v.path, part="request.body",
                    expected=v.expected, actual=v.actual)


def server_rejects_invalid_requests(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    req, resp = exchange.request, exchange.response
    endpoint = endpoint_of(exchange)
    if req is None or resp is None or resp.status is None or not 200 <= resp.status < 300:
        return
    if req.method.upper() != "POST" or endpoint not in BODY_ENDPOINTS:
        return
    problems = request_problems(req.json, profile, endpoint or "messages") if req.json_error is None else []
    if req.json_error is not None and req.body:
        problems = [Violation("$", f"request body is not JSON: {req.json_error}", "", "json")]
    if not _recorded(exchange):
        problems += [v for v in header_problems(req.headers, ctx.profiles) if v.keyword != "authentication"]
    # An unknown field or block/tool type the server took is evidence the profile lags
    # (schema.unknown-request-field), and a cross-field rule it did not enforce may be newer than the server:
    # only the rest is a breach.
    shape = endpoint_named(endpoint).request_shape if endpoint else None
    known = profile.schemas.type_values(shape) if shape is not None and profile.schemas.has(shape) else frozenset()
    problems = split_profile_lag(problems, known)[1]
    if problems:
        first = problems[0]
        make = warning if all(v.keyword in CROSS_FIELD for v in problems) else error
        yield make("request.accepted-invalid",
                    f"status {resp.status} for a request the API rejects: {first.message}"
                    + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                    path=first.path, part="exchange", expected="400 invalid_request_error", actual=resp.status)


CHECKS: tuple[Check, ...] = (request_headers_are_valid, request_obeys_cross_field_rules,
                             server_rejects_invalid_requests)
