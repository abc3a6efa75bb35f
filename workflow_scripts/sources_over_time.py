"""Rule bitflip_over_time: SD Fig 3, the spread of per-epoch test cross-entropy under bitflip."""

from runvar.io import log_to
from runvar.metrics import spread_over_time
from runvar.plots import save_figure
from runvar.sources.figures import over_time_figure
from runvar.io import history_matrix

with log_to(snakemake.log[0]) as log:
    spreads = {
        setup: spread_over_time(history_matrix(snakemake.input[setup]))
        for setup in snakemake.input.keys()
    }
    save_figure(over_time_figure(spreads, "test cross-entropy"), snakemake.output.png, snakemake.output.pdf)
    for setup, spread in spreads.items():
        log(f"{setup}: final SD {spread['sd'][-1]:.3g}, max SD {spread['sd'].max():.3g}")
