"""Rule plateau_check: one recipe's runs at E and 2E epochs against the plateau rule (on the check
set of its data set where there is one)."""

from runvar.io import log_to, save_json
from runvar.plateau import plateau_check

with log_to(snakemake.log[0]) as log:
    check_set = None
    if "check_set" in snakemake.input.keys():
        from runvar.check_set import paired_check_set

        check_set = paired_check_set(snakemake.input.check_set, snakemake.params.setups,
                                     (snakemake.input.models, snakemake.input.double_models))
    record = plateau_check(snakemake.wildcards.setup, snakemake.params.variant, snakemake.input.histories,
                           snakemake.input.double_histories, snakemake.params.max_change, check_set=check_set)
    save_json(snakemake.output[0], record)
    where = f" on {record['check_examples']} check-set examples" if check_set else ""
    log(f"{record['setup']}{where}: {record['accuracy']:.2f}% at {record['epochs']} epochs, "
        f"{record['accuracy_double']:.2f}% at {record['double_epochs']} ({record['change']:+.2f} points, "
        f"SE {record.get('change_se', float('nan')):.2f}): {record['decision']}")
