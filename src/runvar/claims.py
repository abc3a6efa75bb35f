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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .plateau import CONVERGENCE_CHECK, UNDECIDED
from .stats.spread import bulk_sd
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
#: The verdict of a claim whose runs' plateau check cannot tell (its change sits within its
#: precision of the threshold): more runs or a longer recipe would decide.
PLATEAU_UNDECIDED = "inconclusive: plateau undecided"
#: The verdict of a claim with a row that has no plateau check (and the config does not say the
#: check is off for its setup): unchecked is not converged.
NOT_CHECKED = "inconclusive: convergence not checked"
#: Written beside each verdict that stands without a plateau check because the config says so.
CHECK_OFF_NOTE = " (convergence check off)"

#: Suffix of a measure key read as the bulk SD of a per-run value (``accuracy_bulk_sd``).
BULK_SD = "_bulk_sd"
#: Variability measures claims compare, larger = more variable: (key, label, format).
#: ``decorrelation`` is 1 - mean pairwise Spearman correlation. The spreads are bulk SDs: the
#: SD of a row of 40 doubles when it draws one of the rare bad runs (docs/protocol.md, Claims).
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("accuracy_bulk_sd", "accuracy bulk SD", "{:.3f}"),
    ("cross_entropy_bulk_sd", "CE bulk SD", "{:.4f}"),
    ("pairwise_disagreement", "disagreement", "{:.2f}"),
    ("decorrelation", "1 - Spearman", "{:.4f}"),
    ("ensemble_delta_accuracy", "ensemble gain", "{:.3f}"),
)


def measure(row: Mapping, key: str) -> float:
    """The point value of a :data:`MEASURES` key in a metrics row: a bulk SD
    (:func:`runvar.stats.spread.bulk_sd`) from the row's per-run values, pooled within bases
    for a pooled row (:func:`pooled_within_row`) as its SDs are."""
    if key.endswith(BULK_SD):
        if "bases" in row:
            return float(np.sqrt(np.mean([measure(base, key) ** 2 for base in row["bases"]])))
        return float(bulk_sd(row["per_run"][key.removesuffix(BULK_SD)]))
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
    if key.endswith(BULK_SD):  # accuracy_bulk_sd, cross_entropy_bulk_sd
        return np.asarray(bulk_sd(np.asarray(row["per_run"][key.removesuffix(BULK_SD)], dtype=np.float64)[idx]))
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


def pooled_within_row(bases: Sequence[Mapping]) -> dict[str, Any]:
    """One row from the rows of the same variant around several base runs (the bit flips of
    ``{setup}``, ``{setup}.base2``, ...): the spread within a base, pooled over the bases. SDs
    pool the variances (sqrt of their mean, each ddof 0 as the rows'); pairwise measures average
    the bases' own pair means (pairs across bases are not compared). ``bases`` keeps the rows for
    :func:`resampled_row`, which resamples bases and then runs within each (a two-stage bootstrap).
    The first base's plateau check stands for all (they differ only by seeds).

    >>> a = {"runs": 2, "accuracy_sd": 3.0, "pairwise_disagreement": 1.0, "converged": True}
    >>> b = {"runs": 2, "accuracy_sd": 4.0, "pairwise_disagreement": 3.0}
    >>> row = pooled_within_row([a, b])
    >>> round(row["accuracy_sd"], 4), row["pairwise_disagreement"], row["runs"], row["converged"]
    (3.5355, 2.0, 4, True)
    """
    first = bases[0]
    row: dict[str, Any] = {key: first[key] for key in ("setup", "variant", "converged", "plateau_change",
                                                        "plateau_recipe", CONVERGENCE_CHECK) if key in first}
    for key in ("accuracy_sd", "cross_entropy_sd", "ppl_sd"):
        if key in first:
            row[key] = float(np.sqrt(np.mean([float(b[key]) ** 2 for b in bases])))
    for key in ("pairwise_disagreement", "pairwise_spearman", "ensemble_delta_accuracy", "ensemble_delta_ppl",
                "accuracy_mean", "ppl_mean"):
        if key in first:
            row[key] = float(np.mean([float(b[key]) for b in bases]))
    row.update(runs=sum(int(b["runs"]) for b in bases), base_runs=len(bases), bases=list(bases))
    return row


#: The key of the pooled bit-flip row among a table's rows (:func:`with_pooled_flips`).
POOLED_FLIPS = "bitflip_pooled"


def with_pooled_flips(rows: Mapping[str, Mapping], bases: Sequence[Mapping]) -> tuple[dict[str, Mapping], str]:
    """(rows, the key of claim 2's flips): with the bitflip rows of bases 2..B (``bases``; base 1
    is ``rows["bitflip"]``), ``rows`` gains their :func:`pooled_within_row` under
    :data:`POOLED_FLIPS`, labelled ``bitflip (B bases)``, and claim 2 reads it; else ``bitflip``."""
    if not bases or "bitflip" not in rows:
        return dict(rows), "bitflip"
    pooled = pooled_within_row([rows["bitflip"], *bases])
    return {**rows, POOLED_FLIPS: {**pooled, "label": f"bitflip ({pooled['base_runs']} bases)"}}, POOLED_FLIPS


def resampled_row(row: Mapping, key: str, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``key`` of ``row`` over ``resamples`` bootstrap resamples of its runs; a pooled row
    (:func:`pooled_within_row`) resamples its bases, then the runs within each chosen base."""
    if "bases" not in row:
        return resampled_measure(row, key, bootstrap_indices(int(row["runs"]), resamples, rng))
    bases = row["bases"]
    picks = rng.integers(0, len(bases), size=(resamples, len(bases)))
    total = np.zeros(resamples)
    for slot in range(len(bases)):
        for b, base in enumerate(bases):
            chosen = picks[:, slot] == b
            values = resampled_measure(base, key, bootstrap_indices(int(base["runs"]), int(chosen.sum()), rng))
            total[chosen] += values ** 2 if key.endswith("_sd") else values
    pooled = total / len(bases)
    return np.sqrt(pooled) if key.endswith("_sd") else pooled


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
    top = resampled_row(row, key, resamples, rng)
    bottom = resampled_row(reference, key, resamples, rng)
    ratios = _safe_ratio(top, bottom)
    # order statistics, not interpolation: a resample whose reference SD is 0 gives inf
    low, high = np.nanpercentile(ratios, [2.5, 97.5], method="inverted_cdf")
    point = _safe_ratio(np.array([measure(row, key)]), np.array([measure(reference, key)]))[0]
    return float(point), (float(low), float(high))


#: SM's claim: weight selection lowers the accuracy SD by 25% to 40% against learned weights
#: (read by the selection study and by the replication's distances).
SM_CLAIMED_REDUCTION: tuple[float, float] = (0.25, 0.40)

#: Verdicts that decide a test (the rest say its interval is too wide for its margin).
DECIDED = frozenset({"supported", "not supported", "consistent", "below", "above"})
#: Runs beyond which :func:`runs_to_decide` gives up: the effect sits on its margin.
RUNS_LIMIT = 100_000


def projected_interval(statistic: float, ci95: tuple[float, float], factor: float,
                       log_scale: bool) -> tuple[float, float]:
    """``ci95`` shrunk around ``statistic`` by ``factor`` (each side keeps its own length; on the
    log scale for ratios).

    >>> [round(v, 4) for v in projected_interval(1.0, (0.5, 2.0), 0.5, True)]
    [0.7071, 1.4142]
    >>> projected_interval(10.0, (0.0, 30.0), 0.5, False)
    (5.0, 20.0)
    """
    forward, back = (np.log, np.exp) if log_scale else (float, float)
    low, high, centre = (float(forward(v)) for v in (ci95[0], ci95[1], statistic))
    return float(back(centre - factor * (centre - low))), float(back(centre + factor * (high - centre)))


def runs_to_decide(statistic: float, ci95: tuple[float, float], runs: int,
                   verdict_of: Callable[[tuple[float, float]], str], log_scale: bool) -> int | None:
    """A planning figure: the runs at which the test would decide if its effect stayed where it
    was observed. An interval from R runs shrinks as 1 / sqrt(R - 1) (an SD's relative SE is
    about 1 / sqrt(2 (R - 1)); a mean's SE 1 / sqrt(R)), so the interval at R' runs is the
    observed one shrunk around the statistic by sqrt((R - 1) / (R' - 1)) (every row of the test
    grown in proportion; ``runs`` is its smaller row's). ``None``: not below :data:`RUNS_LIMIT`
    (the effect sits on its margin). Already decided: the fewest runs that would still decide.

    A ratio of 1.0 [0.55, 1.8] at R = 10 against the margin [0.5, 2] decides (inside the
    margin) once the interval's lower side, ln(1 / 0.55), shrinks to ln(1 / 0.5):
    9 (ln 1.818 / ln 2)^2 = 6.4, so R' = 8 runs.

    >>> runs_to_decide(1.0, (0.55, 1.8), 10, lambda ci: equivalence_verdict(ci, (0.5, 2.0)), True)
    8
    >>> runs_to_decide(1.0, (0.3, 3.0), 10, lambda ci: equivalence_verdict(ci, (0.5, 2.0)), True)
    29
    >>> runs_to_decide(0.5, (0.3, 0.9), 10, lambda ci: at_least_verdict(ci, 0.5), True) is None
    True
    """
    def decided(factor: float) -> bool:
        return verdict_of(projected_interval(statistic, ci95, factor, log_scale)) in DECIDED

    if not np.isfinite([statistic, *ci95]).all() or (log_scale and min(statistic, *ci95) <= 0):
        return None
    smallest = np.sqrt((runs - 1) / (RUNS_LIMIT - 1))
    if not decided(smallest):
        return None
    low, high = smallest, 20.0  # decided at ``low``; find the widest interval that still decides
    if decided(high):
        return 2
    for _ in range(80):
        mid = np.sqrt(low * high)
        low, high = (mid, high) if decided(mid) else (low, mid)
    return max(2, int(np.ceil(1 + (runs - 1) / low ** 2 - 1e-9)))


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

    def verdict_of(interval: tuple[float, float]) -> str:
        return equivalence_verdict(interval, margin) if two_sided else at_least_verdict(interval, margin[0])

    runs = min(int(rows[variant]["runs"]), int(rows[reference]["runs"]))
    return {
        "claim": claim, "test": f"{rows[variant].get('label', variant)} / {reference}",
        "measure": label or _MEASURE_LABELS[key], "statistic": ratio, "ci95_low": ci[0], "ci95_high": ci[1],
        "margin": f"[{margin[0]:g}, {margin[1]:g}]" if two_sided else f">= {margin[0]:g}",
        "verdict": gate_on_convergence(verdict_of(ci), [rows[variant], rows[reference]]),
        "runs": runs, "runs_to_decide": runs_to_decide(ratio, ci, runs, verdict_of, log_scale=True),
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
    row's runs are not (``row["converged"]`` false, and its check decided so), else
    :data:`PLATEAU_UNDECIDED` when a row's check could not tell; :data:`NOT_CHECKED` when a row has no
    plateau check (no ``converged``) unless its ``convergence_check`` is ``"off"`` (the config
    says so): then ``verdict`` with :data:`CHECK_OFF_NOTE` beside it.

    >>> gate_on_convergence("supported", [{"converged": True}, {}])
    'inconclusive: convergence not checked'
    >>> gate_on_convergence("supported", [{"converged": True}, {"convergence_check": "off"}])
    'supported (convergence check off)'
    """
    if any(row.get("converged") is False and row.get("plateau_decision") != UNDECIDED for row in rows):
        return NOT_CONVERGED
    if any(row.get("plateau_decision") == UNDECIDED for row in rows):
        return PLATEAU_UNDECIDED
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
        gate = next((g for g in (NOT_CONVERGED, PLATEAU_UNDECIDED, NOT_CHECKED) if g in plain), None)
        verdict = gate or overall_verdict(plain) + CHECK_OFF_NOTE * (plain != verdicts)
        counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
        summary = ", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(verdicts)} tests"
    return {"claim": claim, "text": text, "verdict": verdict, "summary": summary}


#: Columns of a claims table's test rows.
TEST_COLUMNS = ("claim", "test", "measure", "statistic", "ci95_low", "ci95_high", "margin", "verdict", "runs",
                "runs_to_decide")


def runs_to_decide_cell(test: Mapping) -> str:
    """How a table shows :func:`runs_to_decide`: a number, or "on margin" when none decides.

    >>> runs_to_decide_cell({"runs_to_decide": 26}), runs_to_decide_cell({"runs_to_decide": None})
    ('26', 'on margin')
    """
    value = test.get("runs_to_decide")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "on margin"
    return f"{int(value)}"


def verdict_cell(test: Mapping) -> str:
    """A claims table's verdict cell: the verdict, then the test's runs and its runs to decide.

    >>> verdict_cell({"verdict": "inconclusive", "runs": 10, "runs_to_decide": 29})
    'inconclusive (10 runs; 29 to decide)'
    >>> verdict_cell({"verdict": "supported", "runs": 10, "runs_to_decide": None})
    'supported (10 runs; on margin)'
    """
    if test.get("runs") is None:
        return str(test["verdict"])
    decide = runs_to_decide_cell(test)
    return f"{test['verdict']} ({int(test['runs'])} runs; {decide}{'' if decide == 'on margin' else ' to decide'})"


#: The note below every table that shows runs to decide.
RUNS_TO_DECIDE_NOTE = (
    "Beside each verdict: the runs of the test's smaller row, and \"to decide\", a planning figure, "
    "not a result: the runs per row (every row grown in proportion) at which the 95% interval, shrunk "
    "as 1/sqrt(R - 1) around the observed effect, would decide the test; \"on margin\": no affordable "
    "number of runs would (the effect sits on the margin). The effect itself moves from draw to draw.\n")


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
             f"[{t['ci95_low']:.3g}, {t['ci95_high']:.3g}]", t["margin"], verdict_cell(t)] for t in tests]
    detail = markdown_table(["Claim", "Test", "Measure", "Statistic", "95% CI", "Margin", "Verdict (runs; to decide)"],
                            body)
    notes = notes or "\n"  # the interval note is a paragraph of its own without notes
    return f"## {title}\n\n{head}\n{detail}\n{RUNS_TO_DECIDE_NOTE}{notes}{INTERVAL_NOTE}"


def claims_frame(claims: Sequence[Mapping], tests: Sequence[Mapping]) -> "pd.DataFrame":
    """Claims and their tests in one CSV-ready frame: ``level`` is ``claim`` or ``test``."""
    import pandas as pd

    rows = [{"level": "claim", "claim": c["claim"], "test": c["text"], "verdict": c["verdict"],
             "summary": c["summary"]} for c in claims]
    rows += [{"level": "test", **{k: t.get(k) for k in TEST_COLUMNS}} for t in tests]
    return pd.DataFrame(rows, columns=["level", *TEST_COLUMNS, "summary"])
