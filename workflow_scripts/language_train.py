"""Rule language_train_seeds_*: train a chunk of runs of one language (setup, variant)."""

from pathlib import Path

from runvar.io import log_to, seed_of_run_dir
from runvar.language.corpus import load_corpus
from runvar.language.runs import train_and_save

with log_to(snakemake.log[0]) as log:
    setup_name, variant = snakemake.wildcards.key.split("/")
    corpus = load_corpus(snakemake.input.corpus)
    for run_dir in (Path(p).parent for p in snakemake.output.records):
        train_and_save(setup_name, snakemake.params.setup, variant, seed_of_run_dir(run_dir), corpus, run_dir, log)
