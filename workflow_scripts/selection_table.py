"""Rule selection_table: mean accuracy, accuracy SD and SD reduction vs learned weights per (model, k)."""

from runvar.logs import log_to
from runvar.selection.report import accuracy_frame, accuracy_markdown, run_accuracies
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    runs = snakemake.params.runs
    paths = list(snakemake.input.predictions)
    accs = [run_accuracies(paths[i * runs : (i + 1) * runs]) for i in range(len(snakemake.params.groups))]
    bootstrap = snakemake.params.bootstrap
    frame = accuracy_frame(snakemake.params.groups, accs, bootstrap["resamples"], bootstrap["seed"])
    markdown = accuracy_markdown(frame, "Weight selection vs learned weights (SM Figs 1, 2)")
    write_table(frame, markdown, snakemake.output.csv, snakemake.output.md)
    log(markdown)
