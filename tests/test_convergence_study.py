"""The convergence study (runvar.convergence): training length as a study of its own. The plan
(derived setups, runs, files, config errors), the table on hand-made metrics rows, and one
tiny end-to-end snakemake run."""

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from runvar.config import ConfigError, load_schema, validate_config
from runvar.convergence import plan
from runvar.convergence.report import (
    convergence_figure,
    convergence_frame,
    convergence_markdown,
    example_metrics,
    ratio_column,
)
from runvar.plots import save_figure
from runvar.studies import metrics_runs

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config/schema.yaml")

BLOCK = {"setups": ["cnn"], "epochs": [15, 30, 60, 120, 240], "variants": ["init", "all", "bitflip"], "runs": 10}
CONFIG = {
    "datasets": {"mnist1d": {"num_samples": 600}},
    "setup_defaults": {"dataset": "mnist1d", "epochs": 20, "batch_size": 128,
                       "optimizer": {"lr": 0.1, "momentum": 0.9}, "schedule": {"warmup_epochs": 2}},
    "setups": {"cnn": {"model": {"name": "cnn1d"}, "epochs": 120, "evaluate_every": 8}},
    "studies": {"convergence": BLOCK},
}


def planned(block=None, config=CONFIG):
    config = copy.deepcopy(config)
    if block is not None:
        config["studies"]["convergence"] = block
    return plan(validate_config(config, SCHEMA))


def test_plan_derives_one_setup_per_length_and_asks_runs_of_each():
    study = planned()
    assert sorted(study.setups) == ["cnn.epochs15", "cnn.epochs240", "cnn.epochs30", "cnn.epochs60"]
    assert study.setups["cnn.epochs240"]["epochs"] == 240 and study.setups["cnn.epochs15"]["evaluate_every"] == 8
    lengths = study.detail["cnn"]["lengths"]
    assert [(x["epochs"], x["setup"]) for x in lengths] == [
        (15, "cnn.epochs15"), (30, "cnn.epochs30"), (60, "cnn.epochs60"), (120, "cnn"), (240, "cnn.epochs240")]
    assert study.runs == {"cnn.epochs15": 10, "cnn.epochs30": 10, "cnn.epochs60": 10, "cnn": 10, "cnn.epochs240": 10}
    rows = study.detail["cnn"]["rows"]
    assert len(rows) == 15 and rows[3] == {"epochs": 30, "setup": "cnn.epochs30", "variant": "init", "runs": 10}
    assert metrics_runs({"convergence": study}, "cnn.epochs60", "bitflip", 2) == 10
    assert study.targets == ["results/tables/convergence_cnn.csv", "results/tables/convergence_cnn.md",
                             "results/figures/convergence_cnn.png", "results/figures/convergence_cnn.pdf"]


def test_no_block_plans_nothing():
    config = copy.deepcopy(CONFIG)
    del config["studies"]["convergence"]
    study = plan(validate_config(config, SCHEMA))
    assert study.setups == {} and study.targets == [] and study.runs == {}


def test_the_shipped_config_is_the_convergence_study_only():
    config = yaml.safe_load((REPO / "config/convergence.yaml").read_text())
    assert list(config["studies"]) == ["convergence"] and "synthetic" not in config
    study = plan(validate_config(config, SCHEMA))
    assert [x["setup"] for x in study.detail["cnn1d"]["lengths"]] == [
        "cnn1d.epochs10", "cnn1d.epochs20", "cnn1d.epochs40", "cnn1d.epochs80", "cnn1d"]
    assert study.detail["cnn1d"]["variants"] == ["init", "all", "bitflip"]


@pytest.mark.parametrize(("change", "message"), [
    ({"variants": ["init", "bitflop"]}, "studies.convergence.variants: unknown variant 'bitflop'"),
    ({"epochs": [30, 15]}, r"studies.convergence.epochs: \[30, 15\] must be sorted ascending without repeats"),
    ({"epochs": [15, 15, 30]}, "studies.convergence.epochs: .* must be sorted ascending without repeats"),
    ({"epochs": [0, 15]}, "studies.convergence.epochs: 0 is not a positive integer"),
    ({"epochs": [1.5]}, "studies.convergence.epochs: 1.5 is not a positive integer"),
    ({"runs": 1}, "studies.convergence.runs: 1; an SD over runs needs an integer >= 2"),
    ({"setups": ["resnet"]}, "studies.convergence.setups: unknown setup 'resnet'"),
    ({"epochs": []}, "studies.convergence.epochs: must be a non-empty list"),
])
def test_plan_rejects_bad_blocks_naming_the_key(change, message):
    config = {"setups": {"cnn": {"epochs": 120, "optimizer": {"lr": 0.1}, "schedule": {}}},
              "studies": {"convergence": {**BLOCK, **change}}}
    with pytest.raises(ConfigError, match=message):
        plan(config)


def test_lengths_must_divide_into_the_schedule_cycles():
    config = copy.deepcopy(CONFIG)
    config["setups"]["cnn"]["schedule"] = {"cycles": 2}
    with pytest.raises(ConfigError, match=r"studies.convergence.epochs: 15 epochs of setup 'cnn'.*multiple of cycles \(2\)"):
        plan(validate_config(config, SCHEMA))


def test_the_schema_names_the_key_of_a_bad_block():
    config = copy.deepcopy(CONFIG)
    config["studies"]["convergence"] = {**BLOCK, "lengths": [1]}
    with pytest.raises(ConfigError, match=r"studies.convergence: unknown key\(s\) \['lengths'\]"):
        validate_config(config, SCHEMA)


ROWS = [{"epochs": e, "setup": f"cnn.epochs{e}", "variant": v, "runs": 6}
        for e in (10, 20) for v in ("init", "all", "bitflip")]
ACC = {"init": [90.0, 91.0, 92.5, 89.0, 90.5, 91.5], "all": [88.0, 92.0, 90.0, 93.0, 87.0, 91.0],
       "bitflip": [90.0, 90.5, 91.0, 90.2, 90.8, 90.4]}
CE = {"init": [0.30, 0.32, 0.28, 0.31, 0.29, 0.33], "all": [0.25, 0.35, 0.30, 0.40, 0.22, 0.31],
      "bitflip": [0.30, 0.301, 0.302, 0.299, 0.303, 0.298]}
PAIRS = {v: list(np.linspace(1.0, 3.0, 15) * scale) for v, scale in (("init", 2.0), ("all", 3.0), ("bitflip", 1.0))}


def hand_rows():
    return [example_metrics(r["variant"], ACC[r["variant"]], CE[r["variant"]], PAIRS[r["variant"]]) for r in ROWS]


def test_table_has_one_row_per_length_and_variant_and_the_hand_computed_ratios():
    frame = convergence_frame(ROWS, hand_rows(), resamples=2000, seed=0)
    assert list(zip(frame["epochs"], frame["variant"])) == [(e, v) for e in (10, 20) for v in ("init", "all", "bitflip")]
    rows = frame.set_index(["epochs", "variant"])
    for reference in ("init", "all"):
        row = rows.loc[(10, reference)]
        assert row[ratio_column("accuracy_sd")] == pytest.approx(np.std(ACC["bitflip"]) / np.std(ACC[reference]))
        assert row[ratio_column("cross_entropy_sd")] == pytest.approx(np.std(CE["bitflip"]) / np.std(CE[reference]))
        assert row[ratio_column("pairwise_disagreement")] == pytest.approx(np.mean(PAIRS["bitflip"]) / np.mean(PAIRS[reference]))
        for key in ("accuracy_sd", "cross_entropy_sd", "pairwise_disagreement"):
            low, high = row[f"{ratio_column(key)}_low"], row[f"{ratio_column(key)}_high"]
            assert 0 <= low <= row[ratio_column(key)] <= high
    assert rows[ratio_column("accuracy_sd")].loc[(10, "bitflip")] != rows[ratio_column("accuracy_sd")].loc[(10, "bitflip")]  # NaN
    assert rows.loc[(20, "init"), "accuracy_sd"] == pytest.approx(np.std(ACC["init"]))
    assert (frame["runs"] == 6).all()


def test_no_bitflip_rows_leave_the_ratios_empty_and_mismatches_are_caught():
    rows = [r for r in ROWS if r["variant"] != "bitflip"]
    frame = convergence_frame(rows, [example_metrics(r["variant"], ACC[r["variant"]], CE[r["variant"]]) for r in rows],
                              resamples=100)
    assert frame[ratio_column("accuracy_sd")].isna().all()
    assert "bitflip relative to" not in convergence_markdown(frame, "t")
    with pytest.raises(ValueError, match="metrics row of variant 'all'"):
        convergence_frame(ROWS[:1], [example_metrics("all", ACC["all"], CE["all"])], resamples=10)


def test_markdown_and_figure(tmp_path):
    frame = convergence_frame(ROWS, hand_rows(), resamples=500, seed=0)
    md = convergence_markdown(frame, "Variability against training length: cnn")
    assert md.startswith("## Variability against training length: cnn")
    assert "### bitflip relative to init and all" in md and md.count("| 10 | init |") == 1
    assert md.count("| 10 | bitflip / init |") == 1 and md.count("| 20 | bitflip / all |") == 1
    fig = convergence_figure(frame, "cnn")
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes) == 4
    save_figure(fig, tmp_path / "f.png", tmp_path / "f.pdf")
    assert (tmp_path / "f.png").stat().st_size > 1000 and (tmp_path / "f.pdf").stat().st_size > 1000


# --- End to end ---------------------------------------------------------------------------------

def workflow_dir(root: Path) -> Path:
    """A Snakefile including the repo's rules as the main Snakefile does, asking only for the
    convergence study's files."""
    wf = root / "wf"
    (wf / "config").mkdir(parents=True)
    (wf / "src").symlink_to(REPO / "src")
    (wf / "config/schema.yaml").symlink_to(REPO / "config/schema.yaml")
    includes = re.findall(r'^include: "(rules/[^"]+)"', (REPO / "Snakefile").read_text(), flags=re.M)
    lines = [f'include: "{REPO / name}"' for name in includes]
    (wf / "Snakefile").write_text("\n".join(lines) + '\n\nrule all:\n    input:\n        PLANS["convergence"].targets,\n')
    return wf


@pytest.mark.workflow
def test_workflow_writes_the_table_and_figure(tmp_path, run_snakemake):
    config = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
    config["setups"] = {"tiny_cnn": config["setups"]["tiny_cnn"]}  # cnn1d, 8 channels, 2 layers, 2 epochs
    config["studies"] = {"convergence": {"setups": ["tiny_cnn"], "epochs": [1, 2],
                                         "variants": ["init", "bitflip"], "runs": 3}}  # 4 training jobs
    wf, workdir = workflow_dir(tmp_path), tmp_path / "work"
    run_snakemake(workdir, "--cores", "2", snakefile=wf / "Snakefile", config=config)  # fails the test on error
    table = pd.read_csv(workdir / "results/tables/convergence_tiny_cnn.csv")
    assert list(zip(table["epochs"], table["setup"], table["variant"])) == [
        (e, s, v) for e, s in ((1, "tiny_cnn.epochs1"), (2, "tiny_cnn")) for v in ("init", "bitflip")]
    assert (table["runs"] == 3).all()
    assert table[ratio_column("accuracy_sd")].notna().tolist() == [True, False, True, False]  # on init rows
    assert "### bitflip relative to init\n" in (workdir / "results/tables/convergence_tiny_cnn.md").read_text()
    for ext in ("png", "pdf"):
        assert (workdir / f"results/figures/convergence_tiny_cnn.{ext}").stat().st_size > 1000
    assert (workdir / "results/runs/tiny_cnn.epochs1/bitflip/seed3/predictions.npz").exists()


def test_the_shipped_lengths_reuse_the_quick_study_runs():
    """config/convergence.yaml's cnn1d is the quick study's, so its longest length is the quick
    study's own runs and neither study's runs overwrite the other's in results/."""
    quick = yaml.safe_load((REPO / "config/config.yaml").read_text())
    convergence = yaml.safe_load((REPO / "config/convergence.yaml").read_text())
    assert convergence["setups"]["cnn1d"] == quick["setups"]["cnn1d"]
    for key in ("setup_defaults", "datasets"):
        assert {k: v for k, v in convergence[key].items() if k in quick[key]} == \
            {k: v for k, v in quick[key].items() if k in convergence[key]}, key
    assert convergence["studies"]["convergence"]["epochs"][-1] == quick["setups"]["cnn1d"]["epochs"]
