"""Rule language_plateau: a language setup's runs at E and 2E epochs against the plateau rule."""

from runvar.io import log_to, save_json
from runvar.plateau import VALID_PPL, plateau_check

with log_to(snakemake.log[0]) as log:
    check = plateau_check(snakemake.wildcards.setup, snakemake.params.variant, snakemake.input.histories,
                          snakemake.input.double_histories, snakemake.params.max_change, VALID_PPL)
    save_json(snakemake.output[0], check)
    log(f"{check['setup']}: valid PPL {check['valid_ppl']:.2f} at {check['epochs']} epochs, "
        f"{check['valid_ppl_double']:.2f} at {check['double_epochs']} ({check['change']:+.2f}%): "
        f"{'converged' if check['converged'] else 'NOT converged'}")
