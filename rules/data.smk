rule prepare_data:
    output:
        "results/data/{dataset}.npz",
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
