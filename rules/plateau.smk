# Every recipe a table uses is checked against docs/protocol.md's plateau rule: the same seeds trained
# for twice the epochs (derived setups {recipe}.epochs{2E}, see runvar.studies.plateau_plan)
# must change the mean test accuracy by less than plateau.max_change points.


rule plateau_check:
    input:
        unpack(plateau_inputs),
    output:
        OWN_PLATEAU_JSON,
    params:
        variant=PLANS["plateau"].detail["variant"],
        max_change=PLANS["plateau"].detail["max_change"],
        setups=lambda wc: [SETUPS[wc.setup], SETUPS[PLANS["plateau"].detail["doubled"][wc.setup]]],
    log:
        "results/logs/plateau/{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/plateau_check.py"


rule plateau_pooled:
    input:
        lambda wc: [OWN_PLATEAU_JSON.format(setup=s) for s in plateau_pool_of(wc.setup)],
    output:
        PLATEAU_JSON,
    params:
        pool=lambda wc: PLANS["plateau"].detail["pool_of"].get(wc.setup),
    log:
        "results/logs/plateau/{setup}.pooled.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/plateau_pooled.py"


rule plateau_table:
    input:
        sorted(PLATEAU_JSON.format(setup=s) for s in PLANS["plateau"].detail["doubled"]),
    output:
        csv=report(
            PLATEAU_FILES["csv"],
            caption="captions/plateau_table.rst",
            category=REPORT["convergence"],
            subcategory="plateau checks",
        ),
        md=PLATEAU_FILES["md"],
        png=report(
            PLATEAU_FILES["png"],
            caption="captions/plateau_figure.rst",
            category=REPORT["convergence"],
            subcategory="plateau checks",
        ),
        pdf=PLATEAU_FILES["pdf"],
    log:
        "results/logs/tables/plateau.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/plateau_table.py"
