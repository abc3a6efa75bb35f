"""The study config: JSON-schema validation with clear messages, and resolved setups.

A *setup* in the config states only what differs from ``setup_defaults``; the resolved setup
(defaults deep-merged, dataset options attached) is what a run depends on, so its digest is
what decides whether a run must be redone.

Values given on the command line (``snakemake --config "studies={sources: {runs: 12}}"``)
arrive as strings; :func:`coerce_overrides` reads them as YAML where a string is not wanted.
Every setup's model is built once on the meta device, so a misspelt or mistyped model option
stops the workflow before any job runs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import json
import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import jsonschema
import torch
import yaml
from torch.overrides import TorchFunctionMode

from ..data import DATASETS
from ..data.npz_files import NPZ_OPTION, npz_checksum
from ..models import MODELS, build_model, import_factory
from ..seeds import VARIANTS, variant_problems

#: Input shape (channels, *spatial) and class count of each registered dataset's prepared
#: arrays; no dataset option changes them, so models can be checked without preparing data.
DATASET_SHAPES: dict[str, tuple[tuple[int, ...], int]] = {
    "mnist1d": ((1, 40), 10),
    "cifar10": ((3, 32, 32), 10),
    "cifar100": ((3, 32, 32), 100),
    "mnist": ((1, 28, 28), 10),
}

#: The factory arguments that come from the dataset, not from the setup's ``model`` block.
_DATA_ARGUMENTS = ("input_shape", "num_classes")


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
    config = copy.deepcopy(dict(config))
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


def dataset_shape(dataset: str | None) -> tuple[tuple[int, ...], int] | None:
    """``(input_shape, num_classes)`` of a registered dataset without preparing it; None when
    the dataset is not one whose shape is known.

    >>> dataset_shape("cifar100"), dataset_shape("nosuch")
    (((3, 32, 32), 100), None)
    """
    return DATASET_SHAPES.get(dataset) if isinstance(dataset, str) else None


def model_options(model: str) -> list[str] | None:
    """The options a registered model accepts in a ``model`` block (its factory's keyword
    parameters other than the input shape and class count); None if it takes any."""
    params = inspect.signature(MODELS[model]).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return sorted(p.name for p in params if p.kind in named and p.name not in _DATA_ARGUMENTS)


def model_problems(name: str, setup: Mapping) -> list[str]:
    """Problems of the resolved setup ``name``'s model block: unknown options, or options its
    factory rejects when the model is built (on the meta device: no memory, no data) for the
    setup's dataset. A model or dataset that is not registered is reported elsewhere."""
    options = dict(setup.get("model") or {})
    model = options.pop("name", None)
    if not isinstance(model, str) or model not in MODELS:
        return []
    where = f"setups.{name}.model"
    accepted = model_options(model)
    if accepted is not None:
        unknown = [option for option in options if option not in accepted]
        if unknown:
            return [
                f"{where}: unknown option {option!r} for model {model!r}; "
                f"accepted options: {', '.join(accepted) or '(none)'}"
                for option in unknown
            ]
    shape = dataset_shape(setup.get("dataset"))
    if shape is None:
        return []
    error = _model_error(model, shape, options)
    if error is None:
        return []
    built_for = f"for dataset {setup.get('dataset')} (input {shape[0]}, {shape[1]} classes)"
    blamed = {}
    if len(options) > 1 and _model_error(model, shape, {}) is None:
        # the model builds with its defaults: blame the options it rejects on their own
        alone = {option: _model_error(model, shape, {option: v}) for option, v in options.items()}
        blamed = {option: why for option, why in alone.items() if why is not None}
    if blamed:
        return [
            f"{where}: model {model!r} rejects option {option}={options[option]!r} {built_for}: {why}"
            for option, why in blamed.items()
        ]
    return [f"{where}: model {model!r} with options {options} cannot be built {built_for}: {error}"]


def _model_error(
    model: str, shape: tuple[tuple[int, ...], int], options: Mapping[str, Any]
) -> str | None:
    """Why ``model`` cannot be built with ``options`` for data of ``shape`` (None if it can)."""
    try:
        key = json.dumps(options, sort_keys=True)
    except (TypeError, ValueError):  # not JSON: build it without the cache
        return _build_error(model, *shape, options)
    return _cached_build_error(model, *shape, key)


class _SkipMetaInit(TorchFunctionMode):
    """Skip random initialisation of meta tensors: they hold no values anyway, and the meta
    kernels of ``normal_`` & co. import torch._dynamo and sympy (about 3 s) on first use."""

    RANDOM = frozenset(
        {"normal_", "uniform_", "bernoulli_", "random_", "exponential_", "log_normal_",
         "cauchy_", "geometric_"}
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if (
            getattr(func, "__name__", None) in self.RANDOM
            and args
            and isinstance(args[0], torch.Tensor)
            and args[0].is_meta
        ):
            return args[0]
        return func(*args, **(kwargs or {}))


def meta_model(
    model: str, input_shape: tuple[int, ...], num_classes: int, options: Mapping[str, Any]
) -> torch.nn.Module:
    """``model`` with ``options`` built on meta tensors: its layers, no memory, no random draws."""
    with torch.device("meta"), _SkipMetaInit():
        return build_model(model, input_shape, num_classes, 0, **options)


def _build_error(
    model: str, input_shape: tuple[int, ...], num_classes: int, options: Mapping[str, Any]
) -> str | None:
    """Why ``model`` cannot be built with ``options`` (None if it can), built on meta tensors."""
    try:
        meta_model(model, input_shape, num_classes, options)
    except (TypeError, ValueError, RuntimeError) as err:
        return str(err)
    return None


@functools.lru_cache(maxsize=256)
def _cached_build_error(
    model: str, input_shape: tuple[int, ...], num_classes: int, options_json: str
) -> str | None:
    return _build_error(model, input_shape, num_classes, json.loads(options_json))


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


def derive_setup(
    setups: MutableMapping[str, dict],
    base: str,
    *,
    lr: float | None = None,
    epochs: int | None = None,
    cycles: int | None = None,
    onset_epoch: int | None = None,
) -> str:
    """Add the setup ``base`` with the given overrides to ``setups`` (if new); return its name.

    A *derived setup* is a configured setup with a few keys overridden: the peak learning
    rate, the epochs, the number of schedule cycles or the onset epoch. Its name is canonical,
    ``{base}`` followed by ``.lr{lr}``, ``.epochs{E}``, ``.cycles{N}``, ``.onset{E}`` for exactly
    the values that differ from the base, so a derived setup equal to the base *is* the base
    and one reached from two studies is one setup: nothing is trained twice.

    >>> setups = {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}}
    >>> derive_setup(setups, "cnn", epochs=10), derive_setup(setups, "cnn", lr=0.1, epochs=30)
    ('cnn.epochs10', 'cnn')
    >>> derive_setup(setups, "cnn", lr=0.05, onset_epoch=5)
    'cnn.lr0.05.onset5'
    """
    setup = copy.deepcopy(setups[base])
    parts = []
    if lr is not None and float(lr) != float(setup["optimizer"]["lr"]):
        setup["optimizer"]["lr"] = float(lr)
        parts.append(f"lr{float(lr):g}")
    if epochs is not None and int(epochs) != int(setup["epochs"]):
        setup["epochs"] = int(epochs)
        parts.append(f"epochs{int(epochs)}")
    if cycles is not None and int(cycles) != int(setup.get("schedule", {}).get("cycles", 1)):
        setup.setdefault("schedule", {})["cycles"] = int(cycles)
        parts.append(f"cycles{int(cycles)}")
    if onset_epoch is not None and int(onset_epoch) != int(setup.get("onset_epoch", 0)):
        setup["onset_epoch"] = int(onset_epoch)
        parts.append(f"onset{int(onset_epoch)}")
    if not parts:
        return base
    same = [name for name, other in setups.items() if other == setup]
    if same:  # e.g. doubling the epochs of "cnn.epochs60" gives "cnn" back
        return same[0]
    name = ".".join([base, *parts])
    _check_derived(name, setup)
    setups.setdefault(name, setup)
    return name


def _check_derived(name: str, setup: Mapping) -> None:
    epochs = int(setup["epochs"])
    cycles = int(setup.get("schedule", {}).get("cycles", 1))
    if epochs % cycles:
        raise ConfigError(f"derived setup {name}: epochs ({epochs}) must be a multiple of cycles ({cycles})")
    onset = int(setup.get("onset_epoch", 0))
    if onset >= epochs:
        raise ConfigError(f"derived setup {name}: onset epoch {onset} must be below epochs ({epochs})")


def max_runs(config: Mapping) -> int:
    """Seeds 1..max_runs exist as training targets: the largest ``runs`` of any study block."""
    return max([s["runs"] for s in config.get("studies", {}).values() if "runs" in s], default=1)
