"""Verdict helpers shared by every study's claims: intervals, their formatting, verdicts.

A claim's verdict comes with the statistic behind it. The helpers here read bootstrap 95%
intervals from metrics rows (``{key}_ci95``), format a value with its interval, and combine
per-metric verdicts into one.

>>> row = {"accuracy_sd": 0.5, "accuracy_sd_ci95": [0.3, 0.7]}
>>> format_with_interval("init", row, "accuracy_sd", "{:.2f}")
'init 0.50 [0.30, 0.70]'
>>> combine([True, False]), combine([True, True]), combine([False])
('mixed', 'supported', 'not supported')
>>> range_verdict((0.1, 0.3), (0.25, 0.40)), range_verdict((-0.1, 0.3), (0.25, 0.40))
('consistent', 'inconclusive')
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .plateau import CONVERGENCE_CHECK
from .tables import markdown_table

#: The SD metrics claims quote: (metrics key, label, format).
SD_METRICS = (("accuracy_sd", "accuracy SD (%)", "{:.3f}"), ("cross_entropy_sd", "cross-entropy SD", "{:.4f}"))


def interval(row: Mapping, key: str) -> tuple[float, float]:
    """The bootstrap 95% interval of ``row[key]`` (stored as ``row[f"{key}_ci95"]``)."""
    low, high = row[f"{key}_ci95"]
    return float(low), float(high)


def format_with_interval(label: str, row: Mapping, key: str, fmt: str) -> str:
    """``"{label} {value} [{low}, {high}]"`` with ``fmt`` applied to each number."""
    low, high = interval(row, key)
    return f"{label} {fmt.format(row[key])} [{fmt.format(low)}, {fmt.format(high)}]"


def combine(verdicts: Sequence[bool]) -> str:
    """``supported`` when every test holds, ``not supported`` when none does, else ``mixed``."""
    if all(verdicts):
        return "supported"
    return "not supported" if not any(verdicts) else "mixed"


def range_verdict(ci95: tuple[float, float], claimed: tuple[float, float]) -> str:
    """Verdict on a claimed range of an effect (e.g. a 25-40% reduction) from its 95% interval.

    ``below`` / ``above``: the interval lies entirely below / above the claimed range;
    ``consistent``: it overlaps the range and excludes 0 (an effect is shown);
    ``inconclusive``: it overlaps the range but also includes 0 (too few runs to tell).
    """
    low, high = ci95
    if high < claimed[0]:
        return "below"
    if low > claimed[1]:
        return "above"
    return "consistent" if low > 0 else "inconclusive"


# --- Effect sizes with bootstrap intervals over runs ------------------------------------------

#: The ratio margin [low, high] of claims 1 (equivalence) and 2 (at least low) when the config's
#: ``claims.margin`` is not set: "within a factor of 2".
CLAIM_MARGIN: tuple[float, float] = (0.5, 2.0)


def claims_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's ``claims`` block over its defaults (``margin``: :data:`CLAIM_MARGIN`).

    >>> claims_options({})
    {'margin': [0.5, 2.0]}
    """
    return {"margin": list(CLAIM_MARGIN), **(config.get("claims") or {})}


#: The verdict of a claim whose runs are not on their accuracy plateau.
NOT_CONVERGED = "inconclusive: not converged"
#: The verdict of a claim with a row that has no plateau check (and the config does not say the
#: check is off for its setup): unchecked is not converged.
NOT_CHECKED = "inconclusive: convergence not checked"
#: Written beside each verdict that stands without a plateau check because the config says so.
CHECK_OFF_NOTE = " (convergence check off)"

#: Variability measures claims compare, larger = more variable: (key, label, format).
#: ``decorrelation`` is 1 - mean pairwise Spearman correlation.
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("accuracy_sd", "accuracy SD", "{:.3f}"),
    ("cross_entropy_sd", "CE SD", "{:.4f}"),
    ("pairwise_disagreement", "disagreement", "{:.2f}"),
    ("decorrelation", "1 - Spearman", "{:.4f}"),
    ("ensemble_delta_accuracy", "ensemble gain", "{:.3f}"),
)


def measure(row: Mapping, key: str) -> float:
    """The point value of a :data:`MEASURES` key in a metrics row."""
    return 1.0 - float(row["pairwise_spearman"]) if key == "decorrelation" else float(row[key])


def _pair_matrix(values: Sequence[float], runs: int) -> np.ndarray:
    matrix = np.full((runs, runs), np.nan)
    i, j = np.triu_indices(runs, k=1)
    matrix[i, j] = values
    matrix[j, i] = values
    return matrix


def resampled_measure(row: Mapping, key: str, idx: np.ndarray) -> np.ndarray:
    """A measure recomputed on resamples of the row's runs: ``idx`` (B, R) run indices, drawn
    with replacement. SDs use the resampled runs' values; pairwise means average the pairs of
    distinct resampled runs (a run paired with its own copy is skipped, as no pair i < j of
    the original data compares a run with itself)."""
    if key.endswith("_sd"):  # accuracy_sd, cross_entropy_sd, ppl_sd (language models)
        values = np.asarray(row["per_run"][key.removesuffix("_sd")], dtype=np.float64)
        values = values - values[0]
        return values[idx].std(axis=1)
    pair_key = "pairwise_spearman" if key == "decorrelation" else key
    matrix = _pair_matrix(row["pairs"][pair_key], int(row["runs"]))
    if key == "decorrelation":
        matrix = 1.0 - matrix
    a, b = np.triu_indices(idx.shape[1], k=1)
    out = np.empty(len(idx))
    warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)  # all one run: NaN
    for start in range(0, len(idx), 1000):  # (chunk, pairs) at a time: R = 100 stays small
        chunk = idx[start:start + 1000]
        values = matrix[chunk[:, a], chunk[:, b]]  # NaN where a resampled run meets itself
        out[start:start + 1000] = np.nanmean(values, axis=1)
    return out


def bootstrap_indices(runs: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, runs) run indices drawn with replacement."""
    return rng.integers(0, runs, size=(resamples, runs))


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator / denominator
    ratio[(numerator == 0) & (denominator == 0)] = 1.0
    return ratio


def ratio_with_interval(row: Mapping, reference: Mapping, key: str, resamples: int = 10_000,
                        seed: int = 0) -> tuple[float, tuple[float, float]]:
    """measure(row) / measure(reference) and its bootstrap 95% percentile interval, the runs of
    the two rows resampled independently (different variants are different runs)."""
    rng = np.random.default_rng(seed)
    top = resampled_measure(row, key, bootstrap_indices(int(row["runs"]), resamples, rng))
    bottom = resampled_measure(reference, key, bootstrap_indices(int(reference["runs"]), resamples, rng))
    ratios = _safe_ratio(top, bottom)
    # order statistics, not interpolation: a resample whose reference SD is 0 gives inf
    low, high = np.nanpercentile(ratios, [2.5, 97.5], method="inverted_cdf")
    point = _safe_ratio(np.array([measure(row, key)]), np.array([measure(reference, key)]))[0]
    return float(point), (float(low), float(high))


#: SD's claims 1 and 2 (sources study, language study).
CLAIM_1 = "Sources of nondeterminism have similar effects on variability"
CLAIM_2 = "A one-bit change to the initial weights produces as much variability as all sources"
_MEASURE_LABELS = {key: label for key, label, _ in MEASURES}


def ratio_test(claim: str, rows: Mapping[str, Mapping], variant: str, reference: str, key: str,
               margin: tuple[float, float], two_sided: bool, resamples: int, seed: int,
               label: str | None = None) -> dict[str, Any]:
    """One test: measure ``key`` of ``variant`` over ``reference`` with its bootstrap interval,
    against the margin (two-sided equivalence, or one-sided at least ``margin[0]``)."""
    ratio, ci = ratio_with_interval(rows[variant], rows[reference], key, resamples, seed)
    verdict = equivalence_verdict(ci, margin) if two_sided else at_least_verdict(ci, margin[0])
    return {
        "claim": claim, "test": f"{variant} / {reference}", "measure": label or _MEASURE_LABELS[key],
        "statistic": ratio, "ci95_low": ci[0], "ci95_high": ci[1],
        "margin": f"[{margin[0]:g}, {margin[1]:g}]" if two_sided else f">= {margin[0]:g}",
        "verdict": gate_on_convergence(verdict, [rows[variant], rows[reference]]),
    }


def equivalence_verdict(ci95: tuple[float, float], margin: tuple[float, float]) -> str:
    """Two-sided equivalence: ``supported`` when the interval lies inside ``margin``,
    ``not supported`` when it lies wholly outside, else ``inconclusive``.

    >>> equivalence_verdict((0.7, 1.4), (0.5, 2.0)), equivalence_verdict((0.1, 0.4), (0.5, 2.0))
    ('supported', 'not supported')
    >>> equivalence_verdict((0.3, 1.2), (0.5, 2.0))
    'inconclusive'
    """
    low, high = ci95
    if margin[0] <= low and high <= margin[1]:
        return "supported"
    if high < margin[0] or low > margin[1]:
        return "not supported"
    return "inconclusive"


def at_least_verdict(ci95: tuple[float, float], bound: float) -> str:
    """One-sided: ``supported`` when the whole interval is at or above ``bound``, ``not
    supported`` when it is wholly below, else ``inconclusive``.

    >>> at_least_verdict((0.6, 1.3), 0.5), at_least_verdict((0.1, 0.4), 0.5), at_least_verdict((0.3, 0.9), 0.5)
    ('supported', 'not supported', 'inconclusive')
    """
    low, high = ci95
    if low >= bound:
        return "supported"
    return "not supported" if high < bound else "inconclusive"


def overall_verdict(verdicts: Sequence[str]) -> str:
    """One verdict from per-test verdicts: ``supported`` when all are, ``not supported`` when
    some are not and none is supported, ``mixed`` when tests disagree, else ``inconclusive``.

    >>> overall_verdict(["supported", "inconclusive"]), overall_verdict(["supported", "not supported"])
    ('inconclusive', 'mixed')
    """
    kinds = set(verdicts)
    if kinds == {"supported"}:
        return "supported"
    if "not supported" in kinds:
        return "mixed" if "supported" in kinds else "not supported"
    return "inconclusive"


def gate_on_convergence(verdict: str, rows: Sequence[Mapping]) -> str:
    """``verdict`` when every row's runs are on their plateau. :data:`NOT_CONVERGED` when a
    row's runs are not (``row["converged"]`` false); :data:`NOT_CHECKED` when a row has no
    plateau check (no ``converged``) unless its ``convergence_check`` is ``"off"`` (the config
    says so): then ``verdict`` with :data:`CHECK_OFF_NOTE` beside it.

    >>> gate_on_convergence("supported", [{"converged": True}, {}])
    'inconclusive: convergence not checked'
    >>> gate_on_convergence("supported", [{"converged": True}, {"convergence_check": "off"}])
    'supported (convergence check off)'
    """
    if any(row.get("converged") is False for row in rows):
        return NOT_CONVERGED
    unchecked = [row for row in rows if row.get("converged") is None]
    if any(row.get(CONVERGENCE_CHECK) != "off" for row in unchecked):
        return NOT_CHECKED
    return verdict + CHECK_OFF_NOTE if unchecked else verdict


def claim_summary(claim: str, text: str, tests: Sequence[Mapping], why_untested: str) -> dict:
    """One claim's row: its verdict over its tests (:data:`NOT_CONVERGED` when any test's runs
    did not converge, else :data:`NOT_CHECKED` when any test's rows were not checked, ``not
    tested`` without tests; :data:`CHECK_OFF_NOTE` beside it when a test's is) and a count of
    the tests' verdicts."""
    verdicts = [t["verdict"] for t in tests]
    if not verdicts:
        verdict, summary = "not tested", why_untested
    else:
        plain = [v.removesuffix(CHECK_OFF_NOTE) for v in verdicts]
        gate = next((g for g in (NOT_CONVERGED, NOT_CHECKED) if g in plain), None)
        verdict = gate or overall_verdict(plain) + CHECK_OFF_NOTE * (plain != verdicts)
        counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
        summary = ", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(verdicts)} tests"
    return {"claim": claim, "text": text, "verdict": verdict, "summary": summary}


#: Columns of a claims table's test rows.
TEST_COLUMNS = ("claim", "test", "measure", "statistic", "ci95_low", "ci95_high", "margin", "verdict")


#: What every claims table's intervals assume, stated after its notes.
INTERVAL_NOTE = (
    "Variants share seeds by design (run r of `init` and of `all` both have init seed r, and "
    "every variant's run r shares the seeds of the sources it does not vary), while the bootstrap "
    "resamples the runs of different rows independently: it ignores their positive relation, so "
    "the intervals of ratios of positively related rows are conservative (wider than a paired "
    "bootstrap's).\n"
)


def claims_markdown(title: str, claims: Sequence[Mapping], tests: Sequence[Mapping], notes: str = "") -> str:
    """The claims (verdict and test count) and every test with its statistic, 95% interval,
    margin and verdict, as Markdown; ``notes`` and then :data:`INTERVAL_NOTE` below them."""
    head = markdown_table(["Claim", "", "Verdict", "Tests"],
                          [[c["claim"], c["text"], f"**{c['verdict']}**", c["summary"]] for c in claims])
    body = [[t["claim"], t["test"], t["measure"], f"{t['statistic']:.3g}",
             f"[{t['ci95_low']:.3g}, {t['ci95_high']:.3g}]", t["margin"], t["verdict"]] for t in tests]
    detail = markdown_table(["Claim", "Test", "Measure", "Statistic", "95% CI", "Margin", "Verdict"], body)
    notes = notes or "\n"  # the interval note is a paragraph of its own without notes
    return f"## {title}\n\n{head}\n{detail}{notes}{INTERVAL_NOTE}"


def claims_frame(claims: Sequence[Mapping], tests: Sequence[Mapping]) -> "pd.DataFrame":
    """Claims and their tests in one CSV-ready frame: ``level`` is ``claim`` or ``test``."""
    import pandas as pd

    rows = [{"level": "claim", "claim": c["claim"], "test": c["text"], "verdict": c["verdict"],
             "summary": c["summary"]} for c in claims]
    rows += [{"level": "test", **{k: t[k] for k in TEST_COLUMNS}} for t in tests]
    return pd.DataFrame(rows, columns=["level", *TEST_COLUMNS, "summary"])
