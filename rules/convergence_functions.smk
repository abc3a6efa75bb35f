# Training length as a study of its own: input helpers over the study's plan
# (runvar.convergence.plan; its derived setups {setup}.epochs{E} joined SETUPS in common.smk and
# are trained by rules/train.smk, their metrics rows by rules/metrics.smk). Functions only; the
# rules are in rules/convergence.smk.

from runvar.convergence.plan import CONVERGENCE_FILES

CONVERGENCE = PLANS["convergence"].detail


def convergence_rows(wildcards):
    """The planned (length, variant) rows of a base setup, lengths outer, variants inner."""
    return CONVERGENCE[wildcards.setup]["rows"]


def convergence_metrics(wildcards):
    """The metrics row of every planned (length, variant), in the order of convergence_rows."""
    return [METRICS_JSON.format(setup=row["setup"], variant=row["variant"]) for row in convergence_rows(wildcards)]
