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
                selection_file("tables", "accuracy", "csv"),
                caption="captions/selection_table.rst",
                category=REPORT["selection"],
                subcategory="accuracy and SD",
            ),
            md=selection_file("tables", "accuracy", "md"),
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
            selection_file("tables", "accuracy", "csv"),
        output:
            accuracy_png=report(
                selection_file("figures", "accuracy", "png"),
                caption="captions/selection_accuracy_figure.rst",
                category=REPORT["selection"],
                subcategory="accuracy and SD",
            ),
            accuracy_pdf=selection_file("figures", "accuracy", "pdf"),
            sd_png=report(
                selection_file("figures", "sd", "png"),
                caption="captions/selection_sd_figure.rst",
                category=REPORT["selection"],
                subcategory="accuracy and SD",
            ),
            sd_pdf=selection_file("figures", "sd", "pdf"),
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
                selection_file("tables", "memory", "csv"),
                caption="captions/selection_memory.rst",
                category=REPORT["selection"],
                subcategory="memory",
            ),
            md=selection_file("tables", "memory", "md"),
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
                selection_file("tables", "protocol", "csv"),
                caption="captions/selection_protocol.rst",
                category=REPORT["selection"],
                subcategory="SD protocol",
            ),
            md=selection_file("tables", "protocol", "md"),
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
