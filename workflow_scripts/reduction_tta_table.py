"""Rule tta_table: TTA x snapshot ensembles (RE Table 7) and the verdict on claim 3."""

import pandas as pd

from runvar.reduction.claims import claim_reduction
from runvar.reduction.ensembles import frame_markdown, reduction_frame
from runvar.logs import log_to
from runvar.tables import markdown_table, write_table
from runvar.reduction.tta import tta_rows

with log_to(snakemake.log[0]) as log:
    plan, inputs, setup = snakemake.params.plan, snakemake.input, snakemake.wildcards.setup
    snapshot = plan["snapshot"] is not None
    rows = tta_rows(
        inputs.pool, {v: inputs[f"pool_{v}"] for v in plan["views"]},
        inputs.snapshot if snapshot else None,
        {v: inputs[f"snapshot_{v}"] for v in plan["views"]} if snapshot else None,
        snakemake.params.bootstrap,
    )
    frame = reduction_frame(rows, rows[0][1])
    notes = f"Views: {', '.join(plan['views'])} (crop padding {plan['crop_padding']}). "
    if all("flip" not in v for v in plan["views"]):
        notes += "1-D signals: crop grids are the 1-D analogues of Crop25/Crop81 and Flip is left out. "
    write_table(frame, frame_markdown(frame, f"TTA x snapshot ensembles: {setup}", notes + "\n"),
                snakemake.output.csv, snakemake.output.md)
    claim = claim_reduction(rows[0][1], dict(rows[1:]), "Snapshot ensemble" if snapshot else None)
    write_table(pd.DataFrame([claim]),
                f"## Claim 3: {setup}\n\n" + markdown_table(["Claim", "Verdict", "Statistic"],
                                                            [[claim["claim"], claim["verdict"], claim["statistic"]]]),
                snakemake.output.claims_csv, snakemake.output.claims_md)
    log(f"{claim['verdict']}: {claim['claim']} ({claim['statistic']})")
