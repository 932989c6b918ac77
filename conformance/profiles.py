"""API-version profiles, loaded from the data under ``schemas/``.

A profile is everything the suite knows about one ``anthropic-version``: its
status, its JSON Schemas (see :mod:`conformance.schemas`), the error table,
the rate-limit header naming, the models and the tiers. Nothing here is
hard-coded: the data lives in ``schemas/versions.json`` and
``schemas/<version>/profile.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from conformance.errors import ProfileError
from conformance.schemas import SchemaSet


def schemas_root() -> Path:
    """Where the schema data lives: inside the installed wheel, else the source tree."""
    packaged = Path(__file__).parent / "_schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schemas"


@functools.cache
def standalone_validator(directory: str, name: str) -> Any:
    """A schema outside the profiles (``sdk/``: the driver protocol; ``reports/``: the report files read back),
    compiled once: a ``jsonschema.Draft202012Validator``."""
    import jsonschema

    path = schemas_root() / directory / name
    return jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorType:
    status: int
    type: str
    envelope: bool = True
    """Whether the body is guaranteed to be the ``{"type": "error", ...}`` envelope."""
    retryable: bool = False
    description: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitResource:
    """Header names for one rate-limited resource (``requests``, ``tokens``, ...)."""

    name: str
    limit: str
    remaining: str
    reset: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    family: str
    """``anthropic`` (``anthropic-ratelimit-*``) or ``x-ratelimit`` (the reference document's)."""
    resources: tuple[RateLimitResource, ...]
    retry_after: str = "retry-after"

    def all_names(self) -> set[str]:
        names = {self.retry_after}
        for r in self.resources:
            names.update(n for n in (r.limit, r.remaining, r.reset) if n)
        return names


@dataclasses.dataclass(frozen=True, slots=True)
class Tier:
    name: str
    requests_per_minute: int
    input_tokens_per_minute: int
    output_tokens_per_minute: int
    tokens_per_minute: int
    """Input and output together (the reference document's single figure); input + output when not given."""


@dataclasses.dataclass(frozen=True, slots=True)
class RequestRules:
    """What a version rejects beyond its request schema (``request_rules`` in profile.json)."""

    first_message_role: str | None = "user"
    """The role the first message must have; ``None``: any role the schema allows (the API has accepted an
    assistant message first since about December 2024)."""
    thinking_budget_tokens_min: int = 1024
    thinking_budget_below_max_tokens: bool = True
    rejected_parameters: tuple[str, ...] = ()
    """Top-level fields the version refuses outright (2026-10-21: temperature, top_p, top_k)."""
    rejected_assistant_blocks: tuple[str, ...] = ()
    """Block types refused in assistant turns."""
    citations_on_user_text: bool = True


THINKING_TYPES = ("enabled", "adaptive", "disabled", "between_tools")
"""``thinking.type`` values a model may take or refuse (``accepts.thinking`` in a catalogue entry)."""
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")
"""Sampling fields a model may take or refuse (``accepts.sampling``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ModelAccepts:
    """What one model takes in a Messages request beyond the version's schema (``accepts`` in its catalogue entry).

    Every fact has three values: ``True`` the model takes it, ``False`` the API answers 400
    invalid_request_error, ``None`` (absent from the data) unknown. The valid-request generators send a field
    only where it is ``True``; the request rules judge only where it is ``False``.
    """

    thinking: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    """``thinking.type`` -> accepted (``enabled``, ``adaptive``, ``disabled``, ``between_tools``)."""
    sampling: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    """``temperature``, ``top_p``, ``top_k`` -> accepted at all."""
    temperature_with_top_p: bool | None = None
    """Whether ``temperature`` and ``top_p`` may be sent together (the 4.x models answer 400)."""
    speed: bool | None = None
    """Whether ``speed`` is taken without a beta header (``False``: the model has no fast mode)."""
    effort: tuple[str, ...] | None = None
    """The ``output_config.effort`` levels taken; ``()`` for a model without effort."""
    forced_tool_choice: bool | None = None
    """Whether ``tool_choice`` may force a tool (``any``/``tool``) when thinking is off."""

    def thinks(self) -> bool | None:
        """Whether the model thinks at all: ``False`` when it refuses both ``enabled`` and ``adaptive``."""
        on = [self.thinking.get(t) for t in ("enabled", "adaptive")]
        return True if True in on else False if on == [False, False] else None


_ACCEPTS_KEYS = frozenset({"thinking", "sampling", "temperature_with_top_p", "speed", "effort", "forced_tool_choice"})


def _flag(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"accepts.{key} must be true, false or absent, not {value!r}")
    return value


def _flags(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, bool]:
    table = raw.get(key) or {}
    if not isinstance(table, Mapping):
        raise TypeError(f"accepts.{key} must be an object")
    for name, value in table.items():
        if name not in allowed or not isinstance(value, bool):
            raise ValueError(f"accepts.{key}.{name}: expected one of {', '.join(allowed)} mapped to true or false")
    return {str(k): bool(v) for k, v in table.items()}


def parse_accepts(raw: Any) -> ModelAccepts:
    """A catalogue entry's ``accepts`` object, typed (absent facts stay unknown)."""
    if raw is None:
        return ModelAccepts()
    if not isinstance(raw, Mapping):
        raise TypeError("accepts must be an object")
    unknown = set(raw) - _ACCEPTS_KEYS
    if unknown:
        raise ValueError(f"accepts has unknown keys {sorted(unknown)}; known: {sorted(_ACCEPTS_KEYS)}")
    effort = raw.get("effort")
    if effort is not None and not (isinstance(effort, list) and all(isinstance(e, str) for e in effort)):
        raise TypeError("accepts.effort must be a list of levels")
    return ModelAccepts(thinking=_flags(raw, "thinking", THINKING_TYPES),
                        sampling=_flags(raw, "sampling", SAMPLING_PARAMETERS),
                        temperature_with_top_p=_flag(raw, "temperature_with_top_p"), speed=_flag(raw, "speed"),
                        effort=None if effort is None else tuple(effort),
                        forced_tool_choice=_flag(raw, "forced_tool_choice"))


@dataclasses.dataclass(frozen=True, slots=True)
class UnknownModel:
    """How the API answers a model it does not know."""

    status: int = 404
    type: str = "not_found_error"
    message_template: str = "model: {model}"

    def message(self, model: object) -> str:
        return self.message_template.replace("{model}", str(model))


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The retry guidance clients follow (statuses, attempts, backoff, which hints they honour)."""

    statuses: frozenset[int]
    max_retries: int = 2
    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    honours: tuple[str, ...] = ("retry-after-ms", "retry-after", "x-should-retry")


@dataclasses.dataclass(frozen=True)
class Profile:
    version: str
    status: str
    """``current``, ``supported``, ``deprecated``, ``initial``, ``newest`` ... (data)."""
    description: str
    errors: tuple[ErrorType, ...]
    rate_limits: RateLimitHeaders
    models: tuple[Mapping[str, Any], ...]
    """The catalogue as ``GET /v1/models`` serves it (each entry without its ``accepts``)."""
    tiers: tuple[Tier, ...]
    schemas: SchemaSet
    data: Mapping[str, Any]
    """The raw ``profile.json`` (for ``diff`` and ``check-schemas``; code reads the typed fields)."""
    request_rules: RequestRules = RequestRules()
    unknown_model: UnknownModel = UnknownModel()
    retry: RetryPolicy = RetryPolicy(frozenset())
    auth_styles: tuple[str, ...] = ("x-api-key",)
    """Accepted authentication: ``x-api-key`` and/or ``authorization-bearer``."""
    model_aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Alias -> dated model id (``claude-sonnet-4-5`` -> ``claude-sonnet-4-5-20250929``)."""
    identity_headers: tuple[str, ...] = ()
    """Account headers every authenticated answer carries (``anthropic-organization-id``)."""
    model_accepts: Mapping[str, ModelAccepts] = dataclasses.field(default_factory=dict)
    """Model id -> what it takes in a request (``accepts`` in its catalogue entry)."""

    @functools.cached_property
    def _by_type(self) -> dict[str, ErrorType]:
        return {e.type: e for e in self.errors}

    def error_for_type(self, error_type: str) -> ErrorType | None:
        return self._by_type.get(error_type)

    def error_types_for_status(self, status: int) -> set[str]:
        return {e.type for e in self.errors if e.status == status}

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(str(m["id"]) for m in self.models)

    @property
    def source(self) -> str:
        """``real-api`` (recorded traffic, SDK sources) or ``reference-document``."""
        return str(self.data.get("source", ""))

    @functools.cached_property
    def known_models(self) -> frozenset[str]:
        """Every model id and alias the version serves (any other is answered as :attr:`unknown_model`)."""
        return frozenset(self.model_ids) | frozenset(self.model_aliases)

    def knows_model(self, model: object) -> bool:
        """Whether ``model`` is a listed id or alias (an unknown one is answered with 404 not_found_error)."""
        return isinstance(model, str) and model in self.known_models

    def resolve_model(self, model: str) -> str:
        """The dated id an alias stands for (``model`` itself when it is not an alias)."""
        return self.model_aliases.get(model, model)

    def accepts(self, model: object) -> ModelAccepts:
        """What ``model`` (an id or an alias) takes in a request; all unknown for a model the profile lacks."""
        if not isinstance(model, str):
            return ModelAccepts()
        return self.model_accepts.get(self.resolve_model(model)) or ModelAccepts()

    @property
    def retryable_statuses(self) -> frozenset[int]:
        """HTTP statuses a client should retry, per this profile's retry guidance."""
        return self.retry.statuses

    def known_values(self, shape: str, *path: str) -> frozenset[str]:
        """The ``x-known-values`` the ``shape`` schema lists at ``path`` (property names, ``$defs/NAME`` steps).

        ``known_values("stream_event", "type")`` are the event types this version's streams may carry;
        ``known_values("stream_event", "$defs", "delta", "type")`` its delta types. Empty when absent.
        """
        if not self.schemas.has(shape):
            return frozenset()
        node: Any = self.schemas.schema(shape)
        steps = list(path)
        while steps and isinstance(node, Mapping):
            step = steps.pop(0)
            if step == "$defs" and steps:
                node = (node.get("$defs") or {}).get(steps.pop(0))
            else:
                node = (node.get("properties") or {}).get(step)
        known = node.get("x-known-values") if isinstance(node, Mapping) else None
        return frozenset(str(v) for v in known) if isinstance(known, list) else frozenset()

    @functools.cached_property
    def stream_event_types(self) -> frozenset[str]:
        """Event types this version's streams may carry (the stream-event schema checks each one)."""
        return self.known_values("stream_event", "type")

    @functools.cached_property
    def delta_types(self) -> frozenset[str]:
        """``content_block_delta`` delta types this version knows."""
        return self.known_values("stream_event", "$defs", "delta", "type")

    @functools.cached_property
    def usage_counts(self) -> tuple[str, ...]:
        """The integer token counts of a Message's ``usage``, from the message schema (in schema order)."""
        if not self.schemas.has("message"):
            return ()
        usage = self.schemas.schema("message").get("properties", {}).get("usage", {})
        if "$ref" in usage:
            ref = str(usage["$ref"])
            usage = self.schemas.schema("message").get("$defs", {}).get(ref.rsplit("/", 1)[-1], {})
        out = []
        for name, sub in (usage.get("properties") or {}).items():
            types = sub.get("type") if isinstance(sub, Mapping) else None
            if types == "integer" or (isinstance(types, list) and "integer" in types):
                out.append(str(name))
        return tuple(out)

    def version_error_message(self, sent: str | None) -> str:
        """The real API's message for a missing (``None``) or unknown ``anthropic-version``."""
        ve = self.data.get("version_errors", {})
        if sent is None:
            return str(ve.get("missing", {}).get("message", "anthropic-version: header is required"))
        template = str(ve.get("unknown", {}).get("message_template",
                                                  'anthropic-version: "{version}" is not a valid version'))
        return template.replace("{version}", sent)

    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name.lower() == name.lower():
                return t
        raise ProfileError(f"profile {self.version} has no tier {name!r}",
                           fix="tiers: " + ", ".join(t.name for t in self.tiers))


@dataclasses.dataclass(frozen=True)
class Profiles:
    """The version table: every profile, in date order, and the default."""

    by_version: Mapping[str, Profile]
    default_version: str
    table: Mapping[str, Any]

    def get(self, version: str) -> Profile:
        try:
            return self.by_version[version]
        except KeyError:
            known = ", ".join(self.by_version)
            raise ProfileError(f"unknown API version {version!r}", fix=f"known versions: {known}") from None

    @property
    def default(self) -> Profile:
        return self.by_version[self.default_version]

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(self.by_version)

    def __iter__(self) -> Iterator[Profile]:
        return iter(self.by_version.values())

    def __contains__(self, version: object) -> bool:
        return version in self.by_version


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ProfileError("file is missing", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"not valid JSON: {exc.msg}", file=str(path),
                           where=f"{exc.lineno}:{exc.colno}") from None


def _need(data: Mapping[str, Any], key: str, path: Path) -> Any:
    if key not in data:
        raise ProfileError(f"missing required key {key!r}", file=str(path))
    return data[key]


def _tier(name: str, raw: Mapping[str, Any]) -> Tier:
    inputs, outputs = int(raw["input_tokens_per_minute"]), int(raw["output_tokens_per_minute"])
    return Tier(name, int(raw["requests_per_minute"]), inputs, outputs,
                int(raw.get("tokens_per_minute", inputs + outputs)))


def _load_profile(root: Path, entry: Mapping[str, Any], table_path: Path) -> Profile:
    version = str(_need(entry, "version", table_path))
    directory = root / version
    profile_path = directory / "profile.json"
    data = _read_json(profile_path)
    try:
        errors = tuple(
            ErrorType(int(e["status"]), str(e["type"]), bool(e.get("envelope", True)),
                      bool(e.get("retryable", False)), str(e.get("description", "")))
            for e in _need(data, "errors", profile_path)
        )
        rl = _need(data, "rate_limit_headers", profile_path)
        rate_limits = RateLimitHeaders(
            family=str(rl["family"]),
            resources=tuple(
                RateLimitResource(name, r["limit"], r["remaining"], r.get("reset"))
                for name, r in rl["resources"].items()
            ),
            retry_after=str(rl.get("retry_after", "retry-after")),
        )
        tiers = tuple(_tier(name, t) for name, t in _need(data, "tiers", profile_path).items())
        catalogue = _need(data, "models", profile_path)
        models = tuple({k: v for k, v in m.items() if k != "accepts"} for m in catalogue)
        accepts = {str(m["id"]): parse_accepts(m.get("accepts")) for m in catalogue}
        rules = data.get("request_rules") or {}
        first_role = rules.get("first_message_role", "user")
        request_rules = RequestRules(
            first_message_role=None if first_role is None else str(first_role),
            thinking_budget_tokens_min=int(rules.get("thinking_budget_tokens_min", 1024)),
            thinking_budget_below_max_tokens=bool(rules.get("thinking_budget_below_max_tokens", True)),
            rejected_parameters=tuple(str(p) for p in rules.get("rejected_parameters") or ()),
            rejected_assistant_blocks=tuple(str(b) for b in rules.get("rejected_assistant_blocks") or ()),
            citations_on_user_text=bool(rules.get("citations_on_user_text", True)),
        )
        um = data.get("unknown_model") or {}
        unknown_model = UnknownModel(int(um.get("status", 404)), str(um.get("type", "not_found_error")),
                                     str(um.get("message_template", "model: {model}")))
        retry = data.get("retry") or {}
        statuses = retry.get("statuses")
        retry_policy = RetryPolicy(
            statuses=frozenset(int(s) for s in statuses) if isinstance(statuses, list)
            else frozenset(e.status for e in errors if e.retryable),
            max_retries=int(retry.get("max_retries", 2)),
            initial_delay_s=float(retry.get("initial_delay_s", 0.5)),
            max_delay_s=float(retry.get("max_delay_s", 8.0)),
            honours=tuple(str(h) for h in retry.get("honours", ("retry-after-ms", "retry-after", "x-should-retry"))),
        )
        auth_styles = tuple(str(a) for a in (data.get("request_headers") or {}).get("auth") or ("x-api-key",))
        aliases = {str(k): str(v) for k, v in (data.get("model_aliases") or {}).items()}
        identity_headers = tuple(str(h) for h in data.get("identity_headers") or ())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProfileError(f"malformed profile data ({type(exc).__name__}: {exc})",
                           file=str(profile_path)) from None
    return Profile(
        version=version,
        status=str(entry.get("status", data.get("status", ""))),
        description=str(entry.get("notes", data.get("description", ""))),
        errors=errors,
        rate_limits=rate_limits,
        models=models,
        tiers=tiers,
        schemas=SchemaSet.load(root, version),
        data=data,
        request_rules=request_rules,
        unknown_model=unknown_model,
        retry=retry_policy,
        auth_styles=auth_styles,
        model_aliases=aliases,
        identity_headers=identity_headers,
        model_accepts=accepts,
    )


@functools.lru_cache(maxsize=4)
def load_profiles(root: Path | None = None) -> Profiles:
    """Load the version table and every profile (cached per root)."""
    root = root or schemas_root()
    table_path = root / "versions.json"
    table = _read_json(table_path)
    entries = _need(table, "versions", table_path)
    by_version = {str(e["version"]): _load_profile(root, e, table_path) for e in entries}
    default = str(_need(table, "default", table_path))
    if default not in by_version:
        raise ProfileError(f"default version {default!r} is not in the table", file=str(table_path))
    return Profiles(by_version, default, table)


def get_profile(version: str | None = None) -> Profile:
    profiles = load_profiles()
    return profiles.default if version is None else profiles.get(version)
