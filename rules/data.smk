rule prepare_data:
    output:
        DATA_NPZ,
    params:
        options=lambda wc: CFG["datasets"][wc.dataset],
    log:
        "results/logs/data/{dataset}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/prepare_data.py"


rule prepare_check_set:
    output:
        CHECK_SET_NPZ,
    params:
        options=lambda wc: PLANS["plateau"].detail["check_sets"][wc.dataset],
    log:
        "results/logs/data/check_{dataset}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/prepare_check_set.py"
