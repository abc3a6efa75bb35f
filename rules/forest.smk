# Every claim test in one picture (runvar.forest): the forest plot of the claims CSVs of every
# study (sources, reduction, language), which opens the report and the README's findings.

from runvar.forest import FOREST_FILES, claims_files


rule forest:
    input:
        claims_files(PLANS),
    output:
        png=report(
            FOREST_FILES["png"],
            caption="captions/forest.rst",
            category=REPORT["verdicts"],
        ),
        pdf=FOREST_FILES["pdf"],
        html=FOREST_FILES["html"],
    log:
        "results/logs/figures/forest.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/forest_figure.py"
