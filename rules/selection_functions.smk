# Weight-selection study (SM; docs/protocol.md, "Weight selection"): input helpers over the study's plan
# (runvar.selection.plan). Functions only (the rules are in selection.smk). Its generated
# setups joined SETUPS in common.smk, so the ordinary training and metrics rules train them.
from runvar.selection.plan import SELECTION_FILE, STUDY_VARIANT, protocol_rows, study_groups

SELECTION = PLANS["selection"].detail
SELECTION_SETUPS = PLANS["selection"].setups


def selection_file(kind, name, ext):
    """A file of the study (runvar.selection.plan.SELECTION_FILE)."""
    return SELECTION_FILE.format(kind=kind, name=name, ext=ext)


def selection_groups():
    """The (model, k) groups of the main study, each with its setup name."""
    return study_groups(SELECTION)


def selection_predictions(wildcards):
    """Predictions of runs 1..R (variant ``all``) of every group, group after group."""
    return [
        path
        for group in selection_groups()
        for path in run_files(group["setup"], STUDY_VARIANT, "predictions.npz", SELECTION["runs"])
    ]


def selection_dataset(wildcards):
    """The prepared dataset the study's models read (one for every group)."""
    dataset = next(iter(SELECTION_SETUPS.values()))["dataset"]
    return DATA_NPZ.format(dataset=dataset)


def selection_protocol_rows():
    return protocol_rows(SELECTION)


def selection_protocol_metrics(wildcards):
    """The per-variant metrics rows (rule variant_metrics) behind the protocol table."""
    return [METRICS_JSON.format(setup=row["setup"], variant=row["variant"]) for row in selection_protocol_rows()]
