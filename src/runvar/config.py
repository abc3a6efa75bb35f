"""The study config: JSON-schema validation with clear messages, and resolved setups.

A *setup* in the config states only what differs from ``setup_defaults``; the resolved setup
(defaults deep-merged, dataset options attached) is what a run depends on, so its digest is
what decides whether a run must be redone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml

from .models import MODELS
from .seeds import VARIANTS


class ConfigError(ValueError):
    """A config that does not match the schema or refers to unknown names."""


def load_schema(path: str | os.PathLike[str]) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override`` merged in, recursively for nested mappings."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _where(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed keys: {allowed}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; allowed values: {error.validator_value}"
    return f"{where}: {error.message}"


def validate_config(config: Mapping, schema: Mapping) -> dict:
    """Validate ``config`` against ``schema`` and the registries; return the resolved config.

    Every problem found is reported at once, each naming the key, the value and what is
    allowed. The result has every setup resolved (see :func:`resolve_setup`).
    """
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_describe(e) for e in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    resolved = copy.deepcopy(dict(config))
    setups = {}
    for name, setup in config.get("setups", {}).items():
        setups[name] = resolve_setup(config, name)
        problems += _check_setup(name, setups[name], config)
    resolved["setups"] = setups
    for study, block in config.get("studies", {}).items():
        for key in ("setups", "over_time"):
            for setup_name in block.get(key, []):
                if setup_name not in setups:
                    problems.append(
                        f"studies.{study}.{key}: unknown setup {setup_name!r}; "
                        f"setups in this config: {sorted(setups)}"
                    )
        for variant in block.get("variants", []):
            if variant not in VARIANTS:
                problems.append(
                    f"studies.{study}.variants: unknown variant {variant!r}; "
                    f"valid variants: {list(VARIANTS)}"
                )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return resolved


def _check_setup(name: str, setup: Mapping, config: Mapping) -> list[str]:
    problems = []
    model = setup.get("model", {}).get("name")
    if model not in MODELS:
        problems.append(f"setups.{name}.model.name: unknown model {model!r}; valid models: {sorted(MODELS)}")
    dataset = setup.get("dataset")
    if dataset not in config.get("datasets", {}):
        problems.append(
            f"setups.{name}.dataset: {dataset!r} is not defined under datasets; "
            f"defined datasets: {sorted(config.get('datasets', {}))}"
        )
    return problems


def resolve_setup(config: Mapping, name: str) -> dict:
    """The full setup ``name``: ``setup_defaults`` deep-merged with the setup's own keys, plus
    the options of its dataset under ``dataset_options``."""
    setup = deep_merge(config.get("setup_defaults", {}), config["setups"][name])
    setup["dataset_options"] = copy.deepcopy(config.get("datasets", {}).get(setup.get("dataset"), {}))
    return setup


def digest(obj: Any) -> str:
    """Short stable SHA-256 of a JSON-serialisable object (key order does not matter)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
