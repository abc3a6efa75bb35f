"""Rule plateau_pooled: one recipe's plateau check decided with its pool's (plateau.pools), or as it is."""

from pathlib import Path

from runvar.io import load_json, log_to, save_json
from runvar.plateau import pooled_check

with log_to(snakemake.log[0]) as log:
    checks = {Path(path).stem: load_json(path) for path in snakemake.input}
    record = pooled_check(snakemake.wildcards.setup, checks, snakemake.params.pool)
    save_json(snakemake.output[0], record)
    pool = record.get("pool")
    if pool:
        log(f"{record['setup']} with pool {pool['name']} ({', '.join(pool['members'])}): own "
            f"{record['own_change']:+.2f} (SE {record['own_change_se']:.2f}), pool {pool['change']:+.2f} "
            f"(SE {pool['change_se']:.2f}, chi-square p {pool['p']:.2f}): {record['decision']}"
            + (f"; {pool['refused']}" if "refused" in pool else ""))
    else:
        log(f"{record['setup']}: no pool, {record['decision']}")
