"""Rule reduction_rows_table: one variability row per planned (setup, variant, runs)."""

from runvar.io import log_to
from runvar.reduction.ensembles import frame_markdown
from runvar.reduction.rows import row_table_frame
from runvar.plateau import load_plateau
from runvar.tables import add_convergence, write_table

with log_to(snakemake.log[0]) as log:
    rows, paths, groups = snakemake.params.rows, list(snakemake.input.predictions), []
    for spec in rows:
        groups.append(paths[: spec["runs"]])
        paths = paths[spec["runs"]:]
    frame = row_table_frame(rows, groups, snakemake.params.bootstrap)
    frame = add_convergence(frame, snakemake.params.recipes, load_plateau(snakemake.input.plateau))
    notes = "Settings: " + "; ".join(f"{s['label']} = runs 1..{s['runs']} of {s['setup']}/{s['variant']}" for s in rows) + ".\n"
    title = f"{snakemake.params.title}: {snakemake.wildcards.setup}"
    write_table(frame, frame_markdown(frame, title, notes), snakemake.output.csv, snakemake.output.md)
    log(frame.to_string())
