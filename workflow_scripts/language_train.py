"""Rule language_train_seeds_*: train a chunk of runs of one language (setup, variant)."""

from pathlib import Path

from runvar.io import log_to
from runvar.language.corpus import load_corpus
from runvar.language.runs import train_and_save

with log_to(snakemake.log[0]) as log:
    setup_name, variant = snakemake.wildcards.key.split("/")
    corpus = load_corpus(snakemake.input.corpus)
    for seed, path in zip(snakemake.params.seeds, snakemake.output.records):
        train_and_save(setup_name, snakemake.params.setup, variant, seed, corpus, Path(path).parent, log)
