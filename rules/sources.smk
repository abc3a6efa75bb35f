# The sources study (SD Tables 1, 3, 6, 8, Fig 3; RE Tables 4, 10): its files are named by its
# plan, runvar.sources.plan (SOURCES_FILES, STUDY_TABLE_FILES, OVER_TIME_FILES, imported in common.smk).


rule sources_table:
    input:
        rows=sources_metrics,
        bases=bitflip_base_metrics,
    output:
        csv=report(
            SOURCES_FILES["csv"],
            caption="captions/sources_table.rst",
            category=REPORT["sources"],
            subcategory="{setup}",
        ),
        md=SOURCES_FILES["md"],
        claims_csv=SOURCES_FILES["claims_csv"],
        claims_md=SOURCES_FILES["claims_md"],
        claims_html=report(
            SOURCES_FILES["claims_html"],
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
            SOURCES_FILES["png"],
            caption="captions/sources_figure.rst",
            category=REPORT["sources"],
            subcategory="{setup}",
        ),
        pdf=SOURCES_FILES["pdf"],
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
            STUDY_TABLE_FILES["csv"],
            caption="captions/study_table.rst",
            category=REPORT["tables"],
        ),
        md=STUDY_TABLE_FILES["md"],
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
            OVER_TIME_FILES["png"],
            caption="captions/bitflip_over_time.rst",
            category=REPORT["tables"],
        ),
        pdf=OVER_TIME_FILES["pdf"],
    log:
        "results/logs/figures/bitflip_over_time.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/sources_over_time.py"
