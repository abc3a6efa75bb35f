# Reducing variability and watching it grow: input helpers over the studies' plan
# (runvar.reduction.plan; its derived setups joined SETUPS in common.smk and are trained by
# rules/train.smk). Functions only; the rules are in rules/reduction.smk.
from runvar.reduction.plan import REDUCTION_FILE, ROW_TABLES, tta_crop_padding

REDUCTION = PLANS["reduction"].detail
TTA_METHODS = list(dict.fromkeys(m for spec in REDUCTION.get("tta", {}).values() for m in spec["methods"]))
TTA_PADDING = tta_crop_padding(STUDIES)


def reduction_file(kind, stem, ext):
    """A file of a reduction rule (runvar.reduction.plan.REDUCTION_FILE), per {setup}."""
    return REDUCTION_FILE.format(kind=kind, stem=stem, setup="{setup}", ext=ext)


def spec_files(spec, name):
    """Files ``name`` of a planned row's runs 1..runs."""
    return run_files(spec["setup"], spec["variant"], name, spec["runs"])


def tta_files(spec, methods):
    return {method: spec_files(spec, f"{method}.npz") for method in methods}


def row_table_rows(wildcards):
    return REDUCTION[wildcards.table][wildcards.setup]


def row_table_inputs(wildcards):
    rows = row_table_rows(wildcards)
    return {
        "predictions": [path for spec in rows for path in spec_files(spec, "predictions.npz")],
        "plateau": plateau_files([spec["setup"] for spec in rows]),
    }


def ensembles_inputs(wildcards):
    plan = REDUCTION["ensembles"][wildcards.setup]
    rows = [plan["pool"]] + ([plan["snapshot"]] if plan["snapshot"] else [])
    return {"pool": spec_files(plan["pool"], "predictions.npz"),
            "snapshot": spec_files(plan["snapshot"], "predictions.npz") if plan["snapshot"] else [],
            "plateau": plateau_files([spec["setup"] for spec in rows])}


def tta_inputs(wildcards):
    plan = REDUCTION["tta"][wildcards.setup]
    inputs = {"pool": spec_files(plan["pool"], "predictions.npz"),
              "plateau": plateau_files([plan["pool"]["setup"]] + ([plan["snapshot"]["setup"]] if plan["snapshot"] else []))}
    for view, paths in tta_files(plan["pool"], plan["methods"]).items():
        inputs[f"pool_{view}"] = paths
    if plan["snapshot"]:
        inputs["snapshot"] = spec_files(plan["snapshot"], "predictions.npz")
        for view, paths in tta_files(plan["snapshot"], plan["methods"]).items():
            inputs[f"snapshot_{view}"] = paths
    return inputs


def cka_inputs(wildcards):
    plan = REDUCTION["cka"][wildcards.setup]
    models = [path for variant in plan["variants"]
              for path in run_files(wildcards.setup, variant, "model.pt", plan["runs"])]
    return {"data": DATA_NPZ.format(dataset=SETUPS[wildcards.setup]["dataset"]), "models": models}


def recipes_of(setups):
    """The recipe (plateau-checked setup) of each setup, for the tables' Converged column."""
    return [recipe_of(s) for s in setups]
