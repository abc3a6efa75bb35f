"""Rule synthetic_setting: train and evaluate every pair of one synthetic setting."""

from runvar.io import save_json
from runvar.io import log_to
from runvar.synthetic import run_setting

with log_to(snakemake.log[0]) as log:
    result = run_setting(snakemake.params.setting, snakemake.wildcards.setting, log=log)
    save_json(snakemake.output.json, result)
    log(f"{snakemake.wildcards.setting}: {result['models_trained']} models, "
        f"{result['seconds']['total']:.1f} s")
