# Snapp & Shamir's synthetic irreproducibility study (docs/protocol.md, "Synthetic irreproducibility").
# One job per setting (all its pairs, windows and init modes trained together), then one
# summary job writing every figure's table and plot. Everything comes from the study's plan,
# runvar.synthetic.plan: PLANS["synthetic"], made in common.smk from the validated config (so
# --config overrides arrive typed); included without common.smk, these rules make that one plan
# from the config with its --config strings read as YAML.
from pathlib import Path

from runvar.config import coerce_overrides, load_schema
from runvar.studies import REPORT_CATEGORIES as REPORT
from runvar.synthetic.plan import SETTING_JSON as SYNTHETIC_SETTING_JSON, figure_files
from runvar.synthetic.plan import plan as synthetic_plan

if "PLANS" not in globals():
    _SCHEMA = load_schema(Path(workflow.current_basedir).parent / "config" / "schema.yaml")
    PLANS = {"synthetic": synthetic_plan(coerce_overrides(config, _SCHEMA))}
SYNTHETIC_PLAN = PLANS["synthetic"]
SYNTHETIC_SETTINGS = SYNTHETIC_PLAN.detail["settings"]
SYNTHETIC_FIGURES = SYNTHETIC_PLAN.detail["figures"]
SYNTHETIC_RESOURCES = SYNTHETIC_PLAN.detail["resources"]


def synthetic_outputs(kind, ext):
    """The summary's files of one kind (tables or figures) and extension, one per figure."""
    return figure_files(SYNTHETIC_FIGURES, kind, ext)
