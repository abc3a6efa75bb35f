"""Sources of nondeterminism and instability (SD Tables 1, 3, 6, 8, Fig. 3; RE Tables 4, 10).

- :mod:`.plan`: the ``sources``, ``depth``, ``architectures``, ``generalization`` blocks ->
  files (:func:`plan`);
- :mod:`.tables`: the sources table and the (setup, variant) tables from metrics rows;
- :mod:`.figures`: the per-variant bar chart and the spread of bitflip runs over time;
- :mod:`.claims`: SD's claims 1 and 2.

Seeds are drawn in :mod:`runvar.seeds`, runs trained by :mod:`runvar.runs`, metrics rows
computed by :mod:`runvar.metrics`.
"""

from .plan import plan

__all__ = ["plan"]
