"""Settings of the synthetic study: defaults, validation with named errors, resolution.

A *setting* is a setup: data model, architecture, optimiser, scale, seeds and execution mode.
Within a setting the sources of irreproducibility vary: every shuffling window ``log2_z`` and
every initialisation mode in ``init`` ("same": both models of a pair start from the same
weights; "different": each model its own), all trained together.

The config block (``config["synthetic"]``) has ``defaults`` (merged under every setting),
``settings`` (name -> setting), ``figures`` (name -> title and the settings it draws) and
optional cluster ``resources``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .activations import ACTIVATIONS
from .data import DATA_KINDS
from .models import MODEL_KINDS
from .optim import OPTIMIZERS

INIT_MODES = ("same", "different")
DEVICES = ("cpu", "cuda", "auto")

#: Every setting key with its default; ``model`` has none and must be given.
SETTING_DEFAULTS: dict[str, Any] = {
    "data": "linear",
    "model": None,
    "hidden": [],
    "activation": "identity",
    "beta": None,
    "embedding_dim": 2,
    "init": ["same"],
    "optimizer": "adagrad",
    "lr": 0.1,
    "initial_accumulator": 0.1,
    "momentum": 0.9,
    "decay": 0.001,
    "warm_start": None,
    "pairs": 16,
    "pairs_per_group": None,
    "batch_size": 32,
    "log2_examples": 16,
    "log2_eval_examples": 14,
    "log2_z": [0, 5, 10],
    "seed": 1,
    "threads": 1,
    "device": "cpu",
    "label": None,
}
WARM_START_KEYS = ("lr", "optimizer", "log2_examples")
BLOCK_KEYS = ("defaults", "settings", "figures", "resources")
FIGURE_KEYS = ("title", "settings")
ACTIVATION_LABELS = {"identity": "identity", "relu": "ReLU", "smelu": "SmeLU", "swish": "Swish"}
OPTIMIZER_LABELS = {"adagrad": "AdaGrad", "sgd": "SGD"}


class SyntheticConfigError(ValueError):
    """A synthetic-study config value that is missing, unknown or out of range."""


def _fail(where: str, key: str, value: Any, allowed: str) -> None:
    raise SyntheticConfigError(f"{where}: {key} = {value!r} is not allowed; {allowed}")


def _check_keys(where: str, given: Mapping, allowed: tuple[str, ...]) -> None:
    for key in given:
        if key not in allowed:
            _fail(where, "key", key, f"valid keys: {', '.join(allowed)}")


def _check_choice(where: str, key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(where, key, value, f"valid values: {', '.join(choices)}")


def _check_int(where: str, key: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
        maximum is not None and value > maximum
    ):
        bound = f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        _fail(where, key, value, f"expected {bound}")


def _check_positive(where: str, key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        _fail(where, key, value, "expected a number > 0")


def resolve_setting(setting: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
                    name: str = "setting") -> dict[str, Any]:
    """The complete, validated setting: library defaults < ``defaults`` < ``setting``.

    Raises :class:`SyntheticConfigError` naming the setting, the key, the value and what is allowed.
    """
    where = f"synthetic setting {name!r}"
    _check_keys(f"synthetic defaults (for {name!r})", defaults or {}, tuple(SETTING_DEFAULTS))
    _check_keys(where, setting, tuple(SETTING_DEFAULTS))
    s = {**SETTING_DEFAULTS, **(defaults or {}), **setting}
    s["hidden"] = list(s["hidden"])
    s["init"] = list(s["init"])
    s["log2_z"] = list(s["log2_z"])

    _check_choice(where, "data", s["data"], DATA_KINDS)
    _check_choice(where, "model", s["model"], MODEL_KINDS)
    _check_choice(where, "activation", s["activation"], tuple(ACTIVATIONS))
    _check_choice(where, "optimizer", s["optimizer"], OPTIMIZERS)
    _check_choice(where, "device", s["device"], DEVICES)
    for width in s["hidden"]:
        _check_int(where, "hidden width", width, 1)
    if s["model"] == "linear" and (s["hidden"] or s["activation"] != "identity"):
        _fail(where, "hidden/activation", (s["hidden"], s["activation"]),
              "model 'linear' has no hidden layer: use hidden: [] and activation: identity")
    if s["model"] != "linear" and not s["hidden"]:
        _fail(where, "hidden", s["hidden"], f"model {s['model']!r} needs at least one hidden width")
    if ACTIVATIONS[s["activation"]][1]:
        _check_positive(where, "beta", s["beta"])
    elif s["beta"] is not None:
        _fail(where, "beta", s["beta"], f"activation {s['activation']!r} takes no beta (smelu and swish do)")
    if not s["init"] or len(set(s["init"])) != len(s["init"]):
        _fail(where, "init", s["init"], f"expected a non-empty list of distinct modes from {', '.join(INIT_MODES)}")
    for mode in s["init"]:
        _check_choice(where, "init", mode, INIT_MODES)
    for key in ("lr", "initial_accumulator"):
        _check_positive(where, key, s[key])
    for key in ("momentum", "decay"):
        if isinstance(s[key], bool) or not isinstance(s[key], (int, float)) or s[key] < 0:
            _fail(where, key, s[key], "expected a number >= 0")
    for key in ("embedding_dim", "pairs", "batch_size", "threads"):
        _check_int(where, key, s[key], 1)
    _check_int(where, "seed", s["seed"], 0)
    _check_int(where, "log2_examples", s["log2_examples"], 0, 40)
    _check_int(where, "log2_eval_examples", s["log2_eval_examples"], 0, 30)
    if s["pairs_per_group"] is not None:
        _check_int(where, "pairs_per_group", s["pairs_per_group"], 1, s["pairs"])
    if s["label"] is not None and not isinstance(s["label"], str):
        _fail(where, "label", s["label"], "expected a string")
    _check_windows(where, s["log2_z"], s["batch_size"], s["log2_examples"])
    s["warm_start"] = _resolve_warm_start(where, s)
    if s["label"] is None:
        s["label"] = default_label(s)
    return s


def _check_windows(where: str, log2_z: list, batch_size: int, log2_examples: int) -> None:
    if not log2_z or len(set(log2_z)) != len(log2_z):
        _fail(where, "log2_z", log2_z, "expected a non-empty list of distinct integers >= 0")
    examples = 2**log2_examples
    for value in log2_z:
        _check_int(where, "log2_z", value, 0)
        window = batch_size * 2**value
        if window > examples or examples % window:
            _fail(where, "log2_z", value,
                  f"a window of batch_size * 2^log2_z = {window} examples must divide the "
                  f"2^log2_examples = {examples} training examples")


def _resolve_warm_start(where: str, s: Mapping[str, Any]) -> dict[str, Any] | None:
    warm = s["warm_start"]
    if warm is None:
        return None
    if not isinstance(warm, Mapping):
        _fail(where, "warm_start", warm, "expected a mapping with lr (and optionally optimizer, log2_examples)")
    _check_keys(f"{where}, warm_start", warm, WARM_START_KEYS)
    if "lr" not in warm:
        _fail(where, "warm_start", dict(warm), "warm_start needs lr (the pretraining learning rate)")
    if s["init"] != ["same"]:
        _fail(where, "init", s["init"], "a warm-started pair starts from one model: use init: [same]")
    resolved = {"optimizer": s["optimizer"], "log2_examples": s["log2_examples"], **warm}
    _check_positive(f"{where}, warm_start", "lr", resolved["lr"])
    _check_choice(f"{where}, warm_start", "optimizer", resolved["optimizer"], OPTIMIZERS)
    _check_int(f"{where}, warm_start", "log2_examples", resolved["log2_examples"], 0, 40)
    examples = 2 ** resolved["log2_examples"]
    if examples % s["batch_size"]:
        _fail(f"{where}, warm_start", "log2_examples", resolved["log2_examples"],
              f"2^log2_examples must be a multiple of batch_size {s['batch_size']}")
    return resolved


def default_label(s: Mapping[str, Any]) -> str:
    """A legend label: the architecture, then optimiser and learning rate; TL for warm starts."""
    if s["model"] == "linear":
        arch = "linear"
    else:
        act = _activation_label(s)
        widths = ",".join(str(w) for w in s["hidden"])
        arch = f"{act} {widths}" if len(s["hidden"]) == 1 else f"{act} [{widths}]"
        if s["model"] == "embedding":
            arch += " emb"
    label = f"{arch}, {OPTIMIZER_LABELS[s['optimizer']]} {s['lr']:g}"
    return label + " TL" if s["warm_start"] else label


def _activation_label(s: Mapping[str, Any]) -> str:
    name = ACTIVATION_LABELS[s["activation"]]
    return f"{name}({s['beta']:g})" if s["beta"] is not None else name


def resolve_block(block: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every setting of a ``synthetic`` config block, resolved; checks the figures' references."""
    _check_keys("synthetic", block, BLOCK_KEYS)
    settings = block.get("settings") or {}
    if not settings:
        _fail("synthetic", "settings", settings, "expected at least one setting")
    resolved = {name: resolve_setting(s or {}, block.get("defaults"), name) for name, s in settings.items()}
    for figure, spec in (block.get("figures") or {}).items():
        _check_keys(f"synthetic figure {figure!r}", spec, FIGURE_KEYS)
        names = spec.get("settings") or []
        if not names:
            _fail(f"synthetic figure {figure!r}", "settings", names, "expected a list of setting names")
        for name in names:
            if name not in resolved:
                _fail(f"synthetic figure {figure!r}", "settings", name,
                      f"valid setting names: {', '.join(resolved)}")
    return resolved
