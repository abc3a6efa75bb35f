"""Sources of nondeterminism, variants, and the per-source seeds of a run.

A *variant* is the set of sources that vary across runs. For run ``r`` of a variant, every
source in the variant gets seed ``r`` and every other source the constant 1 (docs/protocol.md,
Vocabulary). ``cudnn`` cannot be seeded: "in the variant" means nondeterministic GPU kernels on.
``bitflip`` is the instability probe: every training seed is 1 and only the bit-flip seed is r.
A *seed shift* s adds s to every one of those seeds (varied and fixed): a setup's ``seed_base``
B (its fixed seeds are B: another base run under the bit flips) shifts them by B - 1, the
config's ``seeds.offset`` K (another draw of the whole study, ``make replicate``) by K
(:func:`seed_shift`). Run 1 of a variant that varies only seeded sources stays the `none` run.

Each seeded source draws from its own :class:`torch.Generator`, so changing one source's seed
changes nothing drawn by another.

>>> s = run_seeds("shuffle", 3)
>>> (s.init, s.shuffle, s.augment, s.stochastic, s.bitflip, s.cudnn)
(1, 3, 1, 1, None, False)
>>> gens = s.generators()
>>> sorted(gens)
['augment', 'bitflip', 'init', 'shuffle', 'stochastic']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

#: Sources that have a seed, each with its own generator.
SEEDED_SOURCES: tuple[str, ...] = ("init", "shuffle", "augment", "stochastic")
#: All sources, including the unseedable ``cudnn`` switch and the ``bitflip`` probe.
SOURCES: tuple[str, ...] = SEEDED_SOURCES + ("cudnn", "bitflip")

#: Named variants -> the sources they vary. ``all`` varies every seeded source and cudnn.
VARIANTS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "init": frozenset({"init"}),
    "shuffle": frozenset({"shuffle"}),
    "augment": frozenset({"augment"}),
    "stochastic": frozenset({"stochastic"}),
    "cudnn": frozenset({"cudnn"}),
    "shuffle+augment": frozenset({"shuffle", "augment"}),
    "shuffle+cudnn": frozenset({"shuffle", "cudnn"}),
    "shuffle+augment+cudnn": frozenset({"shuffle", "augment", "cudnn"}),
    "all": frozenset(SEEDED_SOURCES) | {"cudnn"},
    "bitflip": frozenset({"bitflip"}),
}

#: The variants whose runs vary exactly one seeded source (claim 1 compares these).
SINGLE_SOURCE_VARIANTS: tuple[str, ...] = SEEDED_SOURCES


class UnknownVariantError(ValueError):
    """A variant name that is not one of :data:`VARIANTS`."""


def variant_sources(variant: str) -> frozenset[str]:
    """The sources that vary across runs of ``variant``.

    Raises :class:`UnknownVariantError` naming the valid variants.
    """
    try:
        return VARIANTS[variant]
    except KeyError:
        raise UnknownVariantError(
            f"unknown variant {variant!r}; valid variants: {', '.join(VARIANTS)}"
        ) from None


@dataclass(frozen=True)
class RunSeeds:
    """The seeds of one run: one per seeded source, the bit-flip seed, and the cudnn switch.

    ``varied`` names the sources the variant varies. ``bitflip`` is ``None`` when no bit is
    flipped. ``onset_epoch`` E > 0 (SD Fig 2): every
    source draws from seed 1 for the first E epochs and the varied sources switch to their own
    seed's generator from epoch E on (the bit flip, if any, then happens at epoch E).
    """

    init: int
    shuffle: int
    augment: int
    stochastic: int
    bitflip: int | None
    cudnn: bool
    onset_epoch: int = 0
    varied: tuple[str, ...] = ()
    shift: int = 0

    def base_run(self) -> "RunSeeds":
        """The `none` run 1 under the same shift: what onset runs train as before their onset."""
        return run_seeds("none", 1, shift=self.shift)

    def generators(self, device: str | torch.device = "cpu") -> dict[str, torch.Generator]:
        """A fresh generator per seeded source (and the bit-flip probe), seeded from its seed.

        The init generator lives on the CPU (models are built there); the others on ``device``
        so that shuffling, augmentation and dropout draw on the device that holds the data.
        """
        gens = {"init": seeded_generator(self.init, "cpu")}
        for source in ("shuffle", "augment", "stochastic"):
            gens[source] = seeded_generator(getattr(self, source), device)
        gens["bitflip"] = seeded_generator(self.bitflip if self.bitflip is not None else 1, "cpu")
        return gens

    def as_dict(self) -> dict[str, int | bool | None]:
        return asdict(self)


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A new :class:`torch.Generator` on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def run_seeds(variant: str, run: int, onset_epoch: int = 0, shift: int = 0) -> RunSeeds:
    """Seeds of run ``run`` (1-based) of ``variant``: seed ``run`` for varied sources, else 1,
    each plus ``shift`` (:func:`seed_shift`).

    >>> s = run_seeds("bitflip", 3, shift=100)
    >>> (s.init, s.shuffle, s.bitflip)
    (101, 101, 103)
    >>> run_seeds("init", 1, shift=5).init == run_seeds("none", 1, shift=5).init == 6
    True
    """
    if run < 1:
        raise ValueError(f"run numbers start at 1, got {run}")
    if shift < 0:
        raise ValueError(f"a seed shift is a non-negative integer, got {shift}")
    varied = variant_sources(variant)
    if onset_epoch and "init" in varied:
        raise ValueError("onset_epoch > 0 cannot vary 'init': initialisation happens before epoch 1")
    seeded = {s: (run if s in varied else 1) + shift for s in SEEDED_SOURCES}
    return RunSeeds(
        **seeded,
        bitflip=run + shift if "bitflip" in varied else None,
        cudnn="cudnn" in varied,
        onset_epoch=int(onset_epoch),
        varied=tuple(sorted(varied)),
        shift=int(shift),
    )


def seed_shift(setup: Mapping[str, Any]) -> int:
    """The seed shift of a setup's runs: its ``seed_base`` B (default 1; B - 1) plus the study's
    ``seed_offset`` (default 0, set from the config's ``seeds.offset``).

    >>> seed_shift({}), seed_shift({"seed_base": 3}), seed_shift({"seed_base": 3, "seed_offset": 1000})
    (0, 2, 1002)
    """
    return int(setup.get("seed_base", 1)) - 1 + int(setup.get("seed_offset", 0))


def first_run_is_none(variant: str) -> bool:
    """Whether run 1 of ``variant`` is the `none` run: it varies only seeded sources (no cuDNN,
    no bit flip), so its run 1 has every seed 1, on any device, and is never trained under its
    own name.

    >>> [v for v in VARIANTS if first_run_is_none(v)]
    ['init', 'shuffle', 'augment', 'stochastic', 'shuffle+augment']
    """
    return variant in VARIANTS and variant != "none" and VARIANTS[variant] <= frozenset(SEEDED_SOURCES)


def trained_variant(variant: str, run: int, device: str) -> str:
    """The variant whose run ``run`` is trained for run ``run`` of ``variant``: bitwise the same
    run, so it is trained once and reused. On a CPU a variant that asks for nondeterministic
    cuDNN kernels is its twin without them (no such kernels exist there; `all` keeps its name:
    it has no named twin), and run 1 of a variant that varies only seeded sources is the `none`
    run (:func:`first_run_is_none`).

    >>> [trained_variant(v, r, "cpu") for v, r in [("init", 1), ("init", 2), ("shuffle+cudnn", 1), ("shuffle+cudnn", 3)]]
    ['none', 'init', 'none', 'shuffle']
    >>> [trained_variant(v, 1, "cuda") for v in ["shuffle+cudnn", "all", "bitflip", "init"]]
    ['shuffle+cudnn', 'all', 'bitflip', 'none']

    A name that is no variant (e.g. a table's `snapshot` row) is its own.
    """
    if device == "cpu" and variant != "all":
        twin = "+".join(s for s in variant.split("+") if s != "cudnn") or "none"
        variant = twin if twin in VARIANTS else variant
    return "none" if run == 1 and first_run_is_none(variant) else variant
