"""Rule prepare_data: generate or read one dataset and cache it as a checksummed tensor file."""

from runvar.data import prepare_dataset
from runvar.io import log_to

with log_to(snakemake.log[0]) as log:
    dataset = snakemake.wildcards.dataset
    checksum = prepare_dataset(dataset, snakemake.output[0], **snakemake.params.options)
    log(f"prepared {dataset} -> {snakemake.output[0]} (sha256 {checksum})")
