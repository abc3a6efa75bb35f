# Snapp & Shamir's synthetic irreproducibility study (STUDY.md, "Synthetic irreproducibility").
# One job per setting (all its pairs, windows and init modes trained together), then one
# summary job writing every figure's table and plot. Reads config["synthetic"]; no science here.
import re

from runvar.synthetic.config import resolve_block

SYNTHETIC = config.get("synthetic") or {}
SYNTHETIC_SETTINGS = resolve_block(SYNTHETIC) if SYNTHETIC else {}
SYNTHETIC_FIGURES = SYNTHETIC.get("figures") or {}
SYNTHETIC_RESOURCES = {"runtime": 30, "mem_mb": 2000, "cpus_per_task": 1, **SYNTHETIC.get("resources", {})}
SYNTHETIC_SETTING_JSON = "results/synthetic/settings/{setting}.json"


def synthetic_outputs(kind, ext):
    """The summary's files of one kind (table or figure) and extension, one per figure."""
    return [f"results/{kind}/synthetic_{figure}.{ext}" for figure in SYNTHETIC_FIGURES]


def synthetic_targets():
    """Every setting's results and, when figures are configured, every table and figure."""
    targets = [SYNTHETIC_SETTING_JSON.format(setting=name) for name in SYNTHETIC_SETTINGS]
    for kind, exts in (("tables", ("csv", "md")), ("figures", ("png", "pdf"))):
        for ext in exts:
            targets += synthetic_outputs(kind, ext)
    return targets


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
                       category="Synthetic irreproducibility", subcategory="tables")
                for path in synthetic_outputs("tables", "csv")
            ],
            md=synthetic_outputs("tables", "md"),
            png=[
                report(path, caption="captions/synthetic_figure.rst",
                       category="Synthetic irreproducibility", subcategory="figures")
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
