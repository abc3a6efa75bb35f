"""Rule prepare_check_set: a data set's check set for the plateau checks, as a checksummed file."""

from runvar.data import prepare_check_set
from runvar.io import log_to

with log_to(snakemake.log[0]) as log:
    dataset, options = snakemake.wildcards.dataset, snakemake.params.options
    checksum = prepare_check_set(dataset, snakemake.output[0], options["examples"], options["seed"])
    log(f"check set of {dataset}: {options['examples']} examples, seed {options['seed']} -> "
        f"{snakemake.output[0]} (sha256 {checksum})")
