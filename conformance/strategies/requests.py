"""Realistic valid ``/v1/messages`` (and ``count_tokens``) request bodies, per API version.

Built by construction, not by filtering: a ``tool_result`` echoes a ``tool_use`` id of the
assistant turn just before it, ``tool_choice`` names a tool that exists, a thinking budget
sits in ``[1024, max_tokens)``, sampling parameters appear only where the version accepts
them. What depends on the model is sent only to a model the profile says takes it (``accepts`` in
its catalogue entry: a thinking type, each sampling field, temperature with top_p, ``speed``, a
forced tool choice); a fact the profile does not know is never sent. The fields named here are the
ones whose realistic values need more than their schema (:data:`SHAPED_FIELDS`); every other field
the version's request schema has is generated from its schema now and then, so a field added to a
profile is sent by the next run without a line of code. Invalid bodies are in :mod:`conformance.strategies.invalid`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

from conformance.endpoints import BODY_ENDPOINTS, endpoint_named
from conformance.profiles import ModelAccepts, Profile
from conformance.strategies.jsonschema import field_values, from_schema, readable_text

__all__ = ["ENDPOINTS", "MODEL_GATED", "SHAPED_FIELDS", "TOOLS", "check_endpoint", "document_blocks", "parameters",
           "request_shape", "text_blocks", "texts", "tool_use_ids", "valid_bodies", "valid_requests"]

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
TOOLS: Mapping[str, Mapping[str, Any]] = {
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
_TOOL_INPUTS = {name: from_schema(schema) for name, schema in TOOLS.items()}
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


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


def parameters(profile: Profile, endpoint: str) -> set[str]:
    props = profile.schemas.schema(request_shape(endpoint)).get("properties", {})
    return set(props) - set(profile.request_rules.rejected_parameters)


def _citations_on_user_text(profile: Profile) -> bool:
    return profile.request_rules.citations_on_user_text and "citations" in _defs(profile).get(
        "user_text_block", {}).get("properties", {})


# -- blocks ---------------------------------------------------------------------------------------------

_cache_control = st.sampled_from([{"type": "ephemeral"}, {"type": "ephemeral", "ttl": "5m"},
                                  {"type": "ephemeral", "ttl": "1h"}])
texts = readable_text(1, 80)


def _with_optional(base: st.SearchStrategy[dict[str, Any]], **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[
        dict[str, Any]]:
    return st.tuples(base, st.fixed_dictionaries({}, optional=extra)).map(lambda p: {**p[0], **p[1]})


def text_blocks(citations: bool) -> st.SearchStrategy[dict[str, Any]]:
    extra: dict[str, st.SearchStrategy[Any]] = {"cache_control": _cache_control}
    if citations:
        extra["citations"] = st.lists(st.fixed_dictionaries({
            "type": st.just("char_location"), "cited_text": texts, "document_index": st.just(0),
            "start_char_index": st.just(0), "end_char_index": st.integers(1, 80)}), max_size=1)
    return _with_optional(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), **extra)


_image_sources = st.one_of(
    st.just({"type": "base64", "media_type": "image/gif", "data": _GIF}),
    st.sampled_from(_IMAGE_URLS).map(lambda u: {"type": "url", "url": u}),
    st.text(_ID_CHARS, min_size=12, max_size=24).map(lambda s: {"type": "file", "file_id": "file_" + s}),
)
_image_blocks = _with_optional(st.fixed_dictionaries({"type": st.just("image"), "source": _image_sources}),
                               cache_control=_cache_control)
_document_sources = st.one_of(
    st.just({"type": "base64", "media_type": "application/pdf", "data": _PDF}),
    texts.map(lambda t: {"type": "text", "media_type": "text/plain", "data": t}),
    st.sampled_from(_PDF_URLS).map(lambda u: {"type": "url", "url": u}),
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), min_size=1, max_size=2).map(
        lambda c: {"type": "content", "content": c}),
)
document_blocks = _with_optional(
    st.fixed_dictionaries({"type": st.just("document"), "source": _document_sources}),
    title=readable_text(1, 30), context=readable_text(1, 40), citations=st.builds(
        lambda on: {"enabled": on}, st.booleans()), cache_control=_cache_control)
_signatures = st.binary(min_size=16, max_size=48).map(lambda b: base64.b64encode(b).decode())
_thinking_blocks = st.fixed_dictionaries({"type": st.just("thinking"), "thinking": texts, "signature": _signatures})
_redacted_blocks = st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": _signatures})


def tool_use_ids() -> st.SearchStrategy[str]:
    return st.text(_ID_CHARS, min_size=24, max_size=24).map(lambda s: "toolu_" + s)


# -- tools ----------------------------------------------------------------------------------------------


def _tools() -> st.SearchStrategy[list[dict[str, Any]]]:
    def tool(name: str) -> st.SearchStrategy[dict[str, Any]]:
        return _with_optional(st.just({"name": name, "input_schema": dict(TOOLS[name])}),
                              description=st.just(_TOOL_DESCRIPTIONS[name]), type=st.just("custom"),
                              cache_control=_cache_control)

    names = st.lists(st.sampled_from(sorted(TOOLS)), min_size=1, max_size=3, unique=True)
    return names.flatmap(lambda ns: st.tuples(*(tool(n) for n in ns)).map(list))


def _tool_choices(names: list[str], forced: bool) -> st.SearchStrategy[dict[str, Any]]:
    options = [st.just({"type": "auto"}), st.just({"type": "none"})]
    if forced:  # never while thinking (the API refuses it), and only where the model takes it
        options += [st.just({"type": "any"}), st.sampled_from(names).map(lambda n: {"type": "tool", "name": n})]
    choice = st.one_of(options)
    return st.tuples(choice, st.booleans(), st.booleans()).map(
        lambda t: {**t[0], "disable_parallel_tool_use": t[2]} if t[1] and t[0]["type"] != "none" else t[0])


# -- conversation ---------------------------------------------------------------------------------------


@st.composite
def _conversation(draw: st.DrawFn, profile: Profile, tool_names: list[str]) -> list[dict[str, Any]]:
    """Alternating turns ending with the user; tool results answer the previous turn's tool uses."""
    user_kinds, assistant_kinds = _block_kinds(profile, "user"), _block_kinds(profile, "assistant")
    user_text = text_blocks(_citations_on_user_text(profile))
    user_pool = [user_text]
    user_pool += [_image_blocks] if "image" in user_kinds else []
    user_pool += [document_blocks] if "document" in user_kinds else []
    assistant_pool = [text_blocks(False)]
    assistant_pool += [document_blocks] if "document" in assistant_kinds else []
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
                "content": st.one_of(texts, st.lists(text_blocks(False), min_size=1, max_size=2)),
                "is_error": st.booleans()})))
            blocks.append(result)
        pending = []
        blocks += draw(st.lists(st.one_of(user_pool), min_size=0 if blocks else 1, max_size=3))
        as_string = not any(b["type"] == "tool_result" for b in blocks) and draw(st.booleans())
        messages.append({"role": "user", "content": draw(texts) if as_string else blocks})
        if turn == turns - 1:
            return messages
        # The assistant turn: reasoning first (as the API returns it), then text, then tool uses.
        answer: list[dict[str, Any]] = draw(st.lists(st.one_of(reasoning), max_size=1)) if reasoning else []
        answer += draw(st.lists(st.one_of(assistant_pool), max_size=2))
        if tool_names and "tool_use" in assistant_kinds and draw(st.booleans()):
            for name in draw(st.lists(st.sampled_from(tool_names), min_size=1, max_size=2)):
                tool_use_id = draw(tool_use_ids().filter(lambda i: i not in used_ids))
                used_ids.add(tool_use_id)
                pending.append(tool_use_id)
                answer.append({"type": "tool_use", "id": tool_use_id, "name": name, "input": draw(_TOOL_INPUTS[name])})
        if not answer:
            answer = [draw(text_blocks(False))]
        plain = not pending and len(answer) == 1 and answer[0]["type"] == "text" and draw(st.booleans())
        messages.append({"role": "assistant", "content": answer[0]["text"] if plain else answer})
    return messages


# -- whole bodies -----------------------------------------------------------------------------------------

SHAPED_FIELDS = frozenset({"model", "messages", "max_tokens", "thinking", "tools", "tool_choice", "system",
                           "stop_sequences", "metadata", "temperature", "top_p", "top_k", "stream"})
"""Fields built here with realistic values and cross-field care; every other field comes from its schema.
``stream`` is never set: callers send the same body streamed and not."""

MODEL_GATED: Mapping[str, Callable[[ModelAccepts], bool]] = {"speed": lambda accepts: accepts.speed is True}
"""Schema-generated fields a model may refuse: sent only to a model whose ``accepts`` says it takes them."""


def _thinking_types(profile: Profile, accepts: ModelAccepts) -> list[str]:
    """The ``thinking.type`` values the version's schema has and the model is known to take."""
    schema = _defs(profile).get("thinking", {}).get("properties", {}).get("type", {})
    known = schema.get("enum", ()) if isinstance(schema, Mapping) else ()
    return [t for t in ("enabled", "adaptive", "disabled") if t in known and accepts.thinking.get(t) is True]


def _sampling(accepts: ModelAccepts, allowed: set[str]) -> dict[str, st.SearchStrategy[Any]]:
    """The sampling fields to draw from: the version allows them and the model takes them."""
    values = {"temperature": st.floats(0, 1).map(lambda x: round(x, 2)),
              "top_p": st.floats(0, 1).map(lambda x: round(x, 2)), "top_k": st.integers(1, 500)}
    return {k: v for k, v in values.items() if k in allowed and accepts.sampling.get(k) is True}


@st.composite
def valid_bodies(draw: st.DrawFn, profile: Profile, endpoint: str) -> dict[str, Any]:
    allowed = parameters(profile, endpoint)
    body: dict[str, Any] = {"model": draw(st.sampled_from(profile.model_ids))}
    accepts = profile.accepts(body["model"])
    kinds = _thinking_types(profile, accepts) if "thinking" in allowed else []
    tools = draw(_tools()) if "tools" in allowed and draw(st.booleans()) else []
    names = [t["name"] for t in tools]
    on = [k for k in kinds if k != "disabled"]
    kind = draw(st.sampled_from(on)) if on and draw(st.integers(0, 3)) == 0 else None
    thinking = kind is not None
    budget = draw(st.integers(1024, 2048)) if kind == "enabled" else 0
    body["messages"] = draw(_conversation(profile, names))
    if "max_tokens" in allowed:
        body["max_tokens"] = budget + draw(st.integers(1, 256))
    if kind == "enabled":
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif kind is not None:
        body["thinking"] = {"type": kind}
    elif "disabled" in kinds and draw(st.integers(0, 5)) == 0:
        body["thinking"] = {"type": "disabled"}
    if tools:
        body["tools"] = tools
        if "tool_choice" in allowed and draw(st.booleans()):
            forced = not thinking and accepts.forced_tool_choice is True
            body["tool_choice"] = draw(_tool_choices(names, forced))
    if "system" in allowed and draw(st.booleans()):
        body["system"] = draw(st.one_of(texts, st.lists(text_blocks(False), min_size=1, max_size=2)))
    if "stop_sequences" in allowed and draw(st.booleans()):
        body["stop_sequences"] = draw(st.lists(st.sampled_from(["\n\nHuman:", "END", "STOP", "###", "fox", "?"]),
                                               min_size=1, max_size=3, unique=True))
    if "metadata" in allowed and draw(st.booleans()):
        body["metadata"] = {"user_id": draw(st.uuids().map(str))}
    if not thinking:  # the API fixes sampling while thinking
        sampling = draw(st.fixed_dictionaries({}, optional=_sampling(accepts, allowed)))
        if {"temperature", "top_p"} <= sampling.keys() and accepts.temperature_with_top_p is not True:
            del sampling[draw(st.sampled_from(["temperature", "top_p"]))]  # the model may take only one of them
        body.update(sampling)
    for name in sorted(allowed - SHAPED_FIELDS):
        # Fields with nothing to add beyond their schema, now and then: the schema says what is valid.
        gate = MODEL_GATED.get(name)
        if gate is not None and not gate(accepts):
            continue
        values = _field_values(profile, endpoint, name)
        if values is not None and draw(st.integers(0, 4)) == 0:
            body[name] = draw(values)
    return body


def _field_values(profile: Profile, endpoint: str, name: str) -> st.SearchStrategy[Any] | None:
    """A field's values from its schema: its ``examples`` when it gives some (what a real client sends),
    else anything the schema allows; ``None`` when the schema says ``x-generate: false`` (a beta field, a
    reference to an account's resource: valid by shape, refused by a real API when made up)."""
    schema = profile.schemas.schema(request_shape(endpoint)).get("properties", {}).get(name, {})
    if not isinstance(schema, Mapping) or schema.get("x-generate") is False:
        return None
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return st.sampled_from(examples)
    return field_values(profile, request_shape(endpoint), name)


def check_endpoint(endpoint: str) -> str:
    if endpoint not in BODY_ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(BODY_ENDPOINTS)}, not {endpoint!r}")
    return endpoint


def request_shape(endpoint: str) -> str:
    return str(endpoint_named(check_endpoint(endpoint)).request_shape)


def valid_requests(profile: Profile, endpoint: str = "messages") -> st.SearchStrategy[dict[str, Any]]:
    """Realistic valid request bodies for ``endpoint`` (``messages`` or ``count_tokens``) in ``profile``.

    ``stream`` is never set: callers send the same body streamed and not.
    """
    return valid_bodies(profile, check_endpoint(endpoint))
