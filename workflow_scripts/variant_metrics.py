"""Rule variant_metrics: the metrics row of one (setup, variant) over its runs, with the
plateau check of the setup's recipe when it has one."""

from runvar.io import save_json
from runvar.io import log_to
from runvar.plateau import load_plateau, with_plateau
from runvar.runs import variant_metrics

with log_to(snakemake.log[0]) as log:
    row = variant_metrics(
        snakemake.wildcards.variant,
        snakemake.input.predictions,
        snakemake.input.records,
        **snakemake.params.bootstrap,
        allow_pooling=snakemake.params.allow_pooling,
    )
    row = with_plateau(row, next(iter(load_plateau(snakemake.input.plateau).values()), None),
                       off=snakemake.params.check_off)
    save_json(snakemake.output[0], row)
    log(f"{snakemake.wildcards.setup}/{snakemake.wildcards.variant}: accuracy SD {row['accuracy_sd']:.3f}%")
