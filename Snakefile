# runvar: run-to-run variability of neural network training, as one Snakemake workflow.
# The default config is the quick study (MNIST-1D, CPU); see README.md.


# A config file means what it says: `--configfile X` runs the study X describes (a file that
# builds on another names it under `extends:`, resolved in rules/common.smk); the default
# study's config/config.yaml is read only when no config file is given.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "rules/captions/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/metrics.smk"
include: "rules/sources.smk"
include: "rules/reduction_functions.smk"
include: "rules/reduction.smk"
include: "rules/synthetic_functions.smk"
include: "rules/synthetic.smk"
include: "rules/selection_functions.smk"
include: "rules/selection.smk"
include: "rules/convergence_functions.smk"
include: "rules/convergence.smk"
include: "rules/plateau.smk"
include: "rules/language_functions.smk"
include: "rules/language.smk"
include: "rules/summary.smk"
include: "rules/forest.smk"


rule all:
    input:
        all_targets(),
    default_target: True
