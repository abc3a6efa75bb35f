"""Reducing variability and watching it grow (SD Table 5, Figs 1 and 2, Table 7; RE Tables 7-9).

- :mod:`.plan`: config blocks ``ensembles``, ``tta``, ``onset``, ``cka``, ``ablations`` ->
  derived setups, rows, files (:func:`plan`);
- :mod:`.ensembles`: vanilla and snapshot ensembles, the variability reduction %;
- :mod:`.tta`: test-time augmentation of saved runs;
- :mod:`.cka`: linear CKA per layer between runs;
- :mod:`.rows`: row tables (onset, ablations); :mod:`.onset`: the onset figure;
- :mod:`.claims`: SD's claim 3 (snapshot ensembles and TTA reduce variability).
"""

from .plan import plan

__all__ = ["plan"]
