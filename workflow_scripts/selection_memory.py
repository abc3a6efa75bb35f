"""Rule selection_memory: parameters and bytes stored per (model, k), measured from built models."""

from runvar.data import load_dataset
from runvar.io import log_to
from runvar.selection.memory import memory_frame, memory_markdown, memory_table
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    data = load_dataset(snakemake.input[0])
    rows = memory_table(snakemake.params.models, snakemake.params.ks, data.input_shape, data.num_classes)
    frame = memory_frame(rows)
    title = f"Parameters and memory per model and k (input {'x'.join(map(str, data.input_shape))})"
    write_table(frame, memory_markdown(frame, title), snakemake.output.csv, snakemake.output.md)
    log(f"{len(rows)} rows for input shape {data.input_shape}")
