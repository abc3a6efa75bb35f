rule sources_table:
    input:
        sources_metrics,
    output:
        csv=report(
            "results/tables/sources_{setup}.csv",
            caption="captions/sources_table.rst",
            category=REPORT["sources"],
            subcategory="{setup}",
        ),
        md="results/tables/sources_{setup}.md",
        claims_csv="results/claims/sources_{setup}.csv",
        claims_md="results/claims/sources_{setup}.md",
        claims_html=report(
            "results/claims/sources_{setup}.html",
            caption="captions/sources_claims.rst",
            category=REPORT["claims"],
            subcategory="{setup}",
        ),
    params:
        bootstrap=BOOTSTRAP,
        claims=CLAIMS,
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
            category=REPORT["sources"],
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


rule sources_study_table:
    input:
        study_metrics,
    output:
        csv=report(
            "results/tables/{study}.csv",
            caption="captions/study_table.rst",
            category=REPORT["tables"],
        ),
        md="results/tables/{study}.md",
    log:
        "results/logs/tables/{study}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/sources_study_table.py"


rule sources_over_time:
    input:
        unpack(over_time_histories),
    output:
        png=report(
            "results/figures/bitflip_over_time.png",
            caption="captions/bitflip_over_time.rst",
            category=REPORT["tables"],
        ),
        pdf="results/figures/bitflip_over_time.pdf",
    log:
        "results/logs/figures/bitflip_over_time.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/sources_over_time.py"
