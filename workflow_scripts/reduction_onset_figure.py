"""Rule onset_figure: variability against the onset epoch (SD Fig. 2) from the onset table."""

import pandas as pd

from runvar.reduction.onset import onset_figure
from runvar.io import log_to
from runvar.plots import save_figure

with log_to(snakemake.log[0]):
    frame = pd.read_csv(snakemake.input[0])
    fig = onset_figure(frame, f"Onset of nondeterminism: {snakemake.wildcards.setup}")
    save_figure(fig, snakemake.output.png, snakemake.output.pdf)
