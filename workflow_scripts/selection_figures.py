"""Rule selection_figures: SM's Fig 1 (mean accuracy) and Fig 2 (accuracy SD) per model and k."""

import pandas as pd

from runvar.io import log_to
from runvar.plots import save_figure
from runvar.selection.report import group_figure

with log_to(snakemake.log[0]) as log:
    frame = pd.read_csv(snakemake.input[0], dtype={"k": str})
    out = snakemake.output
    runs = int(frame["runs"].min())
    fig = group_figure(frame, "accuracy_mean", "accuracy_sd", "Mean test accuracy (%)",
                       f"Mean accuracy over R = {runs} runs (bars: ± SD over runs)")
    save_figure(fig, out.accuracy_png, out.accuracy_pdf)
    fig = group_figure(frame, "accuracy_sd", "accuracy_sd_sd", "Accuracy SD (%)",
                       f"Accuracy SD over R = {runs} runs (bars: bootstrap SD of the SD)")
    save_figure(fig, out.sd_png, out.sd_pdf)
    log(f"wrote {out.accuracy_png} and {out.sd_png}")
