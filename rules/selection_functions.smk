# Weight-selection study (SM; STUDY.md, "Weight selection"): config -> generated setups, inputs
# and targets. Functions only (the rules are in selection.smk). The generated setups join
# SETUPS here, at parse time, so the ordinary training and metrics rules train and measure them.
from runvar.selection_study import (
    STUDY_VARIANT,
    protocol_rows,
    resolve_study_setups,
    study_groups,
)

SELECTION = STUDIES.get("selection")
SELECTION_SETUPS = resolve_study_setups(CFG) if SELECTION else {}
SETUPS.update(SELECTION_SETUPS)


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
    return f"results/data/{dataset}.npz"


def selection_protocol_rows():
    return protocol_rows(SELECTION)


def selection_protocol_metrics(wildcards):
    """The per-variant metrics rows (rule variant_metrics) behind the protocol table."""
    return [f"results/metrics/{row['setup']}/{row['variant']}.json" for row in selection_protocol_rows()]


def selection_targets():
    """Tables and figures of the study, and the protocol table when a protocol is configured."""
    if not SELECTION:
        return []
    targets = [
        f"results/{kind}/selection_{name}.{ext}"
        for kind, names, exts in (
            ("tables", ("accuracy", "memory"), ("csv", "md")),
            ("figures", ("accuracy", "sd"), ("png", "pdf")),
        )
        for name in names
        for ext in exts
    ]
    if SELECTION.get("protocol"):
        targets += [f"results/tables/selection_protocol.{ext}" for ext in ("csv", "md")]
    return targets
