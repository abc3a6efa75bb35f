"""The ``studies.language`` config block: setups resolved onto Merity et al.'s defaults.

A language *setup* is a corpus, a model and a training recipe. Defaults are Merity's PTB QRNN
command (``main.py --model QRNN --batch_size 20 --clip 0.2 --wdrop 0.1 --dropouti 0.4
--dropouth 0.3``, LR 30, BPTT 70, weight decay 1.2e-6, AR 2, TAR 1, 550 epochs) at SD's size
(256-d embedding, 512 hidden units, 3 layers); a setup states what differs. Corpus options come
from the config's ``datasets`` block (``pydoc: {vocab_size}``, ``ptb: {root}``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..config import ConfigError, deep_merge

CORPORA = ("pydoc", "ptb")
LANGUAGE_VARIANTS = ("none", "init", "stochastic", "all", "bitflip")
MODEL_KINDS = ("qrnn", "lstm")
SCHEDULES = ("constant", "cosine")

SETUP_DEFAULTS: dict[str, Any] = {
    "corpus": "pydoc",
    "model": {"kind": "qrnn", "embedding": 256, "hidden": 512, "layers": 3, "dropout": 0.4,
              "dropouth": 0.3, "dropouti": 0.4, "dropoute": 0.1, "wdrop": 0.1},
    "epochs": 550,
    "batch_size": 20,
    "eval_batch_size": 10,
    "test_batch_size": 1,
    "evaluate_every": 1,
    "bptt": 70,
    "lr": 30.0,
    "schedule": "constant",
    "clip": 0.2,
    "weight_decay": 1.2e-6,
    "alpha": 2.0,
    "beta": 1.0,
    "train_tokens": None,
    "execution": {"device": "cpu", "threads": 1},
    "bitflip": {"parameter": "first"},
}
#: Plateau check of each setup: runs 1..runs of ``variant`` at 2E epochs; converged when the
#: mean final validation PPL changes by less than ``max_change_pct`` percent.
PLATEAU_DEFAULTS = {"variant": "all", "runs": 3, "max_change_pct": 1.0}


def resolve_setup(name: str, setup: Mapping[str, Any], datasets: Mapping[str, Any]) -> dict[str, Any]:
    """The complete setup; :class:`runvar.config.ConfigError` names a wrong key or value."""
    where = f"studies.language.settings.{name}"
    for key in setup:
        if key not in SETUP_DEFAULTS and key != "seed_offset":  # seed_offset: from seeds.offset
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(SETUP_DEFAULTS)}")
    for key in setup.get("model", {}):
        if key not in SETUP_DEFAULTS["model"]:
            raise ConfigError(f"{where}.model: unknown key {key!r}; valid keys: {', '.join(SETUP_DEFAULTS['model'])}")
    resolved = deep_merge(copy.deepcopy(SETUP_DEFAULTS), setup)
    if resolved["corpus"] not in CORPORA:
        raise ConfigError(f"{where}.corpus = {resolved['corpus']!r}; valid corpora: {', '.join(CORPORA)}")
    if resolved["model"]["kind"] not in MODEL_KINDS:
        raise ConfigError(f"{where}.model.kind = {resolved['model']['kind']!r}; valid: {', '.join(MODEL_KINDS)}")
    if resolved["schedule"] not in SCHEDULES:
        raise ConfigError(f"{where}.schedule = {resolved['schedule']!r}; valid: {', '.join(SCHEDULES)}")
    if resolved["corpus"] == "ptb" and "root" not in datasets.get("ptb", {}):
        raise ConfigError(f"{where} reads Penn Treebank: set datasets: {{ptb: {{root: DIR}}}}, DIR holding "
                          "ptb.train.txt, ptb.valid.txt and ptb.test.txt (Mikolov's preprocessed split)")
    resolved["corpus_options"] = dict(datasets.get(resolved["corpus"], {}))
    return resolved


def resolve_block(block: Mapping[str, Any], datasets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every setup of the block, resolved; checks the variants."""
    for variant in block.get("variants", []):
        if variant not in LANGUAGE_VARIANTS:
            raise ConfigError(f"studies.language.variants: {variant!r} is not a language-model variant; "
                              f"valid: {', '.join(LANGUAGE_VARIANTS)} (no shuffle or augmentation source)")
    return {name: resolve_setup(name, setup or {}, datasets) for name, setup in block["settings"].items()}
