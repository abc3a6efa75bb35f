"""Rule convergence_table: variability per (training length, variant) and the bitflip ratios."""

from runvar.convergence.report import convergence_frame, convergence_markdown
from runvar.io import load_json, log_to
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    setup, bootstrap = snakemake.wildcards.setup, snakemake.params.bootstrap
    metrics = [load_json(path) for path in snakemake.input]
    frame = convergence_frame(snakemake.params.rows, metrics, resamples=int(bootstrap["resamples"]),
                              seed=int(bootstrap["seed"]))
    write_table(frame, convergence_markdown(frame, f"Variability against training length: {setup}"),
                snakemake.output.csv, snakemake.output.md)
    log(frame.to_string())
