"""Language modelling (SD Tables 2 and 4): a QRNN or LSTM language model trained R times per
variant (init, stochastic, all, bitflip, none), its test perplexity's SD, pairwise
disagreement of next-token predictions and two-run ensemble PPL delta.

Modules: :mod:`.corpus` (offline pydoc corpus, Penn Treebank, batchify), :mod:`.models`,
:mod:`.train` (one run), :mod:`.runs` (run files), :mod:`.metrics`, :mod:`.config` (the
``studies.language`` block), :mod:`.plan`, :mod:`.report` (table, claims, figure). Only the
plan is imported here, so that planning the workflow does not import torch.
"""

from .plan import plan

__all__ = ["plan"]
