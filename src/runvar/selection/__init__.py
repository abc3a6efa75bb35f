"""The weight-selection ("slot machine") variability study (SM; docs/protocol.md, "Weight selection").

- :mod:`.plan`: the ``studies.selection`` block -> one setup per (model, k) and learned twin,
  the protocol rows, the files (:func:`plan`);
- :mod:`.stats`: SD per group and the SD reduction against learned weights with its interval;
- :mod:`.memory`: what a selection model stores;
- :mod:`.report`: the accuracy, protocol and memory tables and SM's figures.

The layers and models themselves are in :mod:`runvar.models.weight_selection`.
"""

from .plan import plan

__all__ = ["plan"]
