"""Rule convergence_figure: the convergence table against the training length (PNG + PDF)."""

import pandas as pd

from runvar.convergence.report import convergence_figure
from runvar.io import log_to
from runvar.plots import save_figure

with log_to(snakemake.log[0]) as log:
    frame = pd.read_csv(snakemake.input[0])
    fig = convergence_figure(frame, f"Variability against training length: {snakemake.wildcards.setup}")
    save_figure(fig, snakemake.output.png, snakemake.output.pdf)
    log(f"wrote {snakemake.output.png} and {snakemake.output.pdf}")
