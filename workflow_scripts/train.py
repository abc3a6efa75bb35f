"""Training rules: train the job's seeds of one (setup, variant), one run directory each."""

from runvar.execution import pin_job

pin_job(snakemake)  # execution.cpu_isa: before anything imports torch

from pathlib import Path

from runvar.data import load_dataset
from runvar.io import log_to, seed_of_run_dir
from runvar.runs import load_onset_start, train_and_save_runs

run_dirs = [Path(p).parent for p in snakemake.output.predictions]
start = getattr(snakemake.input, "start", None)
with log_to(snakemake.log[0]) as log:
    train_and_save_runs(
        snakemake.wildcards.setup,
        snakemake.params.setup,
        snakemake.wildcards.variant,
        [seed_of_run_dir(d) for d in run_dirs],  # not a param: seeds_per_job retrains nothing
        load_dataset(snakemake.input.data),
        run_dirs,
        log=log,
        stack=int(snakemake.config.get("train", {}).get("stack", 1)),  # speed only: not a param
        start=load_onset_start(start, snakemake.params.onset_start) if start else None,
    )
