"""Rule sources_table: the sources table (CSV + Markdown) and the verdicts on claims 1 and 2."""

import pandas as pd

from runvar.sources.claims import sources_claims
from runvar.logs import log_to
from runvar.runs import load_metrics_rows
from runvar.sources.tables import sources_frame, sources_markdown
from runvar.tables import markdown_table, write_table

with log_to(snakemake.log[0]) as log:
    setup = snakemake.wildcards.setup
    rows = load_metrics_rows(snakemake.input)
    frame = sources_frame(rows)
    write_table(frame, sources_markdown(frame, f"Sources of nondeterminism: {setup}"),
                snakemake.output.csv, snakemake.output.md)
    claims = sources_claims(rows)
    body = [[c["claim"], c["verdict"], c["statistic"]] for c in claims]
    write_table(pd.DataFrame(claims), f"## Claims: {setup}\n\n" + markdown_table(["Claim", "Verdict", "Statistic"], body),
                snakemake.output.claims_csv, snakemake.output.claims_md)
    for claim in claims:
        log(f"{claim['verdict']}: {claim['claim']} ({claim['statistic']})")
