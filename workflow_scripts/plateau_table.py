"""Rule plateau_table: every recipe's plateau check as a table and a figure."""

from runvar.io import log_to
from runvar.plots import plateau_figure, save_figure
from runvar.plateau import load_plateau
from runvar.tables import plateau_frame, plateau_markdown, write_table

with log_to(snakemake.log[0]) as log:
    checks = load_plateau(snakemake.input)
    frame = plateau_frame(checks)
    write_table(frame, plateau_markdown(frame, "Plateau check of every recipe"), snakemake.output.csv, snakemake.output.md)
    save_figure(plateau_figure(checks), snakemake.output.png, snakemake.output.pdf)
    log(frame.to_string())
