"""Rule summary: the study's findings from its tables and claims (results/summary.json, .md)."""

from pathlib import Path

from runvar.io import log_to, save_json, write_atomic
from runvar.summary import collect, findings_markdown

with log_to(snakemake.log[0]) as log:
    summary = collect(snakemake.params.setup, dict(snakemake.input.items()))
    save_json(snakemake.output.json, summary)
    text = findings_markdown(summary)
    write_atomic(snakemake.output.md, lambda tmp: Path(tmp).write_text(text))
    log(text)
