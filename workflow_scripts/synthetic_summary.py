"""Rule synthetic_summary: each synthetic figure's table (CSV + Markdown) and plot (PNG + PDF)."""

from runvar.io import load_json
from runvar.io import log_to
from runvar.synthetic.report import write_figure_outputs

with log_to(snakemake.log[0]) as log:
    results = {r["name"]: r for r in map(load_json, snakemake.input)}
    outputs = zip(snakemake.params.figures, snakemake.output.csv, snakemake.output.md,
                  snakemake.output.png, snakemake.output.pdf)
    for figure, csv, md, png, pdf in outputs:
        write_figure_outputs([results[name] for name in figure["settings"]], figure["title"], csv, md, png, pdf)
        log(f"{figure['name']}: {len(figure['settings'])} settings -> {png}")
