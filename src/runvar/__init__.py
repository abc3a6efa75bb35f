"""runvar: run-to-run variability of neural network training.

The metrics work on any stack of test logits (runs x examples x classes)::

    import numpy as np, runvar
    row = runvar.variability(logits, labels)      # accuracy/CE SD with bootstrap SD-of-SD,
                                                  # pairwise disagreement, Spearman, ensemble delta

The seeded sources give each source of randomness its own generator::

    seeds = runvar.run_seeds("shuffle", run=3)    # init=1, shuffle=3, augment=1, ...
    gens = seeds.generators()                     # {"init": Generator, "shuffle": ..., ...}
"""

__version__ = "0.1.0"

from .metrics import (
    accuracies,
    bootstrap_sd_of_sd,
    cross_entropies,
    ensemble_delta,
    pairwise_disagreement,
    pairwise_spearman,
    population_sd,
    variability,
)
from .seeds import SOURCES, VARIANTS, RunSeeds, run_seeds, variant_sources

__all__ = [
    "SOURCES",
    "VARIANTS",
    "RunSeeds",
    "accuracies",
    "bootstrap_sd_of_sd",
    "cross_entropies",
    "ensemble_delta",
    "pairwise_disagreement",
    "pairwise_spearman",
    "population_sd",
    "run_seeds",
    "variability",
    "variant_sources",
]
