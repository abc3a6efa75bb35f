"""Rule reduction_ensembles: snapshot vs vanilla ensembles (SD Table 5), with the reduction %."""

from runvar.io import log_to
from runvar.reduction.ensembles import ensemble_rows, frame_markdown, reduction_frame
from runvar.plateau import load_plateau
from runvar.tables import add_convergence, write_table

with log_to(snakemake.log[0]) as log:
    plan = snakemake.params.plan
    snapshot = plan["snapshot"]
    rows = ensemble_rows(snakemake.input.pool, snakemake.input.snapshot, plan["sizes"],
                         snakemake.params.bootstrap, snapshot["label"] if snapshot else "Snapshot")
    single = dict(rows)["Vanilla (N=1)"] if 1 in plan["sizes"] else None
    pool_recipe, *snapshot_recipe = snakemake.params.recipes
    frame = add_convergence(reduction_frame(rows, single), snapshot_recipe + [pool_recipe] * len(plan["sizes"]),
                            load_plateau(snakemake.input.plateau))
    kind = "Snapshot vs vanilla ensembles" if snapshot else "Vanilla ensembles"
    title = f"{kind}: {snakemake.wildcards.setup}, variant {plan['pool']['variant']}"
    notes = (f"Snapshot: {snapshot['runs']} runs of {snapshot['setup']}, each the mean logits of its "
             f"cycle-end snapshots. " if snapshot else "No snapshot row (studies.ensembles.cycles unset). ")
    notes += (f"Vanilla (N): disjoint groups of N of the first {plan['pool']['runs']} runs of "
              f"{plan['pool']['setup']}/{plan['pool']['variant']}.\n")
    write_table(frame, frame_markdown(frame, title, notes), snakemake.output.csv, snakemake.output.md)
    log(frame.to_string())
