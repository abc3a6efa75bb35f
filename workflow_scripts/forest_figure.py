"""Rule forest: every claim test of the claims CSVs as one forest plot (PNG, PDF, and the PNG
in an HTML fragment for the report's front page)."""

from pathlib import Path

from runvar.forest import forest_figure, forest_html, load_claim_tests
from runvar.io import log_to, write_atomic
from runvar.plots import save_figure

with log_to(snakemake.log[0]) as log:
    tests = load_claim_tests(snakemake.input)
    save_figure(forest_figure(tests), snakemake.output.png, snakemake.output.pdf)
    fragment = forest_html(snakemake.output.png)
    write_atomic(snakemake.output.html, lambda tmp: Path(tmp).write_text(fragment))
    for test in tests:
        log(f"{test['study']} claim {test['claim']}: {test['test']}, {test['measure']} {test['statistic']:.3g} "
            f"[{test['ci95_low']:.3g}, {test['ci95_high']:.3g}] against {test['margin']}: {test['verdict']}")
