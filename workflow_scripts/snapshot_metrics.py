"""Rule snapshot_metrics: the `snapshot` row of a base setup (SD Table 6): the metrics of the
snapshot ensembles of {setup}.cycles{N}'s `all` runs, with that recipe's plateau check."""

from runvar.io import log_to, save_json
from runvar.reduction.ensembles import snapshot_ensemble_stack
from runvar.plateau import load_plateau, with_plateau
from runvar.runs import variant_metrics

with log_to(snakemake.log[0]) as log:
    row = variant_metrics(
        "snapshot",
        snakemake.input.predictions,
        snakemake.input.records,
        **snakemake.params.bootstrap,
        snapshot_of=snakemake.wildcards.setup,
        stack=snapshot_ensemble_stack(snakemake.input.predictions),
        allow_pooling=snakemake.params.allow_pooling,
    )
    row = with_plateau(row, next(iter(load_plateau(snakemake.input.plateau).values()), None))
    save_json(snakemake.output[0], row)
    log(f"{snakemake.wildcards.setup}/snapshot ({row['trained_as']}): accuracy SD {row['accuracy_sd']:.3f}%")
