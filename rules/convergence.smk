# Training length as a study of its own (runvar.convergence): per base setup, one table of
# variability per (training length, variant) with the bitflip/init and bitflip/all ratios, and
# one figure against the training length.


rule convergence_table:
    input:
        convergence_metrics,
    output:
        csv=report(
            "results/tables/convergence_{setup}.csv",
            caption="captions/convergence_table.rst",
            category=REPORT["convergence"],
            subcategory="training length {setup}",
        ),
        md="results/tables/convergence_{setup}.md",
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
        "results/tables/convergence_{setup}.csv",
    output:
        png=report(
            "results/figures/convergence_{setup}.png",
            caption="captions/convergence_figure.rst",
            category=REPORT["convergence"],
            subcategory="training length {setup}",
        ),
        pdf="results/figures/convergence_{setup}.pdf",
    log:
        "results/logs/figures/convergence_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/convergence_figure.py"
