"""Meta-validation of the schema tree (``nox -s schemas``).

:func:`check_schema_tree` returns one line per problem, each naming the file and
a JSON pointer into it, and ``[]`` when the tree is sound:

* ``versions.json`` has a default and lists exactly the version directories, in
  date order, each with status, source, notes and differences;
* every ``*.schema.json`` is a valid JSON Schema 2020-12 document with a ``$id``;
  every ``$ref`` resolves through the registry (``referencing``) and the document
  compiles in jsonschema-rs with the same registry (the fast path);
* every version directory has a schema file for every shape in
  :data:`conformance.schemas.SHAPES` and a ``profile.json`` with what
  :mod:`conformance.profiles` reads (errors, rate-limit headers, tiers, models,
  the models valid against the profile's own model schema);
* conventions the code relies on: no ``format`` (the two validators treat it
  differently), ``if`` conditions use only discriminating keywords (what
  :meth:`SchemaSet.unknown_values` evaluates), and response schemas never close
  objects with ``additionalProperties: false`` (responses are forward-compatible);
* ``drift-allow.json``, when present, is a well-formed allow list (every entry with a reason);
* ``sdk/*.schema.json`` (the SDK driver protocol) and ``reports/*.schema.json`` (the report files read back)
  are valid 2020-12 documents whose refs resolve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from conformance.profiles import parse_accepts
from conformance.schemas import SHAPES

#: shapes that describe what a server sends: they must stay open to new fields
RESPONSE_SHAPES = ("message", "error", "stream_event", "model", "models_list", "count_tokens_response",
                   "response_headers")
#: keywords an ``if`` may use: the ones ``SchemaSet.unknown_values`` evaluates
_IF_KEYWORDS = frozenset({"properties", "required", "const", "enum", "type", "not", "allOf", "anyOf", "oneOf",
                          "$ref", "description"})
_VERSION_KEYS = ("version", "status", "source", "notes", "differences")
NOT_VERSIONS = frozenset({"shared", "sdk", "reports"})
"""Directories of the schema tree that are not API versions: ``shared`` (referenced by every version), ``sdk``
(the SDK driver protocol) and ``reports`` (the report files), these two checked by :func:`_check_standalone`."""
_SOURCES = ("real-api", "reference-document")


def _pointer(parts: Iterator[str | int] | list[str | int] | tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}#: cannot read: {exc}")
    except json.JSONDecodeError as exc:
        problems.append(f"{path}#: not valid JSON at {exc.lineno}:{exc.colno}: {exc.msg}")
    return None


def _nodes(node: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every sub-value of a document with its path (schema keywords and data alike)."""
    yield parts, node
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _nodes(v, (*parts, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _nodes(v, (*parts, i))


_NAME_MAPS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "x-known-values"})


def _is_schema_position(parts: tuple[str | int, ...]) -> bool:
    # A "properties" map's keys are names (a property *named* "format" is not the
    # keyword), and whatever sits under "const"/"enum"/... is data, not schema.
    if parts and parts[-1] in _NAME_MAPS:
        return False
    return not any(p in _DATA_KEYWORDS for p in parts)


def _check_versions(root: Path, problems: list[str]) -> list[str]:
    path = root / "versions.json"
    table = _read(path, problems)
    if not isinstance(table, Mapping):
        if table is not None:
            problems.append(f"{path}#: must be an object with 'default' and 'versions'")
        return []
    entries = table.get("versions")
    if not isinstance(entries, list):
        problems.append(f"{path}#/versions: must be a list of version entries")
        return []
    versions: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            problems.append(f"{path}#/versions/{i}: must be an object")
            continue
        for key in _VERSION_KEYS:
            if key not in entry:
                problems.append(f"{path}#/versions/{i}: missing {key!r}")
        if entry.get("source") not in _SOURCES:
            problems.append(f"{path}#/versions/{i}/source: must be one of {', '.join(_SOURCES)}")
        if not isinstance(entry.get("differences", []), list):
            problems.append(f"{path}#/versions/{i}/differences: must be a list of strings")
        versions.append(str(entry.get("version")))
    if versions != sorted(versions):
        problems.append(f"{path}#/versions: not in date order ({', '.join(versions)})")
    if table.get("default") not in versions:
        problems.append(f"{path}#/default: {table.get('default')!r} is not a listed version")
    dirs = sorted(p.name for p in root.iterdir()
                  if p.is_dir() and p.name not in NOT_VERSIONS and not p.name.startswith("."))
    for missing in sorted(set(dirs) - set(versions)):
        problems.append(f"{path}#/versions: directory {missing!r} is not listed")
    for missing in sorted(set(versions) - set(dirs)):
        problems.append(f"{path}#/versions: {missing!r} has no directory {root / missing}")
    return [v for v in versions if v in dirs]


def _check_document(path: Path, doc: Any, shape: str | None, problems: list[str]) -> None:
    if not isinstance(doc, Mapping):
        problems.append(f"{path}#: a schema document must be an object")
        return
    for err in jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA).iter_errors(doc):
        problems.append(f"{path}#{_pointer(list(err.absolute_path))}: not a valid 2020-12 schema: {err.message}")
    if not isinstance(doc.get("$id"), str):
        problems.append(f"{path}#/$id: missing (every schema needs a $id to be found by $ref)")
    if doc.get("$schema") not in (None, "https://json-schema.org/draft/2020-12/schema"):
        problems.append(f"{path}#/$schema: must be the 2020-12 meta-schema")
    for parts, node in _nodes(doc):
        if not isinstance(node, Mapping) or not _is_schema_position(parts):
            continue
        where = f"{path}#{_pointer(parts)}"
        if "format" in node and isinstance(node["format"], str):
            problems.append(f"{where}/format: use a pattern; jsonschema and jsonschema-rs disagree on format")
        cond = node.get("if")
        if isinstance(cond, Mapping):
            for sub_parts, sub in _nodes(cond):
                if isinstance(sub, Mapping) and _is_schema_position(sub_parts):
                    extra = sorted(set(sub) - _IF_KEYWORDS)
                    if extra:
                        problems.append(f"{where}/if{_pointer(sub_parts)}: keywords {extra} are not "
                                        f"discriminating; unknown_values() cannot evaluate them")
        if shape in RESPONSE_SHAPES and node.get("additionalProperties") is False:
            problems.append(f"{where}/additionalProperties: false in a response schema; responses are "
                            f"forward-compatible")


def _check_refs(path: Path, doc: Mapping[str, Any], registry: Registry[Any], problems: list[str]) -> None:
    resolver = registry.resolver(base_uri=str(doc.get("$id", path.resolve().as_uri())))
    for parts, node in _nodes(doc):
        if isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and _is_schema_position(parts):
            try:
                resolver.lookup(node["$ref"])
            except Unresolvable as exc:
                problems.append(f"{path}#{_pointer(parts)}/$ref: {node['$ref']!r} does not resolve ({exc})")


def _check_profile(path: Path, data: Any, model_validator: Any, problems: list[str]) -> None:
    if not isinstance(data, Mapping):
        if data is not None:
            problems.append(f"{path}#: must be an object")
        return
    for key in ("errors", "rate_limit_headers", "tiers", "models"):
        if key not in data:
            problems.append(f"{path}#/{key}: missing (profiles.py needs it)")
    for i, e in enumerate(data.get("errors", [])):
        if not (isinstance(e, Mapping) and isinstance(e.get("status"), int) and isinstance(e.get("type"), str)):
            problems.append(f"{path}#/errors/{i}: needs an integer 'status' and a string 'type'")
    rl = data.get("rate_limit_headers", {})
    if not isinstance(rl, Mapping) or not isinstance(rl.get("family"), str):
        problems.append(f"{path}#/rate_limit_headers/family: missing")
    resources = rl.get("resources") if isinstance(rl, Mapping) else None
    if not isinstance(resources, Mapping) or not resources:
        problems.append(f"{path}#/rate_limit_headers/resources: must map resource names to header names")
    else:
        for name, r in resources.items():
            if not (isinstance(r, Mapping) and isinstance(r.get("limit"), str) and isinstance(r.get("remaining"), str)):
                problems.append(f"{path}#/rate_limit_headers/resources/{name}: needs 'limit' and 'remaining'")
    tiers = data.get("tiers", {})
    for name, t in (tiers.items() if isinstance(tiers, Mapping) else []):
        for key in ("requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute"):
            if not (isinstance(t, Mapping) and isinstance(t.get(key), int)):
                problems.append(f"{path}#/tiers/{name}/{key}: must be an integer")
    for i, model in enumerate(data.get("models", [])):
        served = {k: v for k, v in model.items() if k != "accepts"} if isinstance(model, Mapping) else model
        if model_validator is not None and not model_validator.is_valid(served):
            problems.append(f"{path}#/models/{i}: not valid against the profile's model schema")
        try:
            parse_accepts(model.get("accepts") if isinstance(model, Mapping) else None)
        except (TypeError, ValueError) as exc:
            problems.append(f"{path}#/models/{i}/accepts: {exc}")


def check_schema_tree(root: Path) -> list[str]:
    """Every problem in the schema tree at ``root``, each naming its file and JSON pointer."""
    problems: list[str] = []
    if not (root / "versions.json").is_file():
        return [f"{root / 'versions.json'}#: missing"]
    versions = _check_versions(root, problems)
    shared = sorted((root / "shared").glob("*.schema.json"))
    for version in versions:
        directory = root / version
        docs: dict[Path, Any] = {}
        for path in sorted(directory.glob("*.schema.json")) + shared:
            docs[path] = _read(path, problems)
        by_file = {f: s for s, f in SHAPES.items()}
        for path, doc in docs.items():
            _check_document(path, doc, by_file.get(path.name) if path.parent == directory else None, problems)
        for shape, name in SHAPES.items():
            if not (directory / name).is_file():
                problems.append(f"{directory / name}#: missing (shape {shape!r})")
        good = {p: d for p, d in docs.items() if isinstance(d, Mapping)}
        registry: Registry[Any] = Registry().with_resources(
            (str(d.get("$id") or p.resolve().as_uri()), Resource.from_contents(d, default_specification=DRAFT202012))
            for p, d in good.items())
        for path, doc in good.items():
            _check_refs(path, doc, registry, problems)
        compiled: dict[str, Any] = {}
        try:
            rs_registry = jsonschema_rs.Registry([(str(d.get("$id") or p.resolve().as_uri()), dict(d))
                                                 for p, d in good.items()])
        except ValueError as exc:
            problems.append(f"{directory}#: jsonschema-rs cannot build the registry: {exc}")
        else:
            for path, doc in good.items():
                try:
                    compiled[path.name] = jsonschema_rs.validator_for(dict(doc), registry=rs_registry)
                except Exception as exc:  # jsonschema-rs raises several types; each means "will not compile"
                    problems.append(f"{path}#: jsonschema-rs cannot compile it: {exc}")
        profile_path = directory / "profile.json"
        if not profile_path.is_file():
            problems.append(f"{profile_path}#: missing")
        else:
            _check_profile(profile_path, _read(profile_path, problems), compiled.get(SHAPES["model"]), problems)
    _check_drift_allow(root, problems)
    for standalone in ("sdk", "reports"):
        _check_standalone(root / standalone, problems)
    return problems


def _check_standalone(directory: Path, problems: list[str]) -> None:
    """Schemas outside the profiles (``sdk/``: the driver protocol; ``reports/``: the report files read back):
    valid 2020-12 documents with a ``$id``, their refs resolving."""
    paths = sorted(directory.glob("*.schema.json"))
    docs = {p: d for p in paths if isinstance(d := _read(p, problems), Mapping)}
    for path, doc in docs.items():
        _check_document(path, doc, None, problems)
    registry: Registry[Any] = Registry().with_resources(
        (str(d.get("$id") or p.resolve().as_uri()), Resource.from_contents(d, default_specification=DRAFT202012))
        for p, d in docs.items())
    for path, doc in docs.items():
        _check_refs(path, doc, registry, problems)


def _check_drift_allow(root: Path, problems: list[str]) -> None:
    from conformance.drift.allow import ALLOW_FILE, load_allow_list
    from conformance.errors import InputError

    try:
        load_allow_list(root / ALLOW_FILE)
    except InputError as exc:
        problems.append(str(exc))


def main() -> int:
    """``python -m conformance.schemacheck [ROOT]``: print problems, exit 1 if any."""
    import sys

    from conformance.profiles import schemas_root

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else schemas_root()
    problems = check_schema_tree(root)
    for line in problems:
        print(line)
    print(f"{root}: {len(problems)} problem(s)" if problems else f"{root}: schema tree OK")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
