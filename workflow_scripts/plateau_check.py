"""Rule plateau_check: one recipe's runs at E and 2E epochs against the plateau rule."""

from runvar.io import save_json
from runvar.io import log_to
from runvar.plateau import plateau_check

with log_to(snakemake.log[0]) as log:
    record = plateau_check(snakemake.wildcards.setup, snakemake.params.variant, snakemake.input.histories,
                           snakemake.input.double_histories, snakemake.params.max_change)
    save_json(snakemake.output[0], record)
    log(f"{record['setup']}: {record['accuracy']:.2f}% at {record['epochs']} epochs, "
        f"{record['accuracy_double']:.2f}% at {record['double_epochs']} ({record['change']:+.2f} points): "
        f"{'converged' if record['converged'] else 'NOT converged'}")
