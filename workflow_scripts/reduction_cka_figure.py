"""Rule cka_figure: heat map of mean CKA per (variant, layer) (SD Fig. 1)."""

import pandas as pd

from runvar.reduction.cka import cka_heatmap
from runvar.io import log_to
from runvar.plots import save_figure

with log_to(snakemake.log[0]):
    frame = pd.read_csv(snakemake.input[0])
    save_figure(cka_heatmap(frame, f"Mean linear CKA between runs: {snakemake.wildcards.setup}"),
                snakemake.output.png, snakemake.output.pdf)
