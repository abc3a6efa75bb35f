"""Tables and figures of the synthetic study (SS Figs 2, 6, 8, 10) from per-setting results."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from ..plots import save_figure  # noqa: E402
from ..tables import markdown_table, write_table  # noqa: E402

COLUMNS = ("setting", "curve", "init", "log2_z", "delta_r_mean", "delta_r_sd", "delta_r_sem",
           "excess_loss_mean", "excess_loss_sd", "pairs", "log2_examples", "data", "model",
           "hidden", "activation", "optimizer", "lr")


def curves_frame(results: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (setting, init mode, window): Delta_r and excess loss with their spreads."""
    rows = []
    for result in results:
        s = result["setting"]
        for c in result["curves"]:
            rows.append({
                "setting": result["name"], "curve": c["label"], "init": c["init"], "log2_z": c["log2_z"],
                "delta_r_mean": c["delta_r"]["mean"], "delta_r_sd": c["delta_r"]["sd"],
                "delta_r_sem": c["delta_r"]["sem"], "excess_loss_mean": c["excess_loss"]["mean"],
                "excess_loss_sd": c["excess_loss"]["sd"], "pairs": s["pairs"],
                "log2_examples": s["log2_examples"], "data": s["data"], "model": s["model"],
                "hidden": "-".join(map(str, s["hidden"])) or "-", "activation": s["activation"],
                "optimizer": s["optimizer"], "lr": s["lr"],
            })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def curves_markdown(frame: pd.DataFrame, title: str) -> str:
    """The table as Markdown: Delta_r and L as mean ± SD over pairs (Delta_r) or models (L)."""
    body = [[row.curve, str(row.log2_z), f"{row.delta_r_mean:.3e} ± {row.delta_r_sd:.1e}",
             f"{row.excess_loss_mean:.3e} ± {row.excess_loss_sd:.1e}"] for row in frame.itertuples()]
    notes = (f"\nDelta_r: mean over {frame['pairs'].iloc[0] if len(frame) else 0} pairs of the mean "
             "relative prediction difference |p_a - p_b| / p_true (SS eq. 3), ± SD over pairs. "
             "L: excess loss, mean KL(true || model) (SS eq. 2), ± SD over the pairs' models. "
             "'diff': the two models of a pair start from different weights.\n")
    return f"## {title}\n\n" + markdown_table(["Curve", "log2 z", "Delta_r", "Excess loss L"], body) + notes


def curves_figure(frame: pd.DataFrame, title: str) -> plt.Figure:
    """Top: Delta_r vs log2 z per curve (± SE over pairs). Bottom: Delta_r vs L, points labelled by log2 z."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 8.5))
    zeros = []
    # One line per (setting, init mode); two settings may share a legend label.
    for i, (_, rows) in enumerate(frame.groupby(["setting", "init"], sort=False)):
        rows, curve = rows.sort_values("log2_z"), rows["curve"].iloc[0]
        style = {"color": f"C{i % 10}", "marker": "o", "linestyle": "--" if rows["init"].iloc[0] == "different" else "-"}
        shown = rows[rows["delta_r_mean"] > 0]
        zeros += [f"{curve} (log2 z = {z})" for z in rows.loc[rows["delta_r_mean"] <= 0, "log2_z"]]
        top.errorbar(shown["log2_z"], shown["delta_r_mean"], yerr=shown["delta_r_sem"], capsize=3, label=curve, **style)
        bottom.plot(shown["excess_loss_mean"], shown["delta_r_mean"], **style)
        for row in shown.itertuples():
            bottom.annotate(str(row.log2_z), (row.excess_loss_mean, row.delta_r_mean), fontsize=7,
                            xytext=(3, 3), textcoords="offset points", color=style["color"])
    top.set(yscale="log", xlabel="log2 z (shuffling window, mini-batches)", ylabel="Delta_r")
    bottom.set(xscale="log", yscale="log", xlabel="excess loss L", ylabel="Delta_r")
    bottom.xaxis.set_minor_formatter(NullFormatter())
    top.legend(fontsize=7, ncol=2)
    top.grid(True, which="both", alpha=0.3)
    bottom.grid(True, which="both", alpha=0.3)
    if zeros:
        bottom.text(0.0, -0.18, "Delta_r = 0 (not drawn on the log scale): " + "; ".join(zeros),
                    transform=bottom.transAxes, fontsize=7, wrap=True)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_figure_outputs(results: Sequence[Mapping[str, Any]], title: str, csv: str | os.PathLike[str],
                         md: str | os.PathLike[str], png: str | os.PathLike[str],
                         pdf: str | os.PathLike[str]) -> pd.DataFrame:
    """Write one figure's table (CSV + Markdown) and plot (PNG + PDF); returns the table."""
    frame = curves_frame(results)
    write_table(frame, curves_markdown(frame, title), csv, md)
    save_figure(curves_figure(frame, title), png, pdf)
    return frame
