"""Training length as a study of its own: do SD's claims hold only once models converged?

- :mod:`.plan`: the ``studies.convergence`` block -> one derived setup ``{setup}.epochs{E}``
  per training length, the (length, variant) rows, the files (:func:`plan`);
- :mod:`.report`: the table (one row per length and variant, the bitflip/init and bitflip/all
  ratios with bootstrap 95% intervals) and the figure over the training length.
"""

from .plan import plan

__all__ = ["plan"]
