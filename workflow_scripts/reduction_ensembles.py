"""Rule reduction_ensembles: snapshot vs vanilla ensembles (SD Table 5), with the reduction %."""

from runvar.io import log_to
from runvar.reduction.ensembles import ensemble_rows, frame_markdown, reduction_frame
from runvar.runs import load_plateau
from runvar.tables import add_convergence, write_table

with log_to(snakemake.log[0]) as log:
    plan = snakemake.params.plan
    rows = ensemble_rows(snakemake.input.pool, snakemake.input.snapshot, plan["sizes"],
                         snakemake.params.bootstrap, plan["snapshot"]["label"])
    single = dict(rows)["Vanilla (N=1)"] if 1 in plan["sizes"] else None
    pool_recipe, snapshot_recipe = snakemake.params.recipes
    frame = add_convergence(reduction_frame(rows, single), [snapshot_recipe] + [pool_recipe] * (len(rows) - 1),
                            load_plateau(snakemake.input.plateau))
    title = f"Snapshot vs vanilla ensembles: {snakemake.wildcards.setup}, variant {plan['pool']['variant']}"
    notes = (f"Snapshot: {plan['snapshot']['runs']} runs of {plan['snapshot']['setup']}, each the mean "
             f"logits of its cycle-end snapshots. Vanilla (N): disjoint groups of N of the first "
             f"{plan['pool']['runs']} runs of {plan['pool']['setup']}/{plan['pool']['variant']}.\n")
    write_table(frame, frame_markdown(frame, title, notes), snakemake.output.csv, snakemake.output.md)
    log(frame.to_string())
