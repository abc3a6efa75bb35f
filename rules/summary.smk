# The findings of the study (README, "What the quick study finds"), rendered by code from the
# tables and claims of the first sources setup: results/summary.json and results/findings.md.


rule summary:
    input:
        **summary_inputs(),
    output:
        **SUMMARY_FILES,
    params:
        setup=SUMMARY_SETUP,
    log:
        "results/logs/summary.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/summary.py"
