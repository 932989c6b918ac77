"""Realistic ``/v1/messages`` (and ``count_tokens``) request bodies, valid and invalid, per API version.

Valid bodies are built by construction, not by filtering: a ``tool_result`` echoes a
``tool_use`` id of the assistant turn just before it, ``tool_choice`` names a tool that
exists, a thinking budget sits in ``[1024, max_tokens)``, sampling parameters appear
only where the version accepts them. Whatever the version's schema allows beyond that
is taken from the schema itself (block kinds per role, accepted parameters, enums).

Invalid bodies are a valid body with exactly one constraint broken, tagged with the
constraint and the dotted path (``messages.0.role``) the API's 400 message must name.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

from conformance.endpoints import BODY_ENDPOINTS, endpoint_named
from conformance.profiles import Profile
from conformance.strategies.jsonschema import from_schema, readable_text

__all__ = ["ENDPOINTS", "InvalidRequest", "constraints_for", "invalid_requests", "valid_requests"]

ENDPOINTS = BODY_ENDPOINTS

# Tiny but real payloads, so a server that decodes them can.
_GIF = base64.b64encode(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                        b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;").decode()
_PDF = base64.b64encode(b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>"
                        b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n").decode()
_IMAGE_URLS = ("https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
               "https://example.com/images/chart.png")
_PDF_URLS = ("https://example.com/reports/q3.pdf", "https://arxiv.org/pdf/1706.03762")

# Realistic tools: name -> JSON Schema of the input (also used to generate tool_use inputs).
_TOOLS: Mapping[str, Mapping[str, Any]] = {
    "get_weather": {"type": "object", "properties": {
        "location": {"type": "string", "minLength": 1, "maxLength": 40},
        "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["location"]},
    "calculator": {"type": "object", "properties": {
        "expression": {"type": "string", "pattern": "^[0-9]{1,4}( [+*/-] [0-9]{1,4}){1,3}$"}},
        "required": ["expression"]},
    "search_docs": {"type": "object", "properties": {
        "query": {"type": "string", "minLength": 1, "maxLength": 60},
        "limit": {"type": "integer", "minimum": 1, "maximum": 20}}, "required": ["query"]},
    "lookup_order": {"type": "object", "properties": {"order_id": {"type": "string", "pattern": "^ord_[0-9]{6}$"}},
                     "required": ["order_id"], "additionalProperties": False},
}
_TOOL_DESCRIPTIONS = {"get_weather": "Get the current weather in a given location.",
                      "calculator": "Evaluate a simple arithmetic expression.",
                      "search_docs": "Search the product documentation.",
                      "lookup_order": "Look up an order by its id."}
_TOOL_INPUTS = {name: from_schema(schema) for name, schema in _TOOLS.items()}
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclasses.dataclass(frozen=True, slots=True)
class InvalidRequest:
    """A request body with exactly one constraint broken."""

    body: dict[str, Any]
    constraint: str
    """What was broken, e.g. ``first-message-not-user`` (see :func:`constraints_for`)."""
    path: str
    """The dotted field the API's 400 message must name, e.g. ``messages.0.role``."""


# -- what a profile allows -----------------------------------------------------------------------------


def _defs(profile: Profile) -> Mapping[str, Any]:
    defs = profile.schemas.schema("request").get("$defs", {})
    return defs if isinstance(defs, Mapping) else {}


def _block_kinds(profile: Profile, role: str) -> set[str]:
    block = _defs(profile).get(f"{role}_content_block", {})
    kinds = set(block.get("properties", {}).get("type", {}).get("enum", ()))
    if role == "assistant":
        kinds -= set(profile.request_rules.rejected_assistant_blocks)
    return kinds


def _parameters(profile: Profile, endpoint: str) -> set[str]:
    props = profile.schemas.schema(_shape(endpoint)).get("properties", {})
    return set(props) - set(profile.request_rules.rejected_parameters)


def _citations_on_user_text(profile: Profile) -> bool:
    return profile.request_rules.citations_on_user_text and "citations" in _defs(profile).get(
        "user_text_block", {}).get("properties", {})


# -- blocks ---------------------------------------------------------------------------------------------

_cache_control = st.sampled_from([{"type": "ephemeral"}, {"type": "ephemeral", "ttl": "5m"},
                                  {"type": "ephemeral", "ttl": "1h"}])
_text = readable_text(1, 80)


def _with_optional(base: st.SearchStrategy[dict[str, Any]], **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[
        dict[str, Any]]:
    return st.tuples(base, st.fixed_dictionaries({}, optional=extra)).map(lambda p: {**p[0], **p[1]})


def _text_blocks(citations: bool) -> st.SearchStrategy[dict[str, Any]]:
    extra: dict[str, st.SearchStrategy[Any]] = {"cache_control": _cache_control}
    if citations:
        extra["citations"] = st.lists(st.fixed_dictionaries({
            "type": st.just("char_location"), "cited_text": _text, "document_index": st.just(0),
            "start_char_index": st.just(0), "end_char_index": st.integers(1, 80)}), max_size=1)
    return _with_optional(st.fixed_dictionaries({"type": st.just("text"), "text": _text}), **extra)


_image_sources = st.one_of(
    st.just({"type": "base64", "media_type": "image/gif", "data": _GIF}),
    st.sampled_from(_IMAGE_URLS).map(lambda u: {"type": "url", "url": u}),
    st.text(_ID_CHARS, min_size=12, max_size=24).map(lambda s: {"type": "file", "file_id": "file_" + s}),
)
_image_blocks = _with_optional(st.fixed_dictionaries({"type": st.just("image"), "source": _image_sources}),
                               cache_control=_cache_control)
_document_sources = st.one_of(
    st.just({"type": "base64", "media_type": "application/pdf", "data": _PDF}),
    _text.map(lambda t: {"type": "text", "media_type": "text/plain", "data": t}),
    st.sampled_from(_PDF_URLS).map(lambda u: {"type": "url", "url": u}),
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _text}), min_size=1, max_size=2).map(
        lambda c: {"type": "content", "content": c}),
)
_document_blocks = _with_optional(
    st.fixed_dictionaries({"type": st.just("document"), "source": _document_sources}),
    title=readable_text(1, 30), context=readable_text(1, 40), citations=st.builds(
        lambda on: {"enabled": on}, st.booleans()), cache_control=_cache_control)
_signatures = st.binary(min_size=16, max_size=48).map(lambda b: base64.b64encode(b).decode())
_thinking_blocks = st.fixed_dictionaries({"type": st.just("thinking"), "thinking": _text, "signature": _signatures})
_redacted_blocks = st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": _signatures})


def _tool_use_id() -> st.SearchStrategy[str]:
    return st.text(_ID_CHARS, min_size=24, max_size=24).map(lambda s: "toolu_" + s)


# -- tools ----------------------------------------------------------------------------------------------


def _tools() -> st.SearchStrategy[list[dict[str, Any]]]:
    def tool(name: str) -> st.SearchStrategy[dict[str, Any]]:
        return _with_optional(st.just({"name": name, "input_schema": dict(_TOOLS[name])}),
                              description=st.just(_TOOL_DESCRIPTIONS[name]), type=st.just("custom"),
                              cache_control=_cache_control)

    names = st.lists(st.sampled_from(sorted(_TOOLS)), min_size=1, max_size=3, unique=True)
    return names.flatmap(lambda ns: st.tuples(*(tool(n) for n in ns)).map(list))


def _tool_choices(names: list[str], thinking: bool) -> st.SearchStrategy[dict[str, Any]]:
    options = [st.just({"type": "auto"}), st.just({"type": "none"})]
    if not thinking:  # the API refuses forced tool use while thinking
        options += [st.just({"type": "any"}), st.sampled_from(names).map(lambda n: {"type": "tool", "name": n})]
    choice = st.one_of(options)
    return st.tuples(choice, st.booleans(), st.booleans()).map(
        lambda t: {**t[0], "disable_parallel_tool_use": t[2]} if t[1] and t[0]["type"] != "none" else t[0])


# -- conversation ---------------------------------------------------------------------------------------


@st.composite
def _conversation(draw: st.DrawFn, profile: Profile, tool_names: list[str]) -> list[dict[str, Any]]:
    """Alternating turns ending with the user; tool results answer the previous turn's tool uses."""
    user_kinds, assistant_kinds = _block_kinds(profile, "user"), _block_kinds(profile, "assistant")
    user_text = _text_blocks(_citations_on_user_text(profile))
    user_pool = [user_text]
    user_pool += [_image_blocks] if "image" in user_kinds else []
    user_pool += [_document_blocks] if "document" in user_kinds else []
    assistant_pool = [_text_blocks(False)]
    assistant_pool += [_document_blocks] if "document" in assistant_kinds else []
    reasoning = [s for kind, s in (("thinking", _thinking_blocks), ("redacted_thinking", _redacted_blocks))
                 if kind in assistant_kinds]
    messages: list[dict[str, Any]] = []
    pending: list[str] = []  # tool_use ids the next user turn must answer
    used_ids: set[str] = set()
    turns = draw(st.integers(1, 3))
    for turn in range(turns):
        blocks: list[dict[str, Any]] = []
        for tool_use_id in pending:
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id}
            result.update(draw(st.fixed_dictionaries({}, optional={
                "content": st.one_of(_text, st.lists(_text_blocks(False), min_size=1, max_size=2)),
                "is_error": st.booleans()})))
            blocks.append(result)
        pending = []
        blocks += draw(st.lists(st.one_of(user_pool), min_size=0 if blocks else 1, max_size=3))
        as_string = not any(b["type"] == "tool_result" for b in blocks) and draw(st.booleans())
        messages.append({"role": "user", "content": draw(_text) if as_string else blocks})
        if turn == turns - 1:
            return messages
        # The assistant turn: reasoning first (as the API returns it), then text, then tool uses.
        answer: list[dict[str, Any]] = draw(st.lists(st.one_of(reasoning), max_size=1)) if reasoning else []
        answer += draw(st.lists(st.one_of(assistant_pool), max_size=2))
        if tool_names and "tool_use" in assistant_kinds and draw(st.booleans()):
            for name in draw(st.lists(st.sampled_from(tool_names), min_size=1, max_size=2)):
                tool_use_id = draw(_tool_use_id().filter(lambda i: i not in used_ids))
                used_ids.add(tool_use_id)
                pending.append(tool_use_id)
                answer.append({"type": "tool_use", "id": tool_use_id, "name": name, "input": draw(_TOOL_INPUTS[name])})
        if not answer:
            answer = [draw(_text_blocks(False))]
        plain = not pending and len(answer) == 1 and answer[0]["type"] == "text" and draw(st.booleans())
        messages.append({"role": "assistant", "content": answer[0]["text"] if plain else answer})
    return messages


# -- whole bodies -----------------------------------------------------------------------------------------


@st.composite
def _valid_body(draw: st.DrawFn, profile: Profile, endpoint: str) -> dict[str, Any]:
    allowed = _parameters(profile, endpoint)
    body: dict[str, Any] = {"model": draw(st.sampled_from(profile.model_ids))}
    tools = draw(_tools()) if "tools" in allowed and draw(st.booleans()) else []
    names = [t["name"] for t in tools]
    thinking = "thinking" in allowed and draw(st.integers(0, 3)) == 0
    budget = draw(st.integers(1024, 2048)) if thinking else 0
    body["messages"] = draw(_conversation(profile, names))
    if "max_tokens" in allowed:
        body["max_tokens"] = budget + draw(st.integers(1, 256))
    if thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif "thinking" in allowed and draw(st.integers(0, 5)) == 0:
        body["thinking"] = {"type": "disabled"}
    if tools:
        body["tools"] = tools
        if "tool_choice" in allowed and draw(st.booleans()):
            body["tool_choice"] = draw(_tool_choices(names, thinking))
    if "system" in allowed and draw(st.booleans()):
        body["system"] = draw(st.one_of(_text, st.lists(_text_blocks(False), min_size=1, max_size=2)))
    if "stop_sequences" in allowed and draw(st.booleans()):
        body["stop_sequences"] = draw(st.lists(st.sampled_from(["\n\nHuman:", "END", "STOP", "###", "fox", "?"]),
                                               min_size=1, max_size=3, unique=True))
    if "metadata" in allowed and draw(st.booleans()):
        body["metadata"] = {"user_id": draw(st.uuids().map(str))}
    if not thinking:  # the API fixes sampling while thinking
        optional = {"temperature": st.floats(0, 1).map(lambda x: round(x, 2)),
                    "top_p": st.floats(0, 1).map(lambda x: round(x, 2)), "top_k": st.integers(1, 500)}
        body.update(draw(st.fixed_dictionaries({}, optional={k: v for k, v in optional.items() if k in allowed})))
    if "service_tier" in allowed and draw(st.integers(0, 4)) == 0:
        tiers = profile.schemas.schema(_shape(endpoint))["properties"]["service_tier"].get("enum", ["auto"])
        body["service_tier"] = draw(st.sampled_from(tiers))
    return body


def _check_endpoint(endpoint: str) -> str:
    if endpoint not in BODY_ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(BODY_ENDPOINTS)}, not {endpoint!r}")
    return endpoint


def _shape(endpoint: str) -> str:
    return str(endpoint_named(_check_endpoint(endpoint)).request_shape)


def valid_requests(profile: Profile, endpoint: str = "messages") -> st.SearchStrategy[dict[str, Any]]:
    """Realistic valid request bodies for ``endpoint`` (``messages`` or ``count_tokens``) in ``profile``.

    ``stream`` is never set: callers send the same body streamed and not.
    """
    return _valid_body(profile, _check_endpoint(endpoint))


# -- invalid bodies: one constraint broken ------------------------------------------------------------------

Broken = tuple[dict[str, Any], str]
"""The broken body and the dotted path the API must name."""
Breaker = Callable[[st.DrawFn, dict[str, Any], Profile, str], Broken]


def _user_turns(body: dict[str, Any]) -> list[int]:
    return [i for i, m in enumerate(body["messages"]) if m["role"] == "user"]


def _as_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _missing_required(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    required = profile.schemas.schema(_shape(endpoint)).get("required", ["model", "messages"])
    field = draw(st.sampled_from(sorted(required)))
    del body[field]
    return body, field


_WRONG_TYPES: Mapping[str, st.SearchStrategy[Any]] = {
    "model": st.integers(1, 99), "messages": _text, "max_tokens": st.sampled_from(["1024", "many", 12.5, None]),
    "temperature": st.sampled_from(["0.5", "hot", None]), "top_k": st.sampled_from(["5", 2.5]),
    "stop_sequences": _text, "system": st.integers(0, 9), "metadata": _text, "stream": st.sampled_from(["yes", 1]),
    "tools": st.fixed_dictionaries({"name": st.just("get_weather")}),
}


def _wrong_type(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    allowed = _parameters(profile, endpoint)
    field = draw(st.sampled_from(sorted(f for f in _WRONG_TYPES if f in allowed)))
    body[field] = draw(_WRONG_TYPES[field])
    if field == "tools":
        body.pop("tool_choice", None)  # a choice naming a tool would be a second problem
    return body, field


def _out_of_range(field: str, values: st.SearchStrategy[Any]) -> Breaker:
    def breaker(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
        # Sampling is fixed while thinking, and a budget above a broken max_tokens is a second problem.
        body.pop("thinking", None)
        body[field] = draw(values)
        return body, field

    return breaker


def _empty_messages(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    body["messages"] = []
    return body, "messages"


def _first_not_user(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    body["messages"].insert(0, {"role": "assistant", "content": draw(st.one_of(_text, st.lists(
        _text_blocks(False), min_size=1, max_size=1)))})
    return body, "messages.0.role"


def _unknown_role(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    # A user turn keeps content valid for the "not assistant" branch; its tool results then go unchecked,
    # which cannot add a problem.
    index = draw(st.sampled_from(_user_turns(body)))
    body["messages"][index]["role"] = draw(st.sampled_from(["system", "tool", "human", "User", "developer"]))
    return body, f"messages.{index}.role"


def _tool_choice_missing_tool(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    if not body.get("tools"):
        body["tools"] = [{"name": "get_weather", "input_schema": dict(_TOOLS["get_weather"])}]
    names = {t["name"] for t in body["tools"]}
    body.pop("thinking", None)  # forced tool use while thinking is a second problem for the API
    missing = draw(st.sampled_from(["delete_everything", "get_wether", "search", "Calculator"]).filter(
        lambda n: n not in names))
    body["tool_choice"] = {"type": "tool", "name": missing}
    return body, "tool_choice.name"


def _tool_result_unknown_id(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    index = draw(st.sampled_from(_user_turns(body)))
    message = body["messages"][index]
    blocks = _as_blocks(message)
    # Tool results come first in a user turn; put the stray one after the legitimate ones.
    position = sum(1 for b in blocks if b.get("type") == "tool_result")
    stray = draw(_tool_use_id().filter(lambda i: i not in str(body)))
    blocks.insert(position, {"type": "tool_result", "tool_use_id": stray, "content": draw(_text)})
    message["content"] = blocks
    return body, f"messages.{index}.content.{position}.tool_use_id"


def _unknown_field(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    field = draw(st.sampled_from(["frequency_penalty", "n", "logprobs", "prompt", "max_tokens_to_sample",
                                  "response_format", "seed"]))
    body[field] = draw(st.one_of(st.integers(0, 3), _text))
    return body, field


def _rejected_parameter(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    field = draw(st.sampled_from(sorted(profile.request_rules.rejected_parameters)))
    body.pop("thinking", None)
    body[field] = draw(st.integers(1, 40)) if field == "top_k" else draw(st.floats(0, 1).map(lambda x: round(x, 2)))
    return body, field


def _assistant_document(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    # A fresh opening exchange so no existing tool_use/tool_result pairing is disturbed.
    opening = [{"role": "user", "content": draw(_text)},
               {"role": "assistant", "content": [draw(_text_blocks(False)), draw(_document_blocks)]}]
    body["messages"][:0] = opening
    return body, "messages.1.content.1.type"


def _user_citations(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    index = draw(st.sampled_from(_user_turns(body)))
    message = body["messages"][index]
    blocks = _as_blocks(message)
    block = {"type": "text", "text": draw(_text), "citations": [
        {"type": "char_location", "cited_text": draw(_text), "document_index": 0, "start_char_index": 0,
         "end_char_index": 5}]}
    blocks.append(block)
    message["content"] = blocks
    return body, f"messages.{index}.content.{len(blocks) - 1}.citations"


def _thinking_budget(too: str) -> Breaker:
    def breaker(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
        for param in ("temperature", "top_p", "top_k"):
            body.pop(param, None)
        if body.get("tool_choice", {}).get("type") in ("any", "tool"):
            body["tool_choice"] = {"type": "auto"}
        if too == "large":
            budget = draw(st.integers(1024, 4096))
            body["max_tokens"] = draw(st.integers(1, budget))
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            return body, "max_tokens"
        body["thinking"] = {"type": "enabled", "budget_tokens": draw(st.integers(1, 1023))}
        if "max_tokens" in body:
            body["max_tokens"] = draw(st.integers(1024, 1280))
        return body, "thinking.budget_tokens"

    return breaker


def _unknown_block_type(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    index = draw(st.sampled_from(_user_turns(body)))
    message = body["messages"][index]
    blocks = _as_blocks(message)
    blocks.append({"type": draw(st.sampled_from(["video", "audio", "html", "input_text"])), "text": draw(_text)})
    message["content"] = blocks
    return body, f"messages.{index}.content.{len(blocks) - 1}.type"


Applies = Callable[[Profile, str], bool]


def _has(*params: str) -> Applies:
    return lambda profile, endpoint: all(p in _parameters(profile, endpoint) for p in params)


#: constraint -> (whether it applies to a profile and endpoint, how to break it)
_CONSTRAINTS: Mapping[str, tuple[Applies, Breaker]] = {
    "missing-required": (lambda p, e: True, _missing_required),
    "wrong-type": (lambda p, e: True, _wrong_type),
    "temperature-out-of-range": (_has("temperature"), _out_of_range("temperature", st.one_of(
        st.floats(1.01, 2).map(lambda x: round(x, 2)).filter(lambda x: x > 1), st.sampled_from([-0.5, -1, 5])))),
    "top-p-out-of-range": (_has("top_p"), _out_of_range("top_p", st.sampled_from([1.5, -0.1, 2, 100]))),
    "top-k-out-of-range": (_has("top_k"), _out_of_range("top_k", st.integers(-50, -1))),
    "max-tokens-out-of-range": (_has("max_tokens"), _out_of_range("max_tokens", st.integers(-100, 0))),
    "empty-messages": (lambda p, e: True, _empty_messages),
    "first-message-not-user": (lambda p, e: True, _first_not_user),
    "unknown-role": (lambda p, e: True, _unknown_role),
    "tool-choice-missing-tool": (_has("tools", "tool_choice"), _tool_choice_missing_tool),
    "tool-result-unknown-id": (lambda p, e: True, _tool_result_unknown_id),
    "unknown-top-level-field": (lambda p, e: True, _unknown_field),
    "unknown-block-type": (lambda p, e: True, _unknown_block_type),
    "thinking-budget-above-max-tokens": (_has("thinking", "max_tokens"), _thinking_budget("large")),
    "thinking-budget-below-minimum": (_has("thinking"), _thinking_budget("small")),
    "version-rejected-parameter": (lambda p, e: bool(p.request_rules.rejected_parameters), _rejected_parameter),
    "version-document-in-assistant-turn": (
        lambda p, e: "document" in p.request_rules.rejected_assistant_blocks, _assistant_document),
    "version-citations-on-user-text": (lambda p, e: not p.request_rules.citations_on_user_text, _user_citations),
}


def constraints_for(profile: Profile, endpoint: str = "messages") -> tuple[str, ...]:
    """The constraint kinds :func:`invalid_requests` can break for this profile and endpoint."""
    _check_endpoint(endpoint)
    return tuple(name for name, (applies, _) in _CONSTRAINTS.items() if applies(profile, endpoint))


def invalid_requests(profile: Profile, endpoint: str = "messages", *,
                     constraints: tuple[str, ...] | None = None) -> st.SearchStrategy[InvalidRequest]:
    """Valid bodies with exactly one constraint broken (all applicable kinds, or only ``constraints``)."""
    available = constraints_for(profile, endpoint)
    chosen = available if constraints is None else constraints
    unknown = [c for c in chosen if c not in available]
    if unknown or not chosen:
        raise ValueError(f"constraints must be among {', '.join(available)}; got {', '.join(unknown) or 'none'}")

    @st.composite
    def one(draw: st.DrawFn, name: str) -> InvalidRequest:
        body = draw(_valid_body(profile, endpoint))
        broken, path = _CONSTRAINTS[name][1](draw, body, profile, endpoint)
        return InvalidRequest(broken, name, path)

    return st.one_of([one(name) for name in chosen])
