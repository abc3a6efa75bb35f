"""Rule sources_table: the sources table (CSV + Markdown) and the verdicts on claims 1 and 2."""

from runvar.claims import claims_frame, claims_markdown
from runvar.io import load_json, log_to
from runvar.runs import load_metrics_rows
from runvar.sources.claims import bases_note, sources_claims, tail_note
from runvar.sources.tables import sources_frame, sources_markdown
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    setup = snakemake.wildcards.setup
    rows = load_metrics_rows(snakemake.input.rows)
    frame = sources_frame(rows)
    write_table(frame, sources_markdown(frame, f"Sources of nondeterminism: {setup}"),
                snakemake.output.csv, snakemake.output.md)
    bootstrap = snakemake.params.bootstrap
    bases = [load_json(path) for path in snakemake.input.bases]
    claims, tests = sources_claims(rows, snakemake.params.claims["margin"], bootstrap["resamples"], bootstrap["seed"],
                                   bases)
    notes = ("\nStatistic: ratio of a variability measure between two variants; 95% CI: bootstrap over runs "
             "(10,000 resamples by default, each variant's runs resampled independently). Claim 1 tests "
             "equivalence (the whole interval inside the margin); claim 2 tests that bitflip reaches the "
             "margin's lower end. `inconclusive`: the interval is too wide for the margin.\n")
    notes += "\n" + tail_note(rows)
    if bases:
        notes += "\n" + bases_note([rows["bitflip"], *bases])
    write_table(claims_frame(claims, tests), claims_markdown(f"Claims 1 and 2: {setup}", claims, tests, notes),
                snakemake.output.claims_csv, snakemake.output.claims_md, snakemake.output.claims_html)
    for claim in claims:
        log(f"claim {claim['claim']}: {claim['verdict']} ({claim['summary']})")
