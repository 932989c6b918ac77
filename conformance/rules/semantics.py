"""Semantic invariants of a Message that no schema can state.

Each ``message_*`` function is pure over ``(message, request, profile)`` so the
runner and the reference server can reuse it; ``request`` is the JSON request
body when known. The Check wrappers apply them to the JSON body of a 2xx
``/v1/messages`` response (part ``response.body``) and to the message a client
accumulates from a stream (part ``message``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import jsonschema
import referencing.exceptions

from conformance.exchange import Exchange, endpoint_of
from conformance.findings import Finding, Severity, error, warning
from conformance.profiles import Profile
from conformance.rules.base import Check, Context, RuleInfo

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("message.stop-sequence", Severity.ERROR,
             "stop_sequence is set exactly when stop_reason is stop_sequence, to one the request gave"),
    RuleInfo("message.max-tokens", Severity.ERROR,
             "output_tokens never exceeds the request's max_tokens; a max_tokens stop reaches it"),
    RuleInfo("message.tool-use-last", Severity.ERROR, "a tool_use stop has a tool_use block (not necessarily last)"),
    RuleInfo("message.stop-reason", Severity.ERROR,
             "the stop reason is one the request allows (tool_use needs tools, stop_sequence stop sequences)"),
    RuleInfo("message.id-prefix", Severity.ERROR, "the message id starts with msg_"),
    RuleInfo("message.type", Severity.ERROR, "type is message"),
    RuleInfo("message.role", Severity.ERROR, "role is assistant"),
    RuleInfo("message.usage", Severity.ERROR, "usage token counts are non-negative integers"),
    RuleInfo("count-tokens.input-tokens", Severity.ERROR, "count_tokens input_tokens is a non-negative integer"),
    RuleInfo("message.tool-input-schema", Severity.ERROR,
             "a tool_use block's input validates against its tool's input_schema (guaranteed for strict tools)"),
)

_MAX_TOOL_INPUT_ERRORS = 3


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def message_stop_sequence_is_consistent(message: dict[str, Any], request: dict[str, Any] | None,
                                        profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    reason, seq = message.get("stop_reason"), message.get("stop_sequence")
    if reason == "stop_sequence":
        if not isinstance(seq, str):
            yield error("message.stop-sequence", "stop_reason is stop_sequence but stop_sequence is not set",
                        path="$.stop_sequence", part=part, expected="one of the request's stop_sequences",
                        actual=seq)
            return
        asked = request.get("stop_sequences") if isinstance(request, dict) else None
        if isinstance(asked, list) and seq not in asked:
            yield error("message.stop-sequence", f"stop_sequence {seq!r} is not one the request gave",
                        path="$.stop_sequence", part=part, expected=asked, actual=seq)
    elif seq is not None and reason is not None:
        yield error("message.stop-sequence", f"stop_sequence is set while stop_reason is {reason!r}",
                    path="$.stop_sequence", part=part, expected=None, actual=seq)


def message_stop_reason_is_allowed(message: dict[str, Any], request: dict[str, Any] | None,
                                   profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    """A model can only stop for a reason the request made possible: a tool call needs tools, a stop
    sequence needs stop sequences. (Judged when the request body is known.)"""
    if not isinstance(request, dict):
        return
    reason = message.get("stop_reason")
    if reason == "tool_use" and not request.get("tools"):
        yield error("message.stop-reason", "stop_reason tool_use, but the request gave no tools",
                    path="$.stop_reason", part=part, expected="a reason other than tool_use", actual=reason)
    elif reason == "stop_sequence" and not request.get("stop_sequences"):
        yield error("message.stop-reason", "stop_reason stop_sequence, but the request gave no stop_sequences",
                    path="$.stop_reason", part=part, expected="a reason other than stop_sequence", actual=reason)


def message_respects_max_tokens(message: dict[str, Any], request: dict[str, Any] | None,
                                profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    usage = message.get("usage")
    out = usage.get("output_tokens") if isinstance(usage, dict) else None
    limit = request.get("max_tokens") if isinstance(request, dict) else None
    if not isinstance(out, int) or not isinstance(limit, int) or not _is_count(out) or not _is_count(limit):
        return
    if out > limit:
        # Thinking tokens count toward both max_tokens and output_tokens, so the bound holds with thinking too.
        yield error("message.max-tokens", f"output_tokens {out} exceeds the request's max_tokens {limit}",
                    path="$.usage.output_tokens", part=part, expected=f"<= {limit}", actual=out)
    elif message.get("stop_reason") == "max_tokens" and out < limit:
        # Real traffic counts tokens in ways a client cannot reproduce; a short count is odd, not a breach.
        yield warning("message.max-tokens", f"stop_reason max_tokens with output_tokens {out} below {limit}",
                      path="$.usage.output_tokens", part=part, expected=limit, actual=out)


def message_tool_use_stop_has_tool_use(message: dict[str, Any], request: dict[str, Any] | None,
                                       profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    """A tool_use stop asks the client to run a tool: some block is a (client) tool_use.

    Not necessarily the last one: a server tool call may follow it (a recorded claude-sonnet-4-5 answer ends
    tool_use, server_tool_use for tool search, with stop_reason tool_use).
    """
    if message.get("stop_reason") != "tool_use":
        return
    content = message.get("content")
    if not isinstance(content, list):
        return
    if not any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
        kinds = [b.get("type") if isinstance(b, dict) else None for b in content]
        yield error("message.tool-use-last", "stop_reason tool_use but no content block is a tool_use",
                    path="$.content", part=part, expected="a tool_use block",
                    actual=", ".join(str(k) for k in kinds[:10]) or "no blocks")


def message_identity_is_valid(message: dict[str, Any], request: dict[str, Any] | None,
                              profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    mid = message.get("id")
    if isinstance(mid, str) and not mid.startswith("msg_"):
        yield error("message.id-prefix", "the message id does not start with msg_", path="$.id", part=part,
                    expected="msg_...", actual=mid)
    if "type" in message and message["type"] != "message":
        yield error("message.type", "type is not message", path="$.type", part=part,
                    expected="message", actual=message["type"])
    if "role" in message and message["role"] != "assistant":
        yield error("message.role", "role is not assistant", path="$.role", part=part,
                    expected="assistant", actual=message["role"])


def message_usage_counts_are_valid(message: dict[str, Any], request: dict[str, Any] | None,
                                   profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return
    for key in profile.usage_counts:
        if key not in usage or (usage[key] is None and key.startswith("cache_")):
            continue  # cache counts are null on older responses
        if not _is_count(usage[key]):
            yield error("message.usage", f"usage.{key} is not a non-negative integer", path=f"$.usage.{key}",
                        part=part, expected="integer >= 0", actual=usage[key])


def _tools_by_name(request: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    tools = request.get("tools") if isinstance(request, dict) else None
    out: dict[str, dict[str, Any]] = {}
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict) and isinstance(tool.get("name"), str) and isinstance(tool.get("input_schema"), dict):
            out.setdefault(tool["name"], tool)
    return out


def _schema_errors(schema: dict[str, Any], instance: Any) -> list[jsonschema.ValidationError] | None:
    """The errors of ``instance`` against a client-given schema; ``None`` when the schema itself is unusable."""
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        return list(itertools.islice(cls(schema).iter_errors(instance), _MAX_TOOL_INPUT_ERRORS))
    except (jsonschema.SchemaError, jsonschema.exceptions.UnknownType, referencing.exceptions.Unresolvable,
            RecursionError, TypeError, ValueError):
        return None


def message_tool_inputs_match_their_schemas(message: dict[str, Any], request: dict[str, Any] | None,
                                            profile: Profile, part: str = "response.body") -> Iterator[Finding]:
    """Each tool_use input validates against the input_schema of the tool it names.

    The API guarantees it for tools declared ``strict`` (an error when broken); for the others the
    model is only asked to follow the schema, so a mismatch is a warning.
    """
    tools = _tools_by_name(request)
    content = message.get("content")
    if not tools or not isinstance(content, list):
        return
    for i, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        tool = tools.get(block.get("name"))  # type: ignore[arg-type]
        if tool is None:
            continue  # a server tool, or a name no tool has: not this rule's business
        errors = _schema_errors(tool["input_schema"], block.get("input"))
        make = error if tool.get("strict") is True else warning
        for err in errors or ():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            yield make("message.tool-input-schema",
                       f"tool_use input for {tool['name']!r} does not match its input_schema: {err.message[:200]}",
                       path=f"$.content[{i}].input{where}", part=part, expected=err.validator,
                       actual=err.instance if not isinstance(err.instance, (dict, list)) else None)


MESSAGE_RULES = (
    message_stop_sequence_is_consistent,
    message_stop_reason_is_allowed,
    message_respects_max_tokens,
    message_tool_use_stop_has_tool_use,
    message_identity_is_valid,
    message_usage_counts_are_valid,
    message_tool_inputs_match_their_schemas,
)


def message_problems(message: dict[str, Any], request: dict[str, Any] | None, profile: Profile,
                     part: str = "response.body") -> list[Finding]:
    """Every semantic finding for one Message (the runner and server call this)."""
    return [f for rule in MESSAGE_RULES for f in rule(message, request, profile, part)]


def _request_body(exchange: Exchange) -> dict[str, Any] | None:
    req = exchange.request
    body = req.json if req is not None else None
    return body if isinstance(body, dict) else None


def message_semantics_hold(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    resp = exchange.response
    if resp is None or endpoint_of(exchange) != "messages":
        return
    if resp.status is not None and not 200 <= resp.status < 300:
        return
    if exchange.is_stream:
        message: Any = exchange.accumulated
        part = "message"
    else:
        message, part = resp.json, "response.body"
    if not isinstance(message, dict) or message.get("type") == "error" or "content" not in message:
        return  # not a Message (an error body, a legacy completion): other rules' business
    yield from message_problems(message, _request_body(exchange), profile, part)


def count_tokens_is_valid(exchange: Exchange, ctx: Context) -> Iterator[Finding]:
    resp = exchange.response
    if resp is None or endpoint_of(exchange) != "count_tokens" or resp.status != 200:
        return
    body = resp.json
    if isinstance(body, dict) and "input_tokens" in body and not _is_count(body["input_tokens"]):
        yield error("count-tokens.input-tokens", "input_tokens is not a non-negative integer",
                    path="$.input_tokens", part="response.body", expected="integer >= 0",
                    actual=body["input_tokens"])


CHECKS: tuple[Check, ...] = (message_semantics_hold, count_tokens_is_valid)
