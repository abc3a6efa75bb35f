"""Rule language_metrics: the metrics row of one language (setup, variant), with its plateau check.
Fails (DeterminismError) when the runs of `none` are not bitwise identical."""

from runvar.io import load_json, log_to, save_json
from runvar.language.runs import variant_metrics
from runvar.plateau import with_plateau

with log_to(snakemake.log[0]) as log:
    row = variant_metrics(snakemake.wildcards.variant, snakemake.input.predictions, snakemake.input.records,
                          **snakemake.params.bootstrap, allow_pooling=snakemake.params.allow_pooling)
    row = with_plateau(row, load_json(snakemake.input.plateau))
    save_json(snakemake.output[0], row)
    log(f"{snakemake.wildcards.setup}/{snakemake.wildcards.variant}: PPL {row['ppl_mean']:.3f}, "
        f"SD {row['ppl_sd']:.4f}, disagreement {row['pairwise_disagreement']:.2f}%")
