"""Rule cka: mean linear CKA per (variant, layer) between pairs of saved runs (SD Fig. 1)."""

from runvar.execution import pin_job

pin_job(snakemake)  # execution.cpu_isa: before anything imports torch

from runvar.reduction.cka import cka_frame, cka_markdown, fixed_subset, runs_layer_cka
from runvar.data import load_dataset
from runvar.io import log_to
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    plan, setup = snakemake.params.plan, snakemake.wildcards.setup
    data = load_dataset(snakemake.input.data)
    subset = fixed_subset(len(data.y_test), plan["examples"], plan["seed"])
    x = data.x_test[subset]
    models, results = list(snakemake.input.models), {}
    for i, variant in enumerate(plan["variants"]):
        paths = models[i * plan["runs"]: (i + 1) * plan["runs"]]
        results[variant] = runs_layer_cka(snakemake.params.setup, x, data.num_classes, paths)
        log(f"{variant}: " + ", ".join(f"{k} {v['mean']:.4f}" for k, v in results[variant].items()))
    frame = cka_frame(results)
    write_table(frame, cka_markdown(frame, f"Linear CKA between runs: {setup} ({len(subset)} test examples)"),
                snakemake.output.csv, snakemake.output.md)
