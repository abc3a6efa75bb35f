"""Training rules: train the job's seeds of one (setup, variant), one run directory each."""

from runvar.execution import pin_job

pin_job(snakemake)  # execution.cpu_isa: before anything imports torch

from pathlib import Path

from runvar.data import load_dataset
from runvar.io import log_to
from runvar.runs import train_and_save

with log_to(snakemake.log[0]) as log:
    data = load_dataset(snakemake.input.data)
    for seed, predictions in zip(snakemake.params.seeds, snakemake.output.predictions):
        train_and_save(
            snakemake.wildcards.setup,
            snakemake.params.setup,
            snakemake.wildcards.variant,
            seed,
            data,
            Path(predictions).parent,
            log=log,
        )
