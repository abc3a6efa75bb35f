rule variant_metrics:
    input:
        predictions=lambda wc: run_files(wc.setup, wc.variant, "predictions.npz"),
        records=lambda wc: run_files(wc.setup, wc.variant, "run.json"),
        plateau=lambda wc: plateau_files([wc.setup]),
    output:
        METRICS_JSON,
    params:
        bootstrap=BOOTSTRAP,
        allow_pooling=ALLOW_POOLING,
        check_off=lambda wc: wc.setup in UNCHECKED,
    log:
        "results/logs/metrics/{setup}/{variant}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/variant_metrics.py"


# SD Table 6's snapshot rows: snapshot ensembles of the `all` runs of {setup}.cycles{N}.
ruleorder: snapshot_metrics > variant_metrics


rule snapshot_metrics:
    input:
        predictions=lambda wc: run_files(**{**snapshot_spec(wc.setup), "name": "predictions.npz"}),
        records=lambda wc: run_files(**{**snapshot_spec(wc.setup), "name": "run.json"}),
        plateau=lambda wc: plateau_files([snapshot_spec(wc.setup)["setup"]]),
    output:
        METRICS_JSON.replace("{variant}", "snapshot"),
    params:
        bootstrap=BOOTSTRAP,
        allow_pooling=ALLOW_POOLING,
    log:
        "results/logs/metrics/{setup}/snapshot.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/snapshot_metrics.py"
