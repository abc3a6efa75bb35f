"""A config validated against the JSON schema and the registries, every problem reported at
once with the key, the value and what is allowed; the result has every setup resolved."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml

from ..data.npz_files import NPZ_OPTION, npz_checksum
from ..models import MODELS, import_factory
from ..seeds import VARIANTS
from .coercion import coerce_overrides
from .digests import digest
from .errors import ConfigError
from .models import model_problems
from .setups import resolve_setup
from .variants import variant_problems

def load_schema(path: str | os.PathLike[str]) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)

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
    if error.validator == "oneOf":
        return f"{_one_of_problem(error)}; allowed: {error.schema.get('description', error.validator_value)}"
    if error.validator == "type" and "oneOf" in error.schema and "description" in error.schema:
        return f"{where}: {error.message}; allowed: {error.schema['description']}"
    return f"{where}: {error.message}"

def _one_of_problem(error: jsonschema.ValidationError) -> str:
    """Where and what is wrong with a value that fits none of a ``oneOf``'s forms: for a
    mapping, the form it chose by its keys (exactly one form's required keys) and what that
    form rejects."""
    where = _where(error.absolute_path)
    forms = error.validator_value
    keys = sorted({key for form in forms for key in form.get("required", [])})
    if not isinstance(error.instance, Mapping) or not keys:
        return f"{where}: {error.message}"
    given = [key for key in keys if key in error.instance]
    if len(given) != 1:
        return f"{where}: needs exactly one of the keys {keys}, got {given or 'none'} in {error.instance!r}"
    chosen = next(i for i, form in enumerate(forms) if given[0] in form.get("required", []))
    problems = [_describe(sub) for sub in error.context if sub.schema_path[0] == chosen]
    return "; ".join(problems) or f"{where}: {error.message}"

def validate_config(config: Mapping, schema: Mapping) -> dict:
    """Validate ``config`` against ``schema`` and the registries; return the resolved config.

    Every problem found is reported at once, each naming the key, the value and what is
    allowed. Strings from the command line are first read as YAML where the schema (or a model's
    or dataset's signature) wants no string (:func:`coerce_overrides`); ``config`` itself is not
    changed. The result has every setup resolved (see :func:`resolve_setup`), and every setup's
    model has been built on the meta device with its options (:func:`model_problems`).
    """
    config = coerce_overrides(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_describe(e) for e in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    config = apply_seed_offset(copy.deepcopy(dict(config)))
    problems += _npz_datasets(config)
    resolved = copy.deepcopy(config)
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
    if not problems:  # rows whose variant varies nothing of its setup
        problems += variant_problems(config.get("studies", {}), setups)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return resolved

def apply_seed_offset(config: dict) -> dict:
    """``config`` with its ``seeds.offset`` K (``make replicate``) added to every seed of the
    study: every image and language setup's runs (``seed_offset``, :func:`runvar.seeds.seed_shift`),
    the synthetic settings' seed and the bootstrap's. K = 0 (the default) changes nothing, so the
    default study's setups and their digests stay as they are. Changes ``config`` in place.

    >>> c = apply_seed_offset({"seeds": {"offset": 100}, "setup_defaults": {"epochs": 2},
    ...     "synthetic": {"defaults": {"seed": 1}}, "studies": {"language": {"settings": {"q": None}}}})
    >>> c["setup_defaults"], c["synthetic"]["defaults"]["seed"], c["bootstrap"], c["studies"]["language"]["settings"]
    ({'epochs': 2, 'seed_offset': 100}, 101, {'seed': 100}, {'q': {'seed_offset': 100}})
    """
    offset = int((config.get("seeds") or {}).get("offset", 0))
    if not offset:
        return config
    config.setdefault("setup_defaults", {})["seed_offset"] = offset
    settings = ((config.get("studies") or {}).get("language") or {}).get("settings") or {}
    for name in settings:
        settings[name] = {**(settings[name] or {}), "seed_offset": offset}
    if config.get("synthetic"):
        defaults = config["synthetic"].setdefault("defaults", {})
        defaults["seed"] = int(defaults.get("seed", 1)) + offset
    bootstrap = config.setdefault("bootstrap", {})
    bootstrap["seed"] = int(bootstrap.get("seed", 0)) + offset
    return config

def _npz_datasets(config: dict) -> list[str]:
    """Record the checksum of every ``.npz`` dataset file; a setup's ``dataset: {npz: path}``
    becomes the dataset ``npz_<digest of path>`` (so the rules see a dataset name as usual).
    Returns the files' problems."""
    datasets = config.setdefault("datasets", {})
    where = {key: f"datasets.{key}.npz" for key in datasets}
    for name, setup in config.get("setups", {}).items():
        if isinstance(setup.get("dataset"), dict):
            key = "npz_" + digest(setup["dataset"])[:10]
            datasets[key], where[key] = dict(setup["dataset"]), f"setups.{name}.dataset.npz"
            setup["dataset"] = key
    problems = []
    for key, options in datasets.items():
        if NPZ_OPTION in options:
            try:
                options["checksum"] = npz_checksum(options[NPZ_OPTION])
            except (ValueError, OSError) as err:
                problems.append(f"{where[key]}: {err}")
    return problems

def _check_setup(name: str, setup: Mapping, config: Mapping) -> list[str]:
    problems = []
    if "import" in setup.get("model", {}):
        try:
            import_factory(setup["model"]["import"])
        except ValueError as err:
            return [f"setups.{name}.model.import: {err}"]
        return []
    model = setup.get("model", {}).get("name")
    if model not in MODELS:
        problems.append(f"setups.{name}.model.name: unknown model {model!r}; valid models: {sorted(MODELS)}")
    dataset = setup.get("dataset")
    if dataset not in config.get("datasets", {}):
        problems.append(
            f"setups.{name}.dataset: {dataset!r} is not defined under datasets; "
            f"defined datasets: {sorted(config.get('datasets', {}))}"
        )
    return problems + model_problems(name, setup)
