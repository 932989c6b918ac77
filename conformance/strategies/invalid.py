"""Invalid request bodies: a valid body with exactly one constraint broken, per API version.

Each :class:`InvalidRequest` is tagged with the constraint kind and the dotted path
(``messages.0.role``) the API's 400 message must name. Kinds come from two places:

* the profile's request schema, for every field it has: a required field missing
  (``missing-required``), a value of a JSON type the field does not take (``wrong-type``,
  ``null`` for required objects included; ``nested-wrong-type`` at a generated place below the top
  level; ``body-not-an-object`` for the whole body), a number outside its bounds
  (``<field>-out-of-range``, for each field with ``minimum``/``maximum``), a field the schema
  does not know (``unknown-top-level-field``). A field added to a profile is broken by the next
  run without a line of code;
* the rules no schema can state (:data:`CROSS_FIELD`): the first turn from the user (where the version
  requires it: ``request_rules.first_message_role``), an unknown role, ``tool_choice`` naming a missing
  tool, a ``tool_result`` answering no ``tool_use``, the thinking budget, the version's own
  rejections (``request_rules`` in profile.json), and what a model of the catalogue refuses (``accepts``):
  a thinking type (``thinking-unsupported-model``), a sampling field (``sampling-unsupported-model``),
  temperature with top_p (``temperature-with-top-p``), ``speed`` (``speed-unsupported-model``), an effort
  level (``effort-unsupported-level``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

from conformance.profiles import ModelAccepts, Profile
from conformance.strategies.requests import (
    MODEL_GATED,
    TOOLS,
    check_endpoint,
    document_blocks,
    parameters,
    request_shape,
    text_blocks,
    texts,
    tool_use_ids,
    valid_bodies,
)

__all__ = ["CROSS_FIELD", "InvalidRequest", "constraints_for", "invalid_requests"]


@dataclasses.dataclass(frozen=True, slots=True)
class InvalidRequest:
    """A request body with exactly one constraint broken."""

    body: Any
    """Usually an object; for ``body-not-an-object`` an array, a string, a number or null."""
    constraint: str
    """What was broken, e.g. ``first-message-not-user`` (see :func:`constraints_for`)."""
    path: str
    """The dotted field the API's 400 message must name, e.g. ``messages.0.role``."""


Broken = tuple[dict[str, Any], str]
"""The broken body and the dotted path the API must name."""
Breaker = Callable[[st.DrawFn, dict[str, Any], Profile, str], Broken]
Applies = Callable[[Profile, str], bool]


# -- from the schema ------------------------------------------------------------------------------------

_CANDIDATES: tuple[Any, ...] = ("1024", "yes", 7, 12.5, True, None, ["x"], {"value": 1})
"""Values of every JSON type; a field's wrong-type values are those its schema refuses."""
_BROKEN_VALUES: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}


def _minimal(profile: Profile, endpoint: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": profile.model_ids[0], "messages": [{"role": "user", "content": "Hi"}]}
    if "max_tokens" in parameters(profile, endpoint):
        body["max_tokens"] = 16
    return body


def _only_at(profile: Profile, endpoint: str, name: str, value: Any) -> bool:
    """Whether ``value`` in field ``name`` of a minimal valid body breaks that field and nothing else."""
    from conformance.rules.requests import request_problems

    body = {**_minimal(profile, endpoint), name: value}
    found = request_problems(body, profile, endpoint)
    return bool(found) and all(v.dotted == name for v in found)


def _field_schema(profile: Profile, endpoint: str, name: str) -> Mapping[str, Any]:
    sub = profile.schemas.schema(request_shape(endpoint)).get("properties", {}).get(name, {})
    return sub if isinstance(sub, Mapping) else {}


def _wrong_values(profile: Profile, endpoint: str, name: str) -> tuple[Any, ...]:
    key = (str(profile.schemas.directory), endpoint, name, "type")
    found = _BROKEN_VALUES.get(key)
    if found is None:
        found = _BROKEN_VALUES[key] = tuple(v for v in _CANDIDATES if _only_at(profile, endpoint, name, v))
    return found


def _bound_values(profile: Profile, endpoint: str, name: str) -> tuple[Any, ...]:
    """Numbers just outside the field's bounds (and far outside), each refused at the field alone."""
    key = (str(profile.schemas.directory), endpoint, name, "range")
    found = _BROKEN_VALUES.get(key)
    if found is not None:
        return found
    schema = _field_schema(profile, endpoint, name)
    types = schema.get("type")
    integer = types == "integer" or (isinstance(types, list) and "integer" in types and "number" not in types)
    step: float = 1 if integer else 0.01
    values: list[Any] = []
    for keyword, sign in (("minimum", -1), ("exclusiveMinimum", 0), ("maximum", 1), ("exclusiveMaximum", 0)):
        bound = schema.get(keyword)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            direction = -1 if "inimum" in keyword else 1
            near = bound + sign * step if sign else bound
            for value in (near, bound + direction * (100 if integer else 1.5)):
                values.append(int(value) if integer else round(float(value), 4))
    found = _BROKEN_VALUES[key] = tuple(v for v in dict.fromkeys(values) if _only_at(profile, endpoint, name, v))
    return found


def _breakable(profile: Profile, endpoint: str, values: Callable[[Profile, str, str], tuple[Any, ...]]) -> list[str]:
    return sorted(n for n in parameters(profile, endpoint) if values(profile, endpoint, n))


def _missing_required(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    required = profile.schemas.schema(request_shape(endpoint)).get("required", ["model", "messages"])
    field = draw(st.sampled_from(sorted(required)))
    del body[field]
    return body, field


def _untangled(body: dict[str, Any], field: str) -> None:
    """Drop what would become a second problem once ``field`` is broken."""
    if field == "tools":
        body.pop("tool_choice", None)  # a choice naming a tool would then name a missing one
    if field in ("temperature", "top_p", "top_k", "max_tokens"):
        body.pop("thinking", None)  # sampling is fixed while thinking; a budget above a broken max_tokens


def _wrong_type(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    field = draw(st.sampled_from(_breakable(profile, endpoint, _wrong_values)))
    _untangled(body, field)
    body[field] = draw(st.sampled_from(_wrong_values(profile, endpoint, field)))
    return body, field


def _out_of_range(field: str) -> Breaker:
    def breaker(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
        _untangled(body, field)
        body[field] = draw(st.sampled_from(_bound_values(profile, endpoint, field)))
        return body, field

    return breaker


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path in a JSON value below its root, parents before children."""
    out: list[tuple[str | int, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out.append((*path, key))
        out.extend(_leaves(child, (*path, key)))
    return out


def _replaced(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(body) if isinstance(body, dict) else list(body)
    copy[head] = _replaced(copy[head], rest, value)
    return copy


def _nested_wrong_type(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    """Type confusion below the top level: a value of a JSON type its place does not take, refused there alone."""
    from conformance.rules.requests import request_problems

    paths = [p for p in _leaves(body) if len(p) > 1]
    for path in draw(st.permutations(paths))[:12]:
        dotted = ".".join(str(step) for step in path)
        for value in draw(st.permutations(list(_CANDIDATES))):
            broken = _replaced(body, path, value)
            found = request_problems(broken, profile, endpoint)
            if found and all(v.dotted == dotted for v in found):
                return broken, dotted
    # Every block's text takes a string only: a number there is always refused at it alone.
    body["messages"][0]["content"] = [{"type": "text", "text": 7}]
    return body, "messages.0.content.0.text"


def _not_an_object(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    """The whole body is JSON of another type: an array of the valid body, a string, a number, null."""
    return draw(st.sampled_from([[body], "hello", 42, None])), ""


_UNKNOWN_FIELDS = ("frequency_penalty", "n", "logprobs", "prompt", "max_tokens_to_sample", "response_format", "seed")


def _unknown_field(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    known = set(profile.schemas.schema(request_shape(endpoint)).get("properties", {}))
    field = draw(st.sampled_from([f for f in _UNKNOWN_FIELDS if f not in known]))
    body[field] = draw(st.one_of(st.integers(0, 3), texts))
    return body, field


# -- rules no schema can state ----------------------------------------------------------------------------


def _user_turns(body: dict[str, Any]) -> list[int]:
    return [i for i, m in enumerate(body["messages"]) if m["role"] == "user"]


def _as_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _empty_messages(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    body["messages"] = []
    return body, "messages"


def _first_not_user(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    body["messages"].insert(0, {"role": "assistant", "content": draw(st.one_of(texts, st.lists(
        text_blocks(False), min_size=1, max_size=1)))})
    return body, "messages.0.role"


def _unknown_role(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    # A user turn keeps content valid for the "not assistant" branch; its tool results then go unchecked,
    # which cannot add a problem.
    index = draw(st.sampled_from(_user_turns(body)))
    body["messages"][index]["role"] = draw(st.sampled_from(["tool", "human", "User", "developer", "model"]))
    return body, f"messages.{index}.role"


def _tool_choice_missing_tool(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    if not body.get("tools"):
        body["tools"] = [{"name": "get_weather", "input_schema": dict(TOOLS["get_weather"])}]
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
    stray = draw(tool_use_ids().filter(lambda i: i not in str(body)))
    blocks.insert(position, {"type": "tool_result", "tool_use_id": stray, "content": draw(texts)})
    message["content"] = blocks
    return body, f"messages.{index}.content.{position}.tool_use_id"


def _rejected_parameter(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    field = draw(st.sampled_from(sorted(profile.request_rules.rejected_parameters)))
    body.pop("thinking", None)
    body[field] = draw(st.integers(1, 40)) if field == "top_k" else draw(st.floats(0, 1).map(lambda x: round(x, 2)))
    return body, field


def _assistant_document(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    # A fresh opening exchange so no existing tool_use/tool_result pairing is disturbed.
    opening = [{"role": "user", "content": draw(texts)},
               {"role": "assistant", "content": [draw(text_blocks(False)), draw(document_blocks)]}]
    body["messages"][:0] = opening
    return body, "messages.1.content.1.type"


def _user_citations(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    index = draw(st.sampled_from(_user_turns(body)))
    message = body["messages"][index]
    blocks = _as_blocks(message)
    block = {"type": "text", "text": draw(texts), "citations": [
        {"type": "char_location", "cited_text": draw(texts), "document_index": 0, "start_char_index": 0,
         "end_char_index": 5}]}
    blocks.append(block)
    message["content"] = blocks
    return body, f"messages.{index}.content.{len(blocks) - 1}.citations"


# -- what a model refuses (``accepts`` in the catalogue) ------------------------------------------------------


def _models_where(profile: Profile, test: Callable[[ModelAccepts], bool]) -> list[str]:
    return [m for m in profile.model_ids if test(profile.accepts(m))]


def _switch_model(draw: st.DrawFn, body: dict[str, Any], profile: Profile, test: Callable[[ModelAccepts], bool]) -> str:
    """Name a model ``test`` picks, and drop whatever of the body that model is not known to take (so the one
    constraint broken next is the only problem)."""
    model = draw(st.sampled_from(_models_where(profile, test)))
    body["model"] = model
    accepts = profile.accepts(model)
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and accepts.thinking.get(str(thinking.get("type"))) is not True:
        del body["thinking"]
    for param in ("temperature", "top_p", "top_k"):
        if param in body and accepts.sampling.get(param) is not True:
            del body[param]
    if {"temperature", "top_p"} <= body.keys() and accepts.temperature_with_top_p is not True:
        del body["top_p"]
    for name, gate in MODEL_GATED.items():
        if name in body and not gate(accepts):
            del body[name]
    output = body.get("output_config")
    if isinstance(output, dict) and "effort" in output and output["effort"] not in (accepts.effort or ()):
        del output["effort"]
    if body.get("tool_choice", {}).get("type") in ("any", "tool") and accepts.forced_tool_choice is not True:
        body["tool_choice"] = {"type": "auto"}
    return model


def _refused_thinking(accepts: ModelAccepts, profile: Profile) -> list[str]:
    known = set(profile.schemas.schema("request").get("$defs", {}).get("thinking", {}).get("properties", {})
                .get("type", {}).get("enum", ()))
    return sorted(t for t, ok in accepts.thinking.items() if ok is False and t in known)


def _thinking_unsupported(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    model = _switch_model(draw, body, profile, lambda a: bool(_refused_thinking(a, profile)))
    kind = draw(st.sampled_from(_refused_thinking(profile.accepts(model), profile)))
    if kind == "disabled":
        body["thinking"] = {"type": "disabled"}
        return body, "thinking.type"
    for param in ("temperature", "top_p", "top_k"):  # the API fixes sampling while thinking
        body.pop(param, None)
    if body.get("tool_choice", {}).get("type") in ("any", "tool"):
        body["tool_choice"] = {"type": "auto"}
    if kind == "enabled":
        budget = draw(st.integers(1024, 2048))
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = budget + draw(st.integers(1, 256))
    else:
        body["thinking"] = {"type": kind}
    return body, "thinking.type"


def _sampling_refused(profile: Profile) -> Callable[[ModelAccepts], list[str]]:
    version = set(profile.request_rules.rejected_parameters)
    return lambda a: sorted(p for p, ok in a.sampling.items() if ok is False and p not in version)


def _sampling_unsupported(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    refused = _sampling_refused(profile)
    model = _switch_model(draw, body, profile, lambda a: bool(refused(a)))
    param = draw(st.sampled_from(refused(profile.accepts(model))))
    body.pop("thinking", None)
    body[param] = draw(st.integers(1, 40)) if param == "top_k" else draw(st.floats(0, 0.9).map(lambda x: round(x, 2)))
    return body, param


def _pair_refused(accepts: ModelAccepts) -> bool:
    return accepts.temperature_with_top_p is False and accepts.sampling.get("temperature") is True \
        and accepts.sampling.get("top_p") is True


def _temperature_with_top_p(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    _switch_model(draw, body, profile, _pair_refused)
    body.pop("thinking", None)
    body["temperature"] = draw(st.floats(0, 1).map(lambda x: round(x, 2)))
    body["top_p"] = draw(st.floats(0, 1).map(lambda x: round(x, 2)))
    return body, "top_p"


def _speed_unsupported(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    _switch_model(draw, body, profile, lambda a: a.speed is False)
    schema = profile.schemas.schema(request_shape(endpoint)).get("properties", {}).get("speed", {})
    body["speed"] = draw(st.sampled_from([v for v in schema.get("enum", ["standard"]) if v is not None]))
    return body, "speed"


def _effort_levels(profile: Profile) -> tuple[str, ...]:
    effort = profile.schemas.schema("request").get("$defs", {}).get("output_config", {}).get("properties", {}) \
        .get("effort", {})
    return tuple(effort.get("x-known-values", ())) if isinstance(effort, Mapping) else ()


def _effort_refused(profile: Profile) -> Callable[[ModelAccepts], list[str]]:
    return lambda a: [e for e in _effort_levels(profile) if a.effort and e not in a.effort]


def _effort_unsupported(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    refused = _effort_refused(profile)
    model = _switch_model(draw, body, profile, lambda a: bool(refused(a)))
    output = body.get("output_config")
    body["output_config"] = {**(output if isinstance(output, dict) else {}),
                             "effort": draw(st.sampled_from(refused(profile.accepts(model))))}
    return body, "output_config.effort"


def _any_model(test: Callable[[Profile], Callable[[ModelAccepts], Any]], *params: str) -> Applies:
    """Applies to Messages where the version has ``params`` and some model of its catalogue passes ``test``."""
    return lambda profile, endpoint: endpoint == "messages" and _has(*params)(profile, endpoint) \
        and bool(_models_where(profile, lambda a: bool(test(profile)(a))))


def _thinking_budget(too: str) -> Breaker:
    def breaker(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
        if profile.accepts(body["model"]).thinking.get("enabled") is not True:
            _switch_model(draw, body, profile, lambda a: a.thinking.get("enabled") is True)
        for param in ("temperature", "top_p", "top_k"):
            body.pop(param, None)
        if body.get("tool_choice", {}).get("type") in ("any", "tool"):
            body["tool_choice"] = {"type": "auto"}
        floor = profile.request_rules.thinking_budget_tokens_min
        if too == "large":
            budget = draw(st.integers(floor, floor * 4))
            body["max_tokens"] = draw(st.integers(1, budget))
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            return body, "max_tokens"
        body["thinking"] = {"type": "enabled", "budget_tokens": draw(st.integers(1, floor - 1))}
        if "max_tokens" in body:
            body["max_tokens"] = draw(st.integers(floor, floor + 256))
        return body, "thinking.budget_tokens"

    return breaker


def _unknown_block_type(draw: st.DrawFn, body: dict[str, Any], profile: Profile, endpoint: str) -> Broken:
    index = draw(st.sampled_from(_user_turns(body)))
    message = body["messages"][index]
    blocks = _as_blocks(message)
    blocks.append({"type": draw(st.sampled_from(["video", "audio", "html", "input_text"])), "text": draw(texts)})
    message["content"] = blocks
    return body, f"messages.{index}.content.{len(blocks) - 1}.type"


def _has(*params: str) -> Applies:
    return lambda profile, endpoint: all(p in parameters(profile, endpoint) for p in params)


def _always(profile: Profile, endpoint: str) -> bool:
    return True


def _manual_thinking(*params: str) -> Applies:
    """The version has ``params`` and some model takes manual thinking (``thinking.type: enabled``)."""
    return lambda profile, endpoint: _has(*params)(profile, endpoint) and bool(
        _models_where(profile, lambda a: a.thinking.get("enabled") is True))


CROSS_FIELD: Mapping[str, tuple[Applies, Breaker]] = {
    "empty-messages": (_always, _empty_messages),
    "first-message-not-user": (lambda p, e: p.request_rules.first_message_role == "user", _first_not_user),
    "unknown-role": (_always, _unknown_role),
    "tool-choice-missing-tool": (_has("tools", "tool_choice"), _tool_choice_missing_tool),
    "tool-result-unknown-id": (_always, _tool_result_unknown_id),
    "unknown-block-type": (_always, _unknown_block_type),
    "thinking-budget-above-max-tokens": (_manual_thinking("thinking", "max_tokens"), _thinking_budget("large")),
    "thinking-budget-below-minimum": (_manual_thinking("thinking"), _thinking_budget("small")),
    "version-rejected-parameter": (lambda p, e: bool(p.request_rules.rejected_parameters), _rejected_parameter),
    "version-document-in-assistant-turn": (
        lambda p, e: "document" in p.request_rules.rejected_assistant_blocks, _assistant_document),
    "version-citations-on-user-text": (lambda p, e: not p.request_rules.citations_on_user_text, _user_citations),
    "thinking-unsupported-model": (_any_model(lambda p: lambda a: _refused_thinking(a, p), "thinking"),
                                   _thinking_unsupported),
    "sampling-unsupported-model": (_any_model(_sampling_refused), _sampling_unsupported),
    "temperature-with-top-p": (_any_model(lambda p: _pair_refused, "temperature", "top_p"), _temperature_with_top_p),
    "speed-unsupported-model": (_any_model(lambda p: lambda a: a.speed is False, "speed"), _speed_unsupported),
    "effort-unsupported-level": (_any_model(_effort_refused, "output_config"), _effort_unsupported),
}
"""Constraint kind -> (whether the profile and endpoint have it, how to break it)."""


def _constraints(profile: Profile, endpoint: str) -> dict[str, Breaker]:
    """Every constraint kind of a profile and endpoint: from its schema, then the cross-field ones."""
    out: dict[str, Breaker] = {"missing-required": _missing_required}
    if _breakable(profile, endpoint, _wrong_values):
        out["wrong-type"] = _wrong_type
    for field in _breakable(profile, endpoint, _bound_values):
        out[f"{field.replace('_', '-')}-out-of-range"] = _out_of_range(field)
    out["nested-wrong-type"] = _nested_wrong_type
    out["body-not-an-object"] = _not_an_object
    out["unknown-top-level-field"] = _unknown_field
    out.update((name, breaker) for name, (applies, breaker) in CROSS_FIELD.items() if applies(profile, endpoint))
    return out


def constraints_for(profile: Profile, endpoint: str = "messages") -> tuple[str, ...]:
    """The constraint kinds :func:`invalid_requests` can break for this profile and endpoint."""
    return tuple(_constraints(profile, check_endpoint(endpoint)))


def invalid_requests(profile: Profile, endpoint: str = "messages", *,
                     constraints: tuple[str, ...] | None = None) -> st.SearchStrategy[InvalidRequest]:
    """Valid bodies with exactly one constraint broken (all applicable kinds, or only ``constraints``)."""
    available = _constraints(profile, check_endpoint(endpoint))
    chosen = tuple(available) if constraints is None else constraints
    unknown = [c for c in chosen if c not in available]
    if unknown or not chosen:
        raise ValueError(f"constraints must be among {', '.join(available)}; got {', '.join(unknown) or 'none'}")

    @st.composite
    def one(draw: st.DrawFn, name: str) -> InvalidRequest:
        body = draw(valid_bodies(profile, endpoint))
        broken, path = available[name](draw, body, profile, endpoint)
        return InvalidRequest(broken, name, path)

    return st.one_of([one(name) for name in chosen])
