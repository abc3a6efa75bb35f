"""Values given on the command line (``snakemake --config "studies={sources: {runs: 12}}"``)
arrive as strings; :func:`coerce_overrides` reads them as YAML where a string is not wanted."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import yaml

from ..data import DATASETS
from ..models import MODELS

_NOT_READ = object()


def _json_type(value: Any) -> str | None:
    """The JSON-schema type of a value read from YAML (None for one JSON has no type for)."""
    for python, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                         ((list, tuple), "array"), (dict, "object"), (type(None), "null")):
        if isinstance(value, python):
            return name
    return None

def _resolve(schema: Any, root: Mapping) -> dict:
    """``schema`` with its ``$ref`` (to ``#/...`` of ``root``) followed; {} for no schema."""
    if not isinstance(schema, Mapping):
        return {}
    seen = 0
    while "$ref" in schema and seen < 32:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        target: Any = root
        for part in filter(None, ref[1:].split("/")):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, Mapping) else {}
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return dict(schema)

def _schema_types(schema: Mapping, root: Mapping) -> set[str] | None:
    """The JSON types a (resolved) schema allows; None when it does not restrict them."""
    if "type" in schema:
        kinds = schema["type"]
        return {kinds} if isinstance(kinds, str) else set(kinds)
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return {t for t in map(_json_type, values) if t}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            types: set[str] = set()
            for alternative in schema[key]:
                more = _schema_types(_resolve(alternative, root), root)
                if more is None:
                    return None
                types |= more
            return types
    return None

def _read_yaml(text: str, types: set[str]) -> Any:
    """``text`` read as YAML if that gives a value of one of ``types``, else ``_NOT_READ``."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return _NOT_READ
    if isinstance(value, str) and "number" in types:
        try:  # YAML 1.1 wants a dot in floats: 1e-3 is a string there, a number here
            value = float(text)
        except ValueError:
            return _NOT_READ
    kind = _json_type(value)
    if kind in types or (kind == "integer" and "number" in types):
        return value
    return _NOT_READ

def _coerce(value: Any, schema: Any, root: Mapping) -> Any:
    schema = _resolve(schema, root)
    if isinstance(value, str):
        types = _schema_types(schema, root)
        if types is None or "string" in types:
            return value  # strings are wanted here: a setup name, a path, ...
        read = _read_yaml(value, types)
        if read is _NOT_READ:
            return value  # left for the schema to reject with its usual message
        value = read
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in value:
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                value[key] = _coerce(value[key], sub, root)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        value = [_coerce(item, schema["items"], root) for item in value]
    return value

def _coerce_by_signature(options: MutableMapping, factory: Callable[..., Any]) -> None:
    """Read string ``options`` as YAML where ``factory``'s default says a non-string is wanted."""
    params = inspect.signature(factory).parameters
    for key, value in options.items():
        param = params.get(key)
        if param is None or param.default is param.empty:
            continue
        options[key] = _coerce_like(value, param.default)

def _coerce_like(value: Any, default: Any) -> Any:
    """``value`` (strings in it read as YAML) where ``default`` shows a non-string is wanted;
    a list like a non-empty list default (``hidden=(512,)``) item by item."""
    kind = _json_type(default)
    if isinstance(value, list) and kind == "array" and len(default):
        return [_coerce_like(item, default[0]) for item in value]
    if not isinstance(value, str) or kind in (None, "null", "string"):
        return value
    read = _read_yaml(value, {kind})
    return value if read is _NOT_READ else read

def coerce_overrides(config: Mapping, schema: Mapping) -> dict:
    """A copy of ``config`` with command-line strings read as YAML where no string is wanted.

    ``snakemake --config "studies={sources: {runs: 12}}"`` gives ``{"studies": {"sources":
    {"runs": "12"}}}`` (snakemake reads the value with YAML's BaseLoader: every scalar a
    string), merged into the config file's values. A string is read with ``yaml.safe_load``
    only where the schema does not allow a string there and the value read has a type the
    schema allows (so ``"12"`` becomes 12 for ``runs`` but a setup called ``"12"`` stays a
    string, and ``"twelve"`` is left for the schema to reject); a mapping given as one string
    (``"{runs: 12}"``) is read where the schema wants an object. Where the schema leaves
    values open, a model's options and a dataset's options are read the same way when their
    factory's default is a number, boolean or list (``download: false`` must not stay the
    string ``"false"``, which is true).

    >>> schema = {"type": "object", "properties": {
    ...     "train": {"type": "object", "properties": {"seeds_per_job": {"type": "integer"}}},
    ...     "label": {"type": "string"}}}
    >>> coerce_overrides({"train": {"seeds_per_job": "5"}, "label": "12"}, schema)
    {'train': {'seeds_per_job': 5}, 'label': '12'}
    >>> coerce_overrides({"train": "{seeds_per_job: 5}"}, schema)
    {'train': {'seeds_per_job': 5}}
    """
    coerced = _coerce(copy.deepcopy(dict(config)), schema, schema)
    blocks = [coerced.get("setup_defaults")]
    if isinstance(coerced.get("setups"), dict):
        blocks += list(coerced["setups"].values())
    for block in blocks:
        model = block.get("model") if isinstance(block, dict) else None
        if isinstance(model, dict) and isinstance(model.get("name"), str) and model["name"] in MODELS:
            _coerce_by_signature(model, MODELS[model["name"]])
    if isinstance(coerced.get("datasets"), dict):
        for dataset, options in coerced["datasets"].items():
            if dataset in DATASETS and isinstance(options, dict):
                _coerce_by_signature(options, DATASETS[dataset])
    return coerced
