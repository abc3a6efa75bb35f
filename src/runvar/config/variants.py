"""No degenerate rows: every variant a study asks of a setup must vary sources the setup can use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..models import StochasticLayer
from ..seeds import VARIANTS
from .models import dataset_shape, meta_model


# No degenerate rows: a variant must vary sources its setup can use. A setup without dropout
# (or any other stochastic layer) has nothing for ``stochastic`` to vary, one without
# augmentation nothing for ``augment``: every run of such a variant would be bitwise the same
# run, and its row R trainings that look like a measured zero. ``all`` is exempt (it varies
# whatever the setup has), and so is ``cudnn`` (on a CPU setup its rows reuse the runs of their
# twin without cuDNN).


def model_has_stochastic_layer(setup: Mapping[str, Any]) -> bool:
    """Whether the resolved setup's model has a layer that draws from the stochastic source
    (built on the meta device: no memory, no data)."""
    shape = dataset_shape(setup.get("dataset"))
    if shape is None or "name" not in setup["model"]:
        return True  # unknown input shape or a user's imported model: cannot tell, do not reject
    options = dict(setup["model"])
    model = meta_model(options.pop("name"), shape[0], shape[1], options)
    return any(isinstance(module, StochasticLayer) for module in model.modules())


def unusable_sources(setup: Mapping[str, Any]) -> dict[str, str]:
    """Sources the resolved setup cannot vary -> why.

    >>> unusable_sources({"model": {"name": "linear"}, "dataset": "mnist1d", "augment": {"crop_padding": 0}})
    {'augment': 'its augment block sets no crop_padding and no flip', 'stochastic': "model 'linear' has no dropout or other stochastic layer"}
    """
    why = {}
    augment = setup.get("augment") or {}
    if not int(augment.get("crop_padding", 0)) and not augment.get("flip", False):
        why["augment"] = "its augment block sets no crop_padding and no flip"
    if not model_has_stochastic_layer(setup):
        why["stochastic"] = f"model {setup['model']['name']!r} has no dropout or other stochastic layer"
    return why


def _study_variants(block: Mapping[str, Any], where: str) -> Iterator[tuple[str, str]]:
    """(key, variant) of every variant a study block asks of its setups, nested blocks too."""
    if isinstance(block.get("variant"), str):
        yield f"{where}.variant", block["variant"]
    for variant in block.get("variants", []) or []:
        if isinstance(variant, str):
            yield f"{where}.variants", variant
    for i, row in enumerate(block.get("rows", []) or []):
        if isinstance(row, Mapping) and isinstance(row.get("variant"), str):
            yield f"{where}.rows[{i}]", row["variant"]
    for key, value in block.items():
        if isinstance(value, Mapping):
            yield from _study_variants(value, f"{where}.{key}")


def variant_problems(studies: Mapping[str, Any], setups: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One message per (study key, setup, variant) whose variant varies a source the setup
    cannot use. Blocks without ``setups`` (selection, synthetic) generate their own setups and
    are not checked here; unknown setups and variants are reported elsewhere."""
    problems = []
    cache: dict[str, dict[str, str]] = {}
    for study, block in studies.items():
        if not isinstance(block, Mapping) or not isinstance(block.get("setups"), list):
            continue
        for where, variant in _study_variants(block, f"studies.{study}"):
            if variant == "all":
                continue
            if variant not in VARIANTS:
                continue  # unknown variants (and snapshot-all rows) are reported elsewhere
            varied = VARIANTS[variant]
            for setup in block["setups"]:
                if setup not in setups:
                    continue
                if setup not in cache:
                    cache[setup] = unusable_sources(setups[setup])
                for source in sorted(varied & set(cache[setup])):
                    problems.append(
                        f"{where}: variant {variant!r} of setup {setup!r} varies {source!r}, but "
                        f"{cache[setup][source]}: its runs would all be the same run; "
                        f"drop the variant or the setup from this block"
                    )
    return problems
