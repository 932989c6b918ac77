"""Schema registry and compiled validators for one profile.

Two validators per shape, for two jobs:

* ``jsonschema_rs`` answers "is this valid?" in well under a microsecond; it is
  the hot path (every stream event, every body).
* ``jsonschema`` (pure Python) explains *why* something is invalid, with exact
  paths, once the fast path has said it is. Its errors are copied into
  :class:`Violation` objects (paths included), never re-derived.

Both are built from the same schema documents, so they cannot disagree on data
the suite ships; ``tests/test_schemas.py`` checks that they agree on generated data.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.errors import ProfileError

#: shape name -> file name under ``schemas/<version>/``
SHAPES: Mapping[str, str] = {
    "request": "request.schema.json",
    "count_tokens_request": "count-tokens-request.schema.json",
    "count_tokens_response": "count-tokens-response.schema.json",
    "message": "message.schema.json",
    "error": "error.schema.json",
    "stream_event": "stream-event.schema.json",
    "model": "model.schema.json",
    "models_list": "models-list.schema.json",
    "response_headers": "response-headers.schema.json",
    "request_headers": "request-headers.schema.json",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """One schema error, with paths copied from ``jsonschema``."""

    path: str
    """JSON path into the instance, e.g. ``$.messages[0].role``."""
    message: str
    schema_path: str
    keyword: str
    expected: Any = None
    actual: Any = None

    @property
    def dotted(self) -> str:
        """The path in the API's own error style: ``messages.0.role``."""
        return _dotted(self.path)


def _dotted(json_path: str) -> str:
    out = json_path[1:] if json_path.startswith("$") else json_path
    out = out.replace("[", ".").replace("]", "")
    return out.lstrip(".")


def _violation(err: jsonschema.ValidationError) -> Violation:
    expected: Any = err.validator_value if err.validator in (
        "enum", "const", "type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "minLength", "maxLength", "minItems", "maxItems", "pattern", "required",
    ) else None
    schema_path = "/".join(str(p) for p in err.absolute_schema_path)
    return Violation(err.json_path, err.message, schema_path, str(err.validator), expected,
                     err.instance if not isinstance(err.instance, (dict, list)) else None)


def _leaf_errors(errors: list[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    """Replace ``oneOf``/``anyOf``/``if`` wrappers by their most relevant inner error."""
    out = []
    for err in errors:
        if err.context:
            best = jsonschema.exceptions.best_match(err.context)
            out.extend(_leaf_errors([best]) if best is not None else [err])
        else:
            out.append(err)
    return out


class SchemaSet:
    """The compiled schemas of one profile."""

    def __init__(self, version: str, documents: Mapping[str, Mapping[str, Any]],
                 registry: Registry[Any], directory: Path) -> None:
        self.version = version
        self.documents = documents
        self.directory = directory
        self._registry = registry
        self._fast: dict[str, Any] = {}
        self._slow: dict[str, Any] = {}

    @classmethod
    def load(cls, root: Path, version: str) -> SchemaSet:
        directory = root / version
        documents: dict[str, Mapping[str, Any]] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for path in sorted(list(directory.glob("*.schema.json")) + list((root / "shared").glob("*.schema.json"))):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ProfileError(f"cannot read schema: {exc}", file=str(path)) from None
            uri = doc.get("$id") or path.resolve().as_uri()
            resources.append((uri, Resource.from_contents(doc, default_specification=DRAFT202012)))
            if path.parent == directory:
                documents[path.name] = doc
        registry: Registry[Any] = Registry().with_resources(resources)
        by_shape = {shape: documents[f] for shape, f in SHAPES.items() if f in documents}
        return cls(version, by_shape, registry, directory)

    def has(self, shape: str) -> bool:
        return shape in self.documents

    def schema(self, shape: str) -> Mapping[str, Any]:
        try:
            return self.documents[shape]
        except KeyError:
            raise ProfileError(f"profile {self.version} has no {shape!r} schema",
                               file=str(self.directory / SHAPES.get(shape, shape))) from None

    def _fast_validator(self, shape: str) -> Any:
        v = self._fast.get(shape)
        if v is None:
            resources = [(uri, res.contents) for uri, res in self._registry.items()]
            rs_registry = jsonschema_rs.Registry(resources)
            v = jsonschema_rs.validator_for(dict(self.schema(shape)), registry=rs_registry)
            self._fast[shape] = v
        return v

    def _slow_validator(self, shape: str) -> Any:
        v = self._slow.get(shape)
        if v is None:
            cls = jsonschema.validators.validator_for(self.schema(shape), default=jsonschema.Draft202012Validator)
            v = cls(self.schema(shape), registry=self._registry,
                    format_checker=cls.FORMAT_CHECKER)
            self._slow[shape] = v
        return v

    def is_valid(self, shape: str, instance: Any) -> bool:
        return bool(self._fast_validator(shape).is_valid(instance))

    def violations(self, shape: str, instance: Any) -> list[Violation]:
        """Every violation of ``shape`` by ``instance``; ``[]`` (fast) when valid."""
        if self.is_valid(shape, instance):
            return []
        errors = sorted(self._slow_validator(shape).iter_errors(instance), key=lambda e: e.json_path)
        found = [_violation(e) for e in _leaf_errors(errors)]
        if not found:
            # The fast path rejected what the detailed one accepts: a schema or
            # library disagreement. Report it rather than hide it.
            found = [Violation("$", f"rejected by jsonschema-rs but accepted by jsonschema ({shape})",
                               "", "disagreement")]
        return found
