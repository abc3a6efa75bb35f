"""Rule variant_metrics: the metrics row of one (setup, variant) over its runs, with the
plateau check of the setup's recipe when it has one."""

from runvar.io import save_json
from runvar.io import log_to
from runvar.execution import allow_pooling_of
from runvar.runs import load_plateau, variant_metrics, with_plateau
from runvar.studies import unchecked_setups

with log_to(snakemake.log[0]) as log:
    row = variant_metrics(
        snakemake.wildcards.variant,
        snakemake.input.predictions,
        snakemake.input.records,
        **snakemake.params.bootstrap,
        allow_pooling=allow_pooling_of(snakemake.config),
    )
    row = with_plateau(row, next(iter(load_plateau(snakemake.input.plateau).values()), None),
                       off=snakemake.wildcards.setup in unchecked_setups(snakemake.config))
    save_json(snakemake.output[0], row)
    log(f"{snakemake.wildcards.setup}/{snakemake.wildcards.variant}: accuracy SD {row['accuracy_sd']:.3f}%")
