"""Rule onset_start: the `none` run 1 of a setup trained again, its state at the end of epoch E
kept for the onset runs of switch-on epoch E (checked bitwise against the `none` run 1)."""

from runvar.execution import pin_job

pin_job(snakemake)  # execution.cpu_isa: before anything imports torch

from runvar.data import load_dataset
from runvar.io import log_to
from runvar.runs import save_onset_start

with log_to(snakemake.log[0]) as log:
    save_onset_start(
        snakemake.wildcards.setup,
        snakemake.params.setup,
        int(snakemake.wildcards.epoch),
        load_dataset(snakemake.input.data),
        snakemake.output[0],
        snakemake.input.reference,
        log=log,
    )
