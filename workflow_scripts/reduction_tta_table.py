"""Rule reduction_tta_table: TTA x snapshot ensembles (RE Table 7) and the verdict on claim 3."""

from runvar.claims import claims_frame, claims_markdown
from runvar.io import log_to
from runvar.reduction.claims import claim_reduction
from runvar.reduction.ensembles import frame_markdown, reduction_frame
from runvar.reduction.tta import tta_rows
from runvar.plateau import load_plateau, with_plateau
from runvar.tables import add_convergence, write_table

with log_to(snakemake.log[0]) as log:
    plan, inputs, setup = snakemake.params.plan, snakemake.input, snakemake.wildcards.setup
    snapshot = plan["snapshot"] is not None
    rows = tta_rows(
        inputs.pool, {m: inputs[f"pool_{m}"] for m in plan["methods"]},
        inputs.snapshot if snapshot else None,
        {m: inputs[f"snapshot_{m}"] for m in plan["methods"]} if snapshot else None,
        snakemake.params.bootstrap,
    )
    checks = load_plateau(inputs.plateau)
    pool_recipe, snapshot_recipe = (snakemake.params.recipes + [None])[:2]
    recipes = [snapshot_recipe if label.startswith("Snapshot") else pool_recipe for label, _ in rows]
    frame = add_convergence(reduction_frame(rows, rows[0][1]), recipes, checks)
    notes = (f"Views: {', '.join(plan['views'])} (crop padding {plan['crop_padding']}, black pixels). "
             "Strategies: tta = the original input and every view averaged, tta_noorig = the views "
             f"only; here {', '.join(plan['strategies'])}. ")
    if all("flip" not in v for v in plan["views"]):
        notes += "1-D signals: crop grids are the 1-D analogues of Crop25/Crop81 and Flip is left out. "
    write_table(frame, frame_markdown(frame, f"TTA x snapshot ensembles: {setup}", notes + "\n"),
                snakemake.output.csv, snakemake.output.md)
    rows = [(label, with_plateau(row, checks.get(recipe))) for (label, row), recipe in zip(rows, recipes)]
    bootstrap = snakemake.params.bootstrap
    paired = [label for label, _ in rows if label.startswith("Single/")]
    claims, tests = claim_reduction(rows[0][1], dict(rows[1:]), paired, bootstrap["resamples"], bootstrap["seed"])
    notes = ("\nStatistic: variability reduction (%) against the single model (formula in the TTA table); "
             "95% CI: bootstrap over runs (TTA of the single model resampled with its runs, snapshot "
             "ensembles independently). Supported when the interval lies above 0.\n")
    write_table(claims_frame(claims, tests), claims_markdown(f"Claim 3: {setup}", claims, tests, notes),
                snakemake.output.claims_csv, snakemake.output.claims_md, snakemake.output.claims_html)
    log(f"claim 3: {claims[0]['verdict']} ({claims[0]['summary']})")
