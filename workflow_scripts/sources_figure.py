"""Rule sources_figure: the sources metrics per variant as a figure (PNG + PDF)."""

from runvar.io import log_to
from runvar.plots import save_figure
from runvar.sources.figures import sources_figure
from runvar.runs import load_metrics_rows

with log_to(snakemake.log[0]) as log:
    rows = load_metrics_rows(snakemake.input)
    fig = sources_figure(rows, f"Run-to-run variability by source: {snakemake.wildcards.setup}")
    save_figure(fig, snakemake.output.png, snakemake.output.pdf)
    log(f"wrote {snakemake.output.png} and {snakemake.output.pdf}")
