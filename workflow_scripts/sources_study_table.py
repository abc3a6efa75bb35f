"""Rule study_table: one (setup, variant) table for the depth or architectures study."""

from runvar.io import load_json
from runvar.io import log_to
from runvar.sources.tables import study_frame, study_markdown
from runvar.tables import write_table

TITLES = {
    "depth": "Instability and depth (SD Table 8)",
    "architectures": "Variability across architectures (SD Table 6)",
    "generalization": "Generalization: CIFAR-100 and ResNet-34 (RE Table 10)",
}

with log_to(snakemake.log[0]) as log:
    study = snakemake.wildcards.study
    rows = {}
    for path in snakemake.input:
        row = load_json(path)
        rows[(row["setup"], row["variant"])] = row
    frame = study_frame(rows)
    write_table(frame, study_markdown(frame, TITLES[study]), snakemake.output.csv, snakemake.output.md)
    log(f"{study}: {len(frame)} rows")
