"""Rule variant_metrics: the metrics row of one (setup, variant) over its runs."""

from runvar.io import save_json
from runvar.logs import log_to
from runvar.runs import variant_metrics

with log_to(snakemake.log[0]) as log:
    row = variant_metrics(
        snakemake.wildcards.variant,
        snakemake.input.predictions,
        snakemake.input.records,
        **snakemake.params.bootstrap,
    )
    save_json(snakemake.output[0], row)
    log(f"{snakemake.wildcards.setup}/{snakemake.wildcards.variant}: accuracy SD {row['accuracy_sd']:.3f}%")
