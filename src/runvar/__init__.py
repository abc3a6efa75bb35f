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

import importlib
from typing import Any

# Public names -> the module that defines them. Imported on first use, so that a job that
# needs only part of the library does not pay for scipy (metrics) at start-up.
_EXPORTS = {
    **dict.fromkeys(
        ["accuracies", "bootstrap_sd_of_sd", "cross_entropies", "ensemble_delta",
         "pairwise_disagreement", "pairwise_spearman", "population_sd", "variability"],
        "metrics",
    ),
    **dict.fromkeys(["SOURCES", "VARIANTS", "RunSeeds", "run_seeds", "variant_sources"], "seeds"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'runvar' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
