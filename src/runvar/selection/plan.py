"""The weight-selection study's plan (SM): config block -> generated setups, groups, rows.

The study block (``studies.selection`` of the config) names models and candidate counts k;
:func:`study_setups` turns it into one setup per (model, k) and one learned-weights setup per
model, all trained with every source varied (variant ``all``); :func:`protocol_rows` lists
the rows of the SD protocol on one selected model and its learned twin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..config import ConfigError, deep_merge, resolve_setup
from ..models import build_model
from ..models.weight_selection import selection_layers
from ..seeds import VARIANTS
from ..studies import StudyPlan

#: The variant of the main study: every source varied (docs/protocol.md, Weight selection).
STUDY_VARIANT = "all"
LEARNED = "learned"


def setup_name(model: str, k: int | None) -> str:
    """Name of the generated setup of ``model`` with ``k`` candidates (None: learned weights)."""
    return f"sel.{model}.{LEARNED if k is None else f'k{k}'}"


def candidate_flip_name(model: str, k: int) -> str:
    """Name of the twin of ``setup_name(model, k)`` whose bit flip hits a candidate weight."""
    return f"{setup_name(model, k)}.flip-candidates"


def first_selection_layer(model: str) -> str:
    """Module name of the first weight-selection layer of ``model`` (e.g. ``"1"`` for LeNet).

    Built on the meta device (no memory, no random draws) for a 1 x 40 signal with k = 2: the
    module names of the registered selection models depend neither on the input shape nor on k.
    """
    with torch.device("meta"):
        built = build_model(model, (1, 40), 10, 0, mode="select", k=2)
    layers = list(selection_layers(built))
    if not layers:
        raise ConfigError(f"studies.selection: model {model!r} has no weight-selection layer")
    return layers[0]


def _group_setup(study: Mapping, model: str, k: int | None, bitflip: str | None = None) -> dict:
    """The setup (before ``setup_defaults``) of one group: shared, then per-mode overrides."""
    mode = LEARNED if k is None else "selected"
    setup = deep_merge(study.get("setup", {}), study.get(mode, {}))
    if k is not None:
        setup = deep_merge(setup, study.get("by_k", {}).get(str(k), study.get("by_k", {}).get(k, {})))
    if k is None:
        setup["model"] = {"name": model, "mode": LEARNED}
    else:
        rules = {key: study[key] for key in ("selection", "eval_selection") if key in study}
        setup["model"] = {"name": model, "mode": "select", "k": k, **rules}
    if bitflip is not None:
        setup["bitflip"] = {"parameter": bitflip}
    return setup


def study_setups(study: Mapping) -> dict[str, dict]:
    """Every setup the study trains, by name, as overrides of ``setup_defaults``.

    Selection setups flip one score of the first selection layer under the ``bitflip``
    variant; the protocol's twin (:func:`candidate_flip_name`) flips one of its candidates.
    """
    setups: dict[str, dict] = {}
    for model in study["models"]:
        layer = first_selection_layer(model)
        for k in study["ks"]:
            setups[setup_name(model, k)] = _group_setup(study, model, k, f"{layer}.scores")
        setups[setup_name(model, None)] = _group_setup(study, model, None)
    protocol = study.get("protocol")
    if protocol:
        model, k = protocol["model"], protocol["k"]
        layer = first_selection_layer(model)
        setups.setdefault(setup_name(model, k), _group_setup(study, model, k, f"{layer}.scores"))
        setups.setdefault(setup_name(model, None), _group_setup(study, model, None))
        setups[candidate_flip_name(model, k)] = _group_setup(study, model, k, f"{layer}.candidates")
    return setups


def resolve_study_setups(config: Mapping) -> dict[str, dict]:
    """The study's setups resolved as config setups are (:func:`runvar.config.resolve_setup`).

    Raises :class:`ConfigError` when an override block sets the model, a generated name
    clashes with a config setup, a setup's dataset is not defined, the setups use more than
    one dataset, or a protocol variant is unknown.
    """
    study = config["studies"]["selection"]
    problems = [
        f"studies.selection.{block}.model: the study sets each setup's model; "
        "use studies.selection.models, ks, selection and eval_selection"
        for block in ("setup", "selected", "learned") if "model" in study.get(block, {})
    ] + [
        f"studies.selection.by_k.{k}.model: the study sets each setup's model" if "model" in block
        else f"studies.selection.by_k.{k}: k = {k} is not in studies.selection.ks {study['ks']}"
        for k, block in study.get("by_k", {}).items()
        if "model" in block or int(k) not in study["ks"]
    ]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    generated = study_setups(study)
    problems = [
        f"setups.{name}: clashes with a setup the selection study generates; rename it"
        for name in generated if name in config.get("setups", {})
    ]
    merged = {**config, "setups": generated}
    resolved = {name: resolve_setup(merged, name) for name in generated}
    datasets = sorted({setup.get("dataset") for setup in resolved.values()}, key=str)
    for dataset in datasets:
        if dataset not in config.get("datasets", {}):
            problems.append(
                f"studies.selection.setup.dataset: {dataset!r} is not defined under datasets; "
                f"defined datasets: {sorted(config.get('datasets', {}))}"
            )
    if len(datasets) > 1:
        problems.append(f"studies.selection: all groups must use one dataset; got {datasets}")
    for variant in study.get("protocol", {}).get("variants", []):
        if variant not in VARIANTS:
            problems.append(
                f"studies.selection.protocol.variants: unknown variant {variant!r}; "
                f"valid variants: {list(VARIANTS)}"
            )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return resolved


def study_groups(study: Mapping) -> list[dict[str, Any]]:
    """The (model, k) groups of the main study in table order; ``k`` None = learned weights."""
    return [
        {"model": model, "k": k, "setup": setup_name(model, k)}
        for model in study["models"]
        for k in [*study["ks"], None]
    ]


def protocol_rows(study: Mapping) -> list[dict[str, str]]:
    """The protocol table's rows: (weights, flipped tensor, setup, variant), in table order.

    Every variant runs on the selected setup and its learned twin; the ``bitflip`` variant
    also runs on the candidate-flip twin.
    """
    protocol = study["protocol"]
    model, k = protocol["model"], protocol["k"]
    selected = f"selected (k={k})"
    rows = []
    for variant in protocol["variants"]:
        rows.append({"weights": selected, "flipped": "scores" if variant == "bitflip" else "",
                     "setup": setup_name(model, k), "variant": variant})
        if variant == "bitflip":
            rows.append({"weights": selected, "flipped": "candidates",
                         "setup": candidate_flip_name(model, k), "variant": variant})
        rows.append({"weights": LEARNED, "flipped": "weights" if variant == "bitflip" else "",
                     "setup": setup_name(model, None), "variant": variant})
    return rows


#: A file of the study: ``kind`` tables or figures, ``name`` accuracy, memory, sd or protocol.
SELECTION_FILE = "results/{kind}/selection_{name}.{ext}"


def targets(study: Mapping) -> list[str]:
    """Tables and figures of the study, and the protocol table when a protocol is configured."""
    files = [
        SELECTION_FILE.format(kind=kind, name=name, ext=ext)
        for kind, names, exts in (
            ("tables", ("accuracy", "memory"), ("csv", "md")),
            ("figures", ("accuracy", "sd"), ("png", "pdf")),
        )
        for name in names
        for ext in exts
    ]
    if study.get("protocol"):
        files += [SELECTION_FILE.format(kind="tables", name="protocol", ext=ext) for ext in ("csv", "md")]
    return files


def plan(config: Mapping) -> StudyPlan:
    """The study's generated setups (resolved), files, and its block as ``detail`` (empty
    plan when the config has no ``studies.selection``)."""
    study = config.get("studies", {}).get("selection")
    if not study:
        return StudyPlan()
    setups = resolve_study_setups(config)
    recipes = {name: name for name in setups}
    protocol = study.get("protocol")
    if protocol:  # the candidate-flip twin differs from its setup only in the flipped tensor
        recipes[candidate_flip_name(protocol["model"], protocol["k"])] = setup_name(protocol["model"], protocol["k"])
    return StudyPlan(setups=setups, targets=targets(study), detail=study, recipes=recipes)
