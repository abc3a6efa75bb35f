# Training length as a study of its own (runvar.convergence): per base setup, one table of
# variability per (training length, variant) with the bitflip/init and bitflip/all ratios, and
# one figure against the training length. Its files: runvar.convergence.plan.CONVERGENCE_FILES.


rule convergence_table:
    input:
        convergence_metrics,
    output:
        csv=report(
            CONVERGENCE_FILES["csv"],
            caption="captions/convergence_table.rst",
            category=REPORT["convergence"],
            subcategory="training length {setup}",
        ),
        md=CONVERGENCE_FILES["md"],
    params:
        rows=convergence_rows,
        bootstrap=BOOTSTRAP,
    log:
        "results/logs/tables/convergence_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/convergence_table.py"


rule convergence_figure:
    input:
        CONVERGENCE_FILES["csv"],
    output:
        png=report(
            CONVERGENCE_FILES["png"],
            caption="captions/convergence_figure.rst",
            category=REPORT["convergence"],
            subcategory="training length {setup}",
        ),
        pdf=CONVERGENCE_FILES["pdf"],
    log:
        "results/logs/figures/convergence_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/convergence_figure.py"
