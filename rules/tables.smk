rule sources_table:
    input:
        sources_metrics,
    output:
        csv=report(
            "results/tables/sources_{setup}.csv",
            caption="captions/sources_table.rst",
            category="Sources of nondeterminism",
            subcategory="{setup}",
        ),
        md="results/tables/sources_{setup}.md",
        claims_csv=report(
            "results/claims/sources_{setup}.csv",
            caption="captions/sources_claims.rst",
            category="Sources of nondeterminism",
            subcategory="{setup}",
        ),
        claims_md="results/claims/sources_{setup}.md",
    log:
        "results/logs/tables/sources_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/sources_table.py"


rule sources_figure:
    input:
        sources_metrics,
    output:
        png=report(
            "results/figures/sources_{setup}.png",
            caption="captions/sources_figure.rst",
            category="Sources of nondeterminism",
            subcategory="{setup}",
        ),
        pdf="results/figures/sources_{setup}.pdf",
    log:
        "results/logs/figures/sources_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/sources_figure.py"
