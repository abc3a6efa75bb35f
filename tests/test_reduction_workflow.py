"""The reduction studies (ensembles, TTA, onset, CKA, ablations) through snakemake on a tiny
config in a temporary directory, values checked against the library on the run files."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from runvar.reduction.ensembles import snapshot_ensemble_stack, vanilla_ensembles
from runvar.io import load_prediction_stack
from runvar.metrics import variability

from .test_workflow import gate_of

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

REDUCTION_STUDIES = {
    "ensembles": {"setups": ["tiny_cnn"], "variant": "all", "runs": 4, "cycles": 2, "sizes": [1, 2]},
    "tta": {"setups": ["tiny_cnn"], "runs": 4, "views": ["crop5", "crop9"], "crop_padding": 4,
            "strategies": ["tta", "tta_noorig"]},
    "onset": {"setups": ["tiny_cnn"], "variants": ["shuffle"], "epochs": [0, 1], "runs": 4},
    "cka": {"setups": ["tiny_cnn"], "variants": ["shuffle", "all"], "runs": 4, "examples": 60, "seed": 0},
    "ablations": {"setups": ["tiny_cnn"], "runs": 4,
                  "pool_sizes": {"variants": ["all"], "sizes": [2, 4]},
                  "epochs": {"variants": ["shuffle"], "epochs": [1, 2]},
                  "lr_epochs": {"variants": ["all"], "lr": [0.05, 0.1], "epochs": [2]}},
}


def workflow_dir(root: Path) -> Path:
    """A Snakefile including the repo's rules as the main Snakefile does, asking only for the
    reduction studies' targets."""
    wf = root / "wf"
    (wf / "config").mkdir(parents=True)
    (wf / "src").symlink_to(REPO / "src")
    (wf / "config/schema.yaml").symlink_to(REPO / "config/schema.yaml")
    includes = re.findall(r'^include: "(rules/[^"]+)"', (REPO / "Snakefile").read_text(), flags=re.M)
    lines = [f'include: "{REPO / name}"' for name in includes]
    (wf / "Snakefile").write_text("\n".join(lines) + "\n\nrule all:\n    input:\n        study_targets('reduction'),\n")
    return wf


def tiny_config() -> dict:
    config = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
    config["train"]["seeds_per_job"] = 4
    config["setups"] = {"tiny_cnn": config["setups"]["tiny_cnn"]}
    config["studies"] = REDUCTION_STUDIES
    return config


@pytest.fixture(scope="module")
def study(tmp_path_factory, run_snakemake):
    root = tmp_path_factory.mktemp("reduction")
    wf, workdir = workflow_dir(root), root / "work"
    run = run_snakemake(workdir, "--cores", "2", snakefile=wf / "Snakefile", config=tiny_config())
    run_snakemake(workdir, "--report", str(workdir / "report.html"), snakefile=wf / "Snakefile")
    return workdir, run.stdout + run.stderr


def runs(workdir: Path, setup: str, variant: str, name: str = "predictions.npz", count: int = 4) -> list[Path]:
    return [workdir / f"results/runs/{setup}/{variant}/seed{r}/{name}" for r in range(1, count + 1)]


def test_each_run_is_trained_once(study):
    _, log = study
    jobs = dict(re.findall(r"^(train_\S*seeds_\S+|reduction_tta_seeds_\S+)\s+(\d+)$", log, flags=re.M))
    # (setup, variant) pairs: tiny_cnn/{all, shuffle}, cycles2/all, onset1/shuffle,
    # epochs1/{shuffle, all}, lr0.1/all; every study shares them. The plateau checks are
    # cycles2's, lr0.1's and epochs1's: tiny_cnn, epochs1 with more epochs, inherits epochs1's,
    # whose doubled runs are tiny_cnn's own (reused); only cycles2 and lr0.1 train doubled runs.
    # Run 1 of shuffle is each setup's `none` run 1 (a job of its own): the 3 shuffle pairs train
    # seeds 2-4 and their setups' none run 1, the 4 `all` pairs seeds 1-4. tiny_cnn's none run 1
    # is trained once more, by onset_start, for its state at the end of epoch 1, where onset1's
    # runs start.
    assert jobs == {"train_seeds_1_4": "4", "train_from2_seeds_2_4": "3", "train_none_seeds_1_1": "3",
                    "train_doubled_seeds_1_3": "2", "reduction_tta_seeds_1_4": "2"}
    assert re.search(r"^onset_start\s+1$", log, flags=re.M), log[-3000:]


def test_ensembles_table_matches_the_runs(study):
    workdir, _ = study
    table = pd.read_csv(workdir / "results/tables/ensembles_tiny_cnn.csv").set_index("setting")
    pool, labels = load_prediction_stack(runs(workdir, "tiny_cnn", "all"))
    pairs = variability(vanilla_ensembles(pool, 2), labels, resamples=1000, seed=0)
    assert table.loc["Vanilla (N=2)", "accuracy_sd"] == pytest.approx(pairs["accuracy_sd"], abs=1e-9)
    assert table.loc["Vanilla (N=2)", "runs"] == 2
    snap, _ = snapshot_ensemble_stack(runs(workdir, "tiny_cnn.cycles2", "all"))
    expected = variability(snap, labels, resamples=1000, seed=0)
    assert table.loc["Snapshot (2 cycles)", "pairwise_spearman"] == pytest.approx(expected["pairwise_spearman"])
    assert table.loc["Vanilla (N=1)", "reduction_mean"] == 0
    record = json.loads(runs(workdir, "tiny_cnn.cycles2", "all", "run.json")[0].read_text())
    assert record["snapshots"] == 2 and record["setup_resolved"]["schedule"]["cycles"] == 2


def test_tta_files_table_and_claim(study):
    workdir, _ = study
    tta = np.load(runs(workdir, "tiny_cnn.cycles2", "all", "tta_noorig-crop9.npz")[0])
    assert tta["logits"].shape == (120, 10) and tta["snapshot_logits"].shape == (2, 120, 10)
    assert np.array_equal(tta["snapshot_logits"][-1], tta["logits"])
    table = pd.read_csv(workdir / "results/tables/tta_tiny_cnn.csv")
    assert list(table["setting"]) == ["Single model", "Snapshot ensemble", "Single/crop5 tta", "Single/crop9 tta",
                                      "Single/crop5 tta_noorig", "Single/crop9 tta_noorig", "Snapshot/crop5 tta",
                                      "Snapshot/crop9 tta", "Snapshot/crop5 tta_noorig", "Snapshot/crop9 tta_noorig"]
    logits, labels = load_prediction_stack(runs(workdir, "tiny_cnn", "all", "tta-crop5.npz"))
    row = table.set_index("setting").loc["Single/crop5 tta"]
    assert row["cross_entropy_sd"] == pytest.approx(variability(logits, labels, resamples=1000)["cross_entropy_sd"])
    md = (workdir / "results/tables/tta_tiny_cnn.md").read_text()
    assert "Variability reduction (%) = mean over the five metrics" in md and "Flip is left out" in md
    claims = pd.read_csv(workdir / "results/claims/reduction_tiny_cnn.csv")
    claim = claims[claims["level"] == "claim"].iloc[0]
    # tiny_cnn inherits the check of tiny_cnn.epochs1 (the same recipe, fewer epochs)
    checks = [workdir / f"results/plateau/{recipe}.json" for recipe in ("tiny_cnn.epochs1", "tiny_cnn.cycles2")]
    assert claim["verdict"] == gate_of(*checks)  # 2-epoch runs
    assert not table["converged"].any() and "| Converged |" in md
    tests = claims[claims["level"] == "test"].set_index("test")
    reductions = table.set_index("setting")["reduction_mean"]
    for setting in ["Snapshot ensemble", "Single/crop5 tta", "Snapshot/crop9 tta"]:
        test = tests.loc[f"{setting} vs single model"]
        assert test["statistic"] == pytest.approx(reductions[setting])
        assert test["ci95_low"] <= test["ci95_high"] and test["margin"] == "> 0"


def test_onset_and_ablation_tables(study):
    workdir, _ = study
    onset = pd.read_csv(workdir / "results/tables/onset_tiny_cnn.csv")
    assert list(onset["onset_epoch"]) == [0, 1] and list(onset["source"]) == ["shuffle", "shuffle"]
    record = json.loads(runs(workdir, "tiny_cnn.onset1", "shuffle", "run.json")[1].read_text())
    assert record["seeds"]["onset_epoch"] == 1 and record["seeds"]["shuffle"] == 2
    # every onset run starts from the none run 1's state at the end of epoch 1 (its first epoch
    # not trained again), the onset setup's own none run 1 too
    started = [json.loads(p.read_text())["onset_started_at"] for p in
               [*runs(workdir, "tiny_cnn.onset1", "shuffle", "run.json")[1:],
                workdir / "results/runs/tiny_cnn.onset1/none/seed1/run.json"]]
    assert started == [1, 1, 1, 1]
    assert (workdir / "results/runs/tiny_cnn/none/seed1/onset_start1.pt").exists()
    sizes = pd.read_csv(workdir / "results/tables/ablation_runs_tiny_cnn.csv")
    assert list(sizes["runs"]) == [2, 4]
    logits, labels = load_prediction_stack(runs(workdir, "tiny_cnn", "all", count=2))
    assert sizes["accuracy_sd"][0] == pytest.approx(variability(logits, labels, resamples=1000)["accuracy_sd"])
    lr = pd.read_csv(workdir / "results/tables/ablation_lr_epochs_tiny_cnn.csv")
    assert list(lr["setup"]) == ["tiny_cnn", "tiny_cnn.lr0.1"]
    for name in ("figures/onset_tiny_cnn.png", "figures/cka_tiny_cnn.png"):
        assert (workdir / "results" / name).stat().st_size > 1000


def test_cka_table(study):
    workdir, _ = study
    cka = pd.read_csv(workdir / "results/tables/cka_tiny_cnn.csv")
    assert list(cka["layer"][:4]) == ["conv1", "stage1", "stage2", "logits"]
    assert ((cka["mean"] > 0) & (cka["mean"] <= 1 + 1e-9)).all() and (cka["pairs"] == 6).all()


def test_report_has_the_reduction_outputs(study):
    workdir, _ = study
    html = (workdir / "report.html").read_text()
    for name in ("tta_tiny_cnn.csv", "ensembles_tiny_cnn.csv", "cka_tiny_cnn.png", "onset_tiny_cnn.png"):
        assert name in html


def planned_runs(stdout: str) -> set[tuple[str, str, str]]:
    """(setup, variant, seed) of every run a snakemake (dry) run's jobs write."""
    outputs = " ".join(re.findall(r"^\s+output: (.*)$", stdout, flags=re.M))
    return set(re.findall(r"results/runs/([^/\s,]+)/([a-z+]+)/seed(\d+)/predictions\.npz", outputs))


def test_switching_configs_retrains_nothing_that_did_not_change(run_snakemake, tmp_path):
    """A run is the same job under every config that holds it. Config A: onset runs at epoch 1,
    which start from tiny_cnn's `none` run 1 at the end of epoch 1; config B: the sources rows
    none, init and bitflip of tiny_cnn (no onset, as config/convergence.yaml beside
    config/config.yaml). B after A trains only its own rows' runs, not the `none` run 1 they
    share; A again after B has nothing to do."""
    config_a = tiny_config()
    config_a["setups"]["tiny_cnn"]["epochs"] = 3
    config_a["convergence_check"] = {"off": ["tiny_cnn"]}
    config_b = yaml.safe_load(yaml.safe_dump(config_a))
    config_a["studies"] = {"onset": {"setups": ["tiny_cnn"], "variants": ["shuffle"], "epochs": [0, 1], "runs": 3}}
    config_b["studies"] = {"sources": {"setups": ["tiny_cnn"], "variants": ["none", "init", "bitflip"], "runs": 3}}
    work = tmp_path / "work"
    run_snakemake(work, "--cores", "2", config=config_a)
    assert (work / "results/runs/tiny_cnn/none/seed1/onset_start1.pt").exists()
    done_b = run_snakemake(work, "--cores", "2", config=config_b)
    log_b = done_b.stdout + done_b.stderr
    assert planned_runs(log_b) == {("tiny_cnn", v, str(r)) for v in ("none", "init") for r in (2, 3)} | {
        ("tiny_cnn", "bitflip", str(r)) for r in (1, 2, 3)}, log_b[-3000:]
    again = run_snakemake(work, "-n", config=config_a)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    assert planned_runs(again.stdout) == set()
