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
