"""Rule language_report: the language table, the verdicts on claims 1 and 2, and the figure."""

from runvar.claims import claims_frame, claims_markdown
from runvar.io import load_json, log_to
from runvar.language.report import language_claims, language_figure, language_frame, language_markdown
from runvar.plots import save_figure
from runvar.sources.claims import bases_note
from runvar.tables import write_table

with log_to(snakemake.log[0]) as log:
    setup, out = snakemake.wildcards.setup, snakemake.output
    rows = {row["variant"]: row for row in map(load_json, snakemake.input.metrics)}
    check = load_json(snakemake.input.plateau)
    frame = language_frame(rows)
    write_table(frame, language_markdown(frame, f"Language modelling: {setup}", check), out.csv, out.md)
    bootstrap = snakemake.params.bootstrap
    bases = [load_json(path) for path in snakemake.input.bases]
    claims, tests = language_claims(rows, snakemake.params.claims["margin"], bootstrap["resamples"], bootstrap["seed"],
                                    bases)
    notes = ("\nStatistic: ratio of a variability measure between two variants; 95% CI: bootstrap over runs, "
             "each variant's runs resampled independently. Claim 1 tests equivalence (the whole interval inside "
             "the margin); claim 2 tests that bitflip reaches the margin's lower end.\n")
    if bases:
        notes += "\n" + bases_note([rows["bitflip"], *bases], "ppl_sd", "PPL SD")
    write_table(claims_frame(claims, tests), claims_markdown(f"Claims 1 and 2 (language): {setup}", claims, tests, notes),
                out.claims_csv, out.claims_md, out.claims_html)
    save_figure(language_figure(rows, check, f"Language modelling: {setup}"), out.png, out.pdf)
    for claim in claims:
        log(f"claim {claim['claim']}: {claim['verdict']} ({claim['summary']})")
