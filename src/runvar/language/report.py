"""The language table (SD Tables 2 and 4), claims 1 and 2 on it, and its figure.

Claims use the image tables' statistics and verdict rules (:mod:`runvar.sources.claims`): each
test is a ratio of a variability measure between two variants with a bootstrap 95% interval
over runs, against the config's margin. Claim 1: init / all and stochastic / all on PPL SD and
disagreement (equivalence); claim 2: bitflip / all and bitflip / init on PPL SD, disagreement
and ensemble PPL delta (at least the margin's lower end), with bit flips around several base
runs pooled within bases as in the sources study. Rows whose setup did not pass its plateau
check make a claim ``inconclusive: not converged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..claims import CLAIM_1, CLAIM_2, claim_summary, ratio_test, with_pooled_flips
from ..metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from ..plots import plt
from ..plateau import UNDECIDED
from ..tables import markdown_table

#: Measures of the language claims: (metrics key, label).
LANGUAGE_MEASURES = (("ppl_sd", "PPL SD"), ("pairwise_disagreement", "disagreement"),
                     ("ensemble_delta_ppl", "ensemble PPL delta"))
COLUMNS = ["variant", "runs", "ppl_mean", "ppl_sd", "ppl_sd_sd", "pairwise_disagreement", "ensemble_delta_ppl"]


def language_frame(rows: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per variant with the numeric metrics and the plateau check."""
    return pd.DataFrame([{**{k: row[k] for k in COLUMNS}, "converged": row.get("converged"),
                          "plateau_decision": row.get("plateau_decision"),
                          "plateau_change_pct": row.get("plateau_change"),
                          "plateau_change_se_pct": row.get("plateau_change_se"),
                          "plateau_max_change_pct": row.get("plateau_max_change")} for row in rows.values()])


def _converged_cell(row: Mapping) -> str:
    if row["converged"] is None or pd.isna(row["converged"]):
        return "unchecked"
    word = ("**undecided**" if row.get("plateau_decision") == UNDECIDED
            else "yes" if bool(row["converged"]) else "**no**")
    return f"{word} ({row['plateau_change_pct']:+.2f}%)"


def language_markdown(frame: pd.DataFrame, title: str, check: Mapping | None) -> str:
    header = ["Variant", "R", "Test PPL mean", "PPL SD", "Pairwise disagreement (%)", "Ensemble PPL delta", "Converged"]
    body = [[row["variant"], int(row["runs"]), f"{row['ppl_mean']:.2f}", f"{row['ppl_sd']:.3f} ± {row['ppl_sd_sd']:.3f}",
             f"{row['pairwise_disagreement']:.2f}", f"{row['ensemble_delta_ppl']:+.3f}", _converged_cell(row)]
            for _, row in frame.iterrows()]
    notes = ("\nPPL: test perplexity of each run. SD: population SD over runs; ± : SD of the SD over bootstrap "
             "resamples of the runs. Disagreement: positions whose next-token argmax differs, mean over run pairs. "
             "Ensemble PPL delta: PPL of the two-run ensemble (probabilities averaged) minus the pair's mean PPL, "
             "mean over pairs (negative: the ensemble is better).\n")
    if check:
        notes += (f"Converged: runs 1-{check['runs']} of `{check['variant']}` trained for {check['double_epochs']} "
                  f"instead of {check['epochs']} epochs change the mean final validation PPL by the percentage in "
                  f"brackets ({check['valid_ppl']:.2f} -> {check['valid_ppl_double']:.2f}); the plateau rule asks "
                  f"for less than {check['max_change']:g}%"
                  + (f", decided with the change's SE ({check['change_se']:.2f}%): |change| + 1.645 SE below it is "
                     f"on the plateau, |change| - 1.645 SE above it is not, else undecided: "
                     f"**{check['decision']}**" if "change_se" in check else "") + ".\n")
    return f"## {title}\n\n" + markdown_table(header, body) + notes


def language_claims(rows: Mapping[str, Mapping], margin: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED, bases: Sequence[Mapping] = ()) -> tuple[list[dict], list[dict]]:
    """(per-claim verdicts, per-test rows) of claims 1 and 2 from the metrics rows by variant;
    ``bases``: the bitflip rows of bases 2..B (``studies.language.bitflip_bases``; base 1 is
    ``rows["bitflip"]``), whose spread within bases claim 2 pools as the sources study's does."""
    margin = (float(margin[0]), float(margin[1]))
    rows, flips = with_pooled_flips(rows, bases)
    tests1 = [ratio_test("1", rows, v, "all", key, margin, True, resamples, seed, label)
              for v in ("init", "stochastic") if v in rows and "all" in rows for key, label in LANGUAGE_MEASURES[:2]]
    tests2 = [ratio_test("2", rows, flips, ref, key, margin, False, resamples, seed, label)
              for ref in ("all", "init") if ref in rows and "bitflip" in rows for key, label in LANGUAGE_MEASURES]
    claims = [claim_summary("1", CLAIM_1, tests1, "needs `all` and `init` or `stochastic`"),
              claim_summary("2", CLAIM_2, tests2, "needs `bitflip` and `all` or `init`")]
    return claims, tests1 + tests2


def language_figure(rows: Mapping[str, Mapping], check: Mapping | None, title: str) -> plt.Figure:
    """Test PPL of every run by variant; beside it, the plateau check's validation PPL curves."""
    fig, axes = plt.subplots(1, 2 if check else 1, figsize=(9 if check else 5, 3.4), squeeze=False)
    ax = axes[0][0]
    for x, (variant, row) in enumerate(rows.items()):
        ppl = np.asarray(row["per_run"]["ppl"])
        ax.plot(np.full(len(ppl), x) + np.linspace(-0.15, 0.15, len(ppl)), ppl, ".", alpha=0.8)
        ax.errorbar([x + 0.3], [ppl.mean()], yerr=[ppl.std()], fmt="k_", capsize=3)
    ax.set_xticks(range(len(rows)), list(rows))
    ax.set_ylabel("test perplexity")
    ax.set_title(title, fontsize=9)
    if check:
        ax = axes[0][1]
        for curve, style in (("curve", "-"), ("curve_double", "--")):
            ax.plot(check[curve]["epochs"], check[curve]["valid_ppl"], style, marker=".",
                    label=f"{check[curve]['epochs'][-1]} epochs")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"mean validation PPL ({check['variant']} 1-{check['runs']})")
        ax.set_title(f"plateau check: {check['change']:+.2f}%", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
