rule variant_metrics:
    input:
        predictions=lambda wc: run_files(wc.setup, wc.variant, "predictions.npz"),
        records=lambda wc: run_files(wc.setup, wc.variant, "run.json"),
        plateau=lambda wc: plateau_files([wc.setup]),
    output:
        "results/metrics/{setup}/{variant}.json",
    params:
        bootstrap=BOOTSTRAP,
    log:
        "results/logs/metrics/{setup}/{variant}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/variant_metrics.py"
