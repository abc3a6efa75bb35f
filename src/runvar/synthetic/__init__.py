"""Snapp & Shamir's synthetic irreproducibility study (docs/protocol.md, "Synthetic irreproducibility").

>>> from runvar.synthetic import run_setting
>>> result = run_setting({"model": "linear", "pairs": 2, "log2_examples": 8,
...                       "log2_eval_examples": 6, "log2_z": [0, 2]})
>>> [(c["log2_z"], c["delta_r"]["mean"] < 1.0) for c in result["curves"]]
[(0, True), (2, True)]
"""

from .config import SETTING_DEFAULTS, SyntheticConfigError, resolve_block, resolve_setting
from .data import DataModel, Examples, linear_feature_probs, make_data_model, quadratic_feature_probs
from .metrics import excess_loss, pair_metrics, relative_prediction_difference
from .models import Architecture, BatchedNet, init_parameters
from .plan import plan
from .streams import Stream, numpy_rng, torch_generator, window_permutation
from .train import evaluation_set, run_setting, train_pass

__all__ = [
    "SETTING_DEFAULTS",
    "Architecture",
    "BatchedNet",
    "DataModel",
    "Examples",
    "Stream",
    "SyntheticConfigError",
    "evaluation_set",
    "excess_loss",
    "init_parameters",
    "linear_feature_probs",
    "make_data_model",
    "numpy_rng",
    "pair_metrics",
    "plan",
    "quadratic_feature_probs",
    "relative_prediction_difference",
    "resolve_block",
    "resolve_setting",
    "run_setting",
    "torch_generator",
    "train_pass",
    "window_permutation",
]
