"""SD's claim 3 decided by effect sizes: snapshot ensembles and TTA reduce variability.

Statistic per method: the variability reduction % against the single model
(:func:`runvar.reduction.ensembles.variability_reduction`, the RE's mean of five per-metric
relative reductions) with a bootstrap 95% interval over runs. A method's test is supported
when the interval lies above 0, not supported when it lies below, inconclusive when it holds
0. TTA views of the single model are the same runs as the single model (resampled together);
snapshot ensembles are other runs (resampled independently). Rows whose recipe did not reach
its plateau make the verdict ``inconclusive: not converged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..claims import bootstrap_indices, claim_summary, gate_on_convergence, resampled_measure, runs_to_decide
from .ensembles import REDUCTION_METRICS, variability_reduction

CLAIM_3 = "Snapshot ensembles and test-time augmentation reduce run-to-run variability"

_MEASURE = {"pairwise_spearman": "decorrelation"}


def _resampled(row: Mapping, idx: np.ndarray) -> dict[str, np.ndarray]:
    values = {key: resampled_measure(row, _MEASURE.get(key, key), idx) for key, _, _ in REDUCTION_METRICS}
    values["pairwise_spearman"] = 1.0 - values["pairwise_spearman"]
    return values


def reduction_interval(single: Mapping, method: Mapping, paired: bool, resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Variability reduction % of ``method`` against ``single`` and its bootstrap 95% interval."""
    rng = np.random.default_rng(seed)
    idx = bootstrap_indices(int(single["runs"]), resamples, rng)
    other = idx if paired else bootstrap_indices(int(method["runs"]), resamples, rng)
    base, new = _resampled(single, idx), _resampled(method, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_metric = [100.0 * sign * (base[key] - new[key]) / base[key] for key, _, sign in REDUCTION_METRICS]
    boot = np.mean(per_metric, axis=0)
    low, high = np.nanpercentile(boot, [2.5, 97.5], method="inverted_cdf")
    return variability_reduction(method, single)["mean"], (float(low), float(high))


def above_zero_verdict(ci95: tuple[float, float]) -> str:
    """``supported`` when the interval lies above 0, ``not supported`` below, else ``inconclusive``.

    >>> above_zero_verdict((1.0, 5.0)), above_zero_verdict((-5.0, -1.0)), above_zero_verdict((-1.0, 5.0))
    ('supported', 'not supported', 'inconclusive')
    """
    low, high = ci95
    return "supported" if low > 0 else "not supported" if high < 0 else "inconclusive"


def claim_reduction(single: Mapping, methods: Mapping[str, Mapping], paired: Sequence[str] = (),
                    resamples: int = 10_000, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(claim verdict, per-method tests) of claim 3; ``paired`` names the methods computed on the
    single model's own runs (TTA of the single model)."""
    tests = []
    for label, row in methods.items():
        value, (low, high) = reduction_interval(single, row, label in paired, resamples, seed)
        runs = min(int(single["runs"]), int(row["runs"]))
        tests.append({"claim": "3", "test": f"{label} vs single model", "measure": "variability reduction (%)",
                      "statistic": value, "ci95_low": low, "ci95_high": high, "margin": "> 0",
                      "verdict": gate_on_convergence(above_zero_verdict((low, high)), [single, row]),
                      "runs": runs,
                      "runs_to_decide": runs_to_decide(value, (low, high), runs, above_zero_verdict, log_scale=False)})
    return [claim_summary("3", CLAIM_3, tests, "needs snapshot or TTA rows")], tests
