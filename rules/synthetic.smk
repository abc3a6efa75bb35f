# Snapp & Shamir's synthetic study: rules (functions and constants in synthetic_functions.smk).


rule synthetic_setting:
    output:
        json=SYNTHETIC_SETTING_JSON,
    params:
        # The resolved setting: editing one setting reruns only its job.
        setting=lambda wc: SYNTHETIC_SETTINGS[wc.setting],
    log:
        "results/logs/synthetic/setting_{setting}.log",
    benchmark:
        "results/benchmarks/synthetic/setting_{setting}.tsv"
    wildcard_constraints:
        setting="|".join(re.escape(name) for name in SYNTHETIC_SETTINGS) or "(?!)",
    threads: lambda wc: SYNTHETIC_SETTINGS[wc.setting]["threads"]
    resources:
        **SYNTHETIC_RESOURCES,
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/synthetic_setting.py"


if SYNTHETIC_FIGURES:

    rule synthetic_summary:
        input:
            sorted({
                SYNTHETIC_SETTING_JSON.format(setting=name)
                for spec in SYNTHETIC_FIGURES.values()
                for name in spec["settings"]
            }),
        output:
            csv=[
                report(path, caption="captions/synthetic_table.rst",
                       category=REPORT["synthetic"], subcategory="tables")
                for path in synthetic_outputs("tables", "csv")
            ],
            md=synthetic_outputs("tables", "md"),
            png=[
                report(path, caption="captions/synthetic_figure.rst",
                       category=REPORT["synthetic"], subcategory="figures")
                for path in synthetic_outputs("figures", "png")
            ],
            pdf=synthetic_outputs("figures", "pdf"),
        params:
            figures=[
                {"name": name, "title": spec.get("title", name), "settings": list(spec["settings"])}
                for name, spec in SYNTHETIC_FIGURES.items()
            ],
        log:
            "results/logs/synthetic/summary.log",
        benchmark:
            "results/benchmarks/synthetic/summary.tsv"
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/synthetic_summary.py"
