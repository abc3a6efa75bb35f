"""Rule selection_protocol: the SD protocol (sources, bit flip) on a selection model and its learned twin."""

from runvar.io import load_json
from runvar.io import log_to
from runvar.selection.report import protocol_frame, protocol_markdown
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    frame = protocol_frame(snakemake.params.rows, [load_json(path) for path in snakemake.input])
    write_table(frame, protocol_markdown(frame, "SD protocol on weight selection"),
                snakemake.output.csv, snakemake.output.md)
    log(f"{len(frame)} rows")
