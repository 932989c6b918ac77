"""Read an installed official SDK's types as JSON Schema, one per profile shape.

* Python ``anthropic``: its pydantic models (responses) and TypedDicts (request params), through
  ``pydantic.TypeAdapter(...).json_schema()``. Which params travel as headers is read from the
  resource method's source (``"anthropic-workspace-id": workspace_id``), never guessed from names.
* TypeScript ``@anthropic-ai/sdk``: its published ``.d.ts`` declarations, read by
  ``dts_schema.mjs`` (Node, no dependencies); params documented ``Header param:`` or
  ``Query param:`` are marked as such.

Either raises :class:`SdkMissing` (one line, exit 2) when the SDK or Node is not there.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.errors import InputError


class SdkMissing(InputError):
    """The SDK to compare with (or what reads it) is not installed."""


@dataclasses.dataclass
class SdkTypes:
    """An SDK's types for each shape it has, as self-contained JSON Schema documents."""

    sdk: str
    """``python`` or ``typescript``."""
    version: str
    sends_version: str | None
    """The ``anthropic-version`` it sends by default."""
    schemas: dict[str, dict[str, Any]]
    sources: dict[str, str]
    """shape -> where the type is declared inside the package."""
    missing: dict[str, str]
    """shape -> why this SDK version has no type for it."""
    model_ids: set[str] = dataclasses.field(default_factory=set)
    """The model ids its ``Model`` type names."""


# -- Python -------------------------------------------------------------------------------------------------

#: shape -> (module, attribute) of the Python SDK's type
PYTHON_TYPES: Mapping[str, tuple[str, str]] = {
    "request": ("anthropic.types.message_create_params", "MessageCreateParams"),
    "count_tokens_request": ("anthropic.types.message_count_tokens_params", "MessageCountTokensParams"),
    "message": ("anthropic.types.message", "Message"),
    "stream_event": ("anthropic.types.raw_message_stream_event", "RawMessageStreamEvent"),
    "error": ("anthropic.types.shared.error_response", "ErrorResponse"),
    "model": ("anthropic.types.model_info", "ModelInfo"),
    "models_list": ("anthropic.pagination", "SyncPage"),
    "models_list_query": ("anthropic.types.model_list_params", "ModelListParams"),
    "count_tokens_response": ("anthropic.types.message_tokens_count", "MessageTokensCount"),
}
#: request shape -> the resource method whose source says which params are headers
_PYTHON_METHODS: Mapping[str, tuple[str, str]] = {
    "request": ("Messages", "create"),
    "count_tokens_request": ("Messages", "count_tokens"),
    "models_list_query": ("Models", "list"),
}


def python_types() -> SdkTypes:
    try:
        import anthropic
        from pydantic import TypeAdapter
    except ImportError:
        raise SdkMissing("the Python SDK is not installed in this environment",
                         fix="pip install anthropic, or use --sdk typescript") from None
    schemas: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}
    package_root = Path(anthropic.__file__).parent.parent
    for shape, (module_name, attr) in PYTHON_TYPES.items():
        try:
            tp = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            missing[shape] = f"no {module_name}.{attr} in this version"
            continue
        if shape == "models_list":
            try:
                tp = tp[getattr(importlib.import_module(PYTHON_TYPES["model"][0]), PYTHON_TYPES["model"][1])]
            except (ImportError, AttributeError):
                missing[shape] = "no ModelInfo in this version"
                continue
        try:
            schema = TypeAdapter(tp).json_schema(mode="validation")
        except Exception as exc:  # pydantic raises several types; each means "cannot describe this type"
            missing[shape] = f"pydantic cannot describe {attr}: {type(exc).__name__}: {str(exc)[:120]}"
            continue
        if shape in _PYTHON_METHODS:
            _mark_locations(schema, _python_headers(anthropic, shape, schema))
        schemas[shape] = schema
        module = importlib.import_module(module_name)
        where = Path(inspect.getsourcefile(module) or module_name)
        sources[shape] = f"{where.relative_to(package_root) if where.is_absolute() else where}:{attr}"
    return SdkTypes("python", str(anthropic.__version__), _python_sends(anthropic), schemas, sources, missing,
                    _python_models())


def _python_sends(anthropic: Any) -> str | None:
    constant = getattr(importlib.import_module("anthropic._constants"), "ANTHROPIC_API_VERSION", None)
    if isinstance(constant, str):
        return constant
    found = re.search(r'"anthropic-version":\s*"([^"]+)"', inspect.getsource(importlib.import_module(
        "anthropic._client")))
    return found.group(1) if found else None


def _python_headers(anthropic: Any, shape: str, schema: Mapping[str, Any]) -> dict[str, str]:
    """Params of the TypedDict that the resource method sends as headers: ``{param: "header"}``."""
    cls_name, method = _PYTHON_METHODS[shape]
    cls = getattr(importlib.import_module("anthropic.resources"), cls_name, None)
    func = getattr(cls, method, None)
    if func is None:
        return {}
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return {}
    headers = re.findall(r'"(?:anthropic|x)-[a-z0-9-]+":\s*([^\n]+)', source)
    names: set[str] = set()
    for obj in _top_objects(schema):
        names |= set(obj.get("properties", {}))
    return {n: "header" for n in names if any(re.search(rf"\b{re.escape(n)}\b", h) for h in headers)}


def _top_objects(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a document's root stands for (through ``$ref`` and unions), not their fields."""
    defs = schema.get("$defs", {})
    out: list[dict[str, Any]] = []
    todo: list[Any] = [schema]
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            todo.append(defs.get(ref[len("#/$defs/"):]))
        for key in ("anyOf", "oneOf", "allOf"):
            todo.extend(node.get(key) or ())
        if "properties" in node:
            out.append(node)
    return out


def _mark_locations(schema: dict[str, Any], locations: dict[str, str]) -> None:
    if locations:
        for obj in _top_objects(schema):
            obj["x-param-location"] = {k: v for k, v in locations.items() if k in obj.get("properties", {})}


def _python_models() -> set[str]:
    try:
        model = importlib.import_module("anthropic.types.model").Model
    except (ImportError, AttributeError):
        return set()
    return set(_literals(model))


def _literals(tp: Any) -> list[str]:
    out: list[str] = []
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            out.append(arg)
        else:
            out.extend(_literals(arg))
    return out


# -- TypeScript ---------------------------------------------------------------------------------------------

#: shape -> (declaration file inside the package, type expression); the first file that exists wins
TYPESCRIPT_TYPES: Mapping[str, tuple[tuple[str, ...], str]] = {
    "request": (("resources/messages/messages.d.ts", "resources/messages.d.ts"), "MessageCreateParams"),
    "count_tokens_request": (("resources/messages/messages.d.ts", "resources/messages.d.ts"),
                             "MessageCountTokensParams"),
    "message": (("resources/messages/messages.d.ts", "resources/messages.d.ts"), "Message"),
    "stream_event": (("resources/messages/messages.d.ts", "resources/messages.d.ts"), "RawMessageStreamEvent"),
    "error": (("resources/shared.d.ts",), "ErrorResponse"),
    "model": (("resources/models.d.ts",), "ModelInfo"),
    "models_list": (("resources/models.d.ts",), "Page<ModelInfo>"),
    "models_list_query": (("resources/models.d.ts",), "ModelListParams"),
    "count_tokens_response": (("resources/messages/messages.d.ts", "resources/messages.d.ts"), "MessageTokensCount"),
}
_SCRIPT = Path(__file__).with_name("dts_schema.mjs")
PACKAGE = "@anthropic-ai/sdk"


def find_typescript_sdk(sdk_path: str | None = None) -> Path:
    """The directory of the installed ``@anthropic-ai/sdk`` (its ``package.json``)."""
    given = sdk_path or os.environ.get("CONFORMANCE_TS_SDK")
    candidates: list[Path] = []
    if given:
        p = Path(given)
        candidates += [p, p / "node_modules" / PACKAGE]
    else:
        for base in (Path.cwd(), *Path.cwd().parents):
            candidates.append(base / "node_modules" / PACKAGE)
    for c in candidates:
        if (c / "package.json").is_file() and (c / "resources").is_dir():
            return c
    where = given or "node_modules of this directory or its parents"
    raise SdkMissing(f"the TypeScript SDK {PACKAGE} is not installed in {where}",
                     fix=f"npm install {PACKAGE}, then --sdk-path DIR or CONFORMANCE_TS_SDK=DIR")


def typescript_types(sdk_path: str | None = None) -> SdkTypes:
    package = find_typescript_sdk(sdk_path)
    node = shutil.which("node")
    if node is None:
        raise SdkMissing("node is not on PATH; reading the TypeScript SDK's declarations needs Node >= 18")
    roots: dict[str, list[str]] = {}
    missing: dict[str, str] = {}
    for shape, (files, expr) in {**TYPESCRIPT_TYPES, "model_ids": (TYPESCRIPT_TYPES["message"][0], "Model")}.items():
        found = next((f for f in files if (package / f).is_file()), None)
        if found is None:
            missing[shape] = f"none of {', '.join(files)} in this version"
        else:
            roots[shape] = [found, expr]
    done = subprocess.run([node, str(_SCRIPT)], input=json.dumps({"package": str(package), "roots": roots}),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"cannot read the declarations of {package}: {last}", file=str(_SCRIPT))
    data = json.loads(done.stdout)
    schemas: dict[str, dict[str, Any]] = dict(data["schemas"])
    missing.update(data["missing"])
    model_ids = _ts_literals(schemas.pop("model_ids", {}))
    missing.pop("model_ids", None)
    sources = {shape: f"{roots[shape][0]}:{roots[shape][1]}" for shape in schemas}
    return SdkTypes("typescript", str(data["version"]), _typescript_sends(package), schemas, sources, missing,
                    model_ids)


def _ts_literals(schema: Mapping[str, Any]) -> set[str]:
    defs = schema.get("$defs", {})
    out: set[str] = set()
    todo: list[Any] = [schema]
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("const"), str):
            out.add(node["const"])
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            todo.append(defs.get(ref[len("#/$defs/"):]))
        todo.extend(node.get("anyOf") or ())
    return out


def _typescript_sends(package: Path) -> str | None:
    client = package / "client.js"
    text = client.read_text(encoding="utf-8") if client.is_file() else ""
    found = re.search(r"'anthropic-version':\s*'([^']+)'", text)
    return found.group(1) if found else None


def load_sdk(sdk: str, sdk_path: str | None = None) -> SdkTypes:
    """The installed SDK's types (``python`` or ``typescript``)."""
    if sdk == "python":
        return python_types()
    return typescript_types(sdk_path)
