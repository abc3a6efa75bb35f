# Weight-selection study (SM): accuracy/SD table with the SD reduction against learned weights,
# SM's Figs 1 and 2, parameter/memory counts, and the SD protocol on one selection model.
# Training and per-variant metrics come from the ordinary rules (train.smk, metrics.smk).


if SELECTION:

    rule selection_table:
        input:
            predictions=selection_predictions,
            plateau=plateau_files([group["setup"] for group in selection_groups()]),
        output:
            csv=report(
                "results/tables/selection_accuracy.csv",
                caption="captions/selection_table.rst",
                category=REPORT["selection"],
                subcategory="accuracy and SD",
            ),
            md="results/tables/selection_accuracy.md",
        params:
            groups=selection_groups(),
            recipes=[recipe_of(group["setup"]) for group in selection_groups()],
            runs=SELECTION["runs"],
            bootstrap=BOOTSTRAP,
        log:
            "results/logs/selection/table.log",
        benchmark:
            "results/benchmarks/selection/table.tsv"
        resources:
            **resources_for("default"),
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/selection_table.py"

    rule selection_figures:
        input:
            "results/tables/selection_accuracy.csv",
        output:
            accuracy_png=report(
                "results/figures/selection_accuracy.png",
                caption="captions/selection_accuracy_figure.rst",
                category=REPORT["selection"],
                subcategory="accuracy and SD",
            ),
            accuracy_pdf="results/figures/selection_accuracy.pdf",
            sd_png=report(
                "results/figures/selection_sd.png",
                caption="captions/selection_sd_figure.rst",
                category=REPORT["selection"],
                subcategory="accuracy and SD",
            ),
            sd_pdf="results/figures/selection_sd.pdf",
        log:
            "results/logs/selection/figures.log",
        resources:
            **resources_for("default"),
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/selection_figures.py"

    rule selection_memory:
        input:
            selection_dataset,
        output:
            csv=report(
                "results/tables/selection_memory.csv",
                caption="captions/selection_memory.rst",
                category=REPORT["selection"],
                subcategory="memory",
            ),
            md="results/tables/selection_memory.md",
        params:
            models=SELECTION["models"],
            ks=SELECTION["ks"],
        log:
            "results/logs/selection/memory.log",
        resources:
            **resources_for("default"),
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/selection_memory.py"


if SELECTION and SELECTION.get("protocol"):

    rule selection_protocol:
        input:
            selection_protocol_metrics,
        output:
            csv=report(
                "results/tables/selection_protocol.csv",
                caption="captions/selection_protocol.rst",
                category=REPORT["selection"],
                subcategory="SD protocol",
            ),
            md="results/tables/selection_protocol.md",
        params:
            rows=selection_protocol_rows(),
        log:
            "results/logs/selection/protocol.log",
        resources:
            **resources_for("default"),
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/selection_protocol.py"
