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
