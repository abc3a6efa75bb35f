"""Rule selection_table: mean accuracy, accuracy SD and SD reduction vs learned weights per (model, k)."""

from runvar.io import log_to
from runvar.plateau import load_plateau
from runvar.selection.report import accuracy_frame, accuracy_markdown, gate_on_plateau, run_accuracies
from runvar.tables import add_convergence, write_table

with log_to(snakemake.log[0]) as log:
    runs = snakemake.params.runs
    paths = list(snakemake.input.predictions)
    accs = [run_accuracies(paths[i * runs : (i + 1) * runs]) for i in range(len(snakemake.params.groups))]
    bootstrap = snakemake.params.bootstrap
    frame = accuracy_frame(snakemake.params.groups, accs, bootstrap["resamples"], bootstrap["seed"])
    frame = gate_on_plateau(add_convergence(frame, snakemake.params.recipes, load_plateau(snakemake.input.plateau)))
    markdown = accuracy_markdown(frame, "Weight selection vs learned weights (SM Figs 1, 2)")
    write_table(frame, markdown, snakemake.output.csv, snakemake.output.md)
    log(markdown)
