"""The weight-selection study through snakemake on a tiny config, end to end, in a temporary directory.

The workflow is the repository's: a Snakefile that includes every rules file the main
Snakefile includes (plus the selection rules, if it does not yet) and asks for
``selection_targets()``; the schema is the repository's with the selection fragment in place.
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from runvar.data import load_dataset
from runvar.io import load_prediction_stack
from runvar.metrics import accuracies, population_sd
from runvar.models import build_model

from .conftest import tiny_study_base

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

TINY = {
    "train": {"seeds_per_job": 4},
    "bootstrap": {"resamples": 500, "seed": 0},
    **tiny_study_base(),
    # never asked for: the sources study only sets the R of the protocol's metrics rows
    "setups": {"unused": {"model": {"name": "mlp", "hidden": [8]}}},
    "studies": {
        "sources": {"setups": ["unused"], "variants": ["none"], "runs": 3},
        "selection": {
            "models": ["lenet"], "ks": [2], "runs": 4,
            "setup": {"optimizer": {"weight_decay": 0.0, "nesterov": False}},
            "selected": {"optimizer": {"lr": 0.3}},
            "protocol": {"model": "lenet", "k": 2, "variants": ["bitflip"]},
        },
    },
}


def write_workflow(root: Path) -> Path:
    """A Snakefile (and schema) in ``root`` running the repository's rules; returns its path."""
    (root / "config").mkdir(parents=True)
    (root / "src").symlink_to(REPO / "src")
    (root / "config" / "schema.yaml").symlink_to(REPO / "config" / "schema.yaml")
    includes = re.findall(r'^include: "(rules/[^"]+)"', (REPO / "Snakefile").read_text(), flags=re.M)
    lines = [f'report: "{REPO}/rules/captions/workflow.rst"']
    lines += [f'include: "{REPO / rules}"' for rules in includes]
    lines += ["rule all:", "    input:", "        study_targets('selection'),", "    default_target: True"]
    (root / "Snakefile").write_text("\n".join(lines) + "\n")
    return root / "Snakefile"


@pytest.fixture(scope="module")
def finished(tmp_path_factory, run_snakemake):
    """The tiny selection study run once, with its HTML report."""
    root = tmp_path_factory.mktemp("selection")
    snakefile = write_workflow(root / "workflow")
    workdir = root / "work"
    run_snakemake(workdir, "--cores", "2", snakefile=snakefile, config=TINY)
    run_snakemake(workdir, "--report", str(workdir / "results" / "report.html"), snakefile=snakefile)
    return snakefile, workdir


def run_accuracies(workdir: Path, setup: str, variant: str, runs: int) -> np.ndarray:
    paths = [workdir / f"results/runs/{setup}/{variant}/seed{r}/predictions.npz" for r in range(1, runs + 1)]
    return accuracies(*load_prediction_stack(paths)) * 100


def test_table_values_come_from_the_runs_predictions(finished):
    _, workdir = finished
    table = pd.read_csv(workdir / "results/tables/selection_accuracy.csv", dtype={"k": str})
    assert list(zip(table["model"], table["k"])) == [("lenet", "2"), ("lenet", "learned")]
    for _, row in table.iterrows():
        setup = f"sel.lenet.{row['k'] if row['k'] == 'learned' else 'k' + row['k']}"
        accs = run_accuracies(workdir, setup, "all", 4)
        assert row["runs"] == 4
        assert row["accuracy_sd"] == pytest.approx(population_sd(accs), rel=1e-9, abs=1e-12)
        assert row["accuracy_mean"] == pytest.approx(accs.mean(), rel=1e-9)
    learned_sd = table.set_index("k").loc["learned", "accuracy_sd"]
    for _, row in table[table["k"] != "learned"].iterrows():
        assert row["sd_reduction"] == pytest.approx(1 - row["accuracy_sd"] / learned_sd, rel=1e-9)
        assert row["sd_reduction_ci95_low"] <= row["sd_reduction_ci95_high"]
        # two-epoch runs are not on their plateau: SM's claim cannot be decided on them
        assert not row["converged"] and row["verdict"] == "inconclusive: not converged"
    md = (workdir / "results/tables/selection_accuracy.md").read_text()
    assert "| Model | k | R | Mean accuracy (%) |" in md and "This run:" in md


def test_runs_vary_every_source_and_train_the_configured_setup(finished):
    _, workdir = finished
    record = json.loads((workdir / "results/runs/sel.lenet.k2/all/seed3/run.json").read_text())
    assert record["seeds"]["init"] == record["seeds"]["shuffle"] == record["seeds"]["augment"] == 3
    setup = record["setup_resolved"]
    assert setup["model"] == {"name": "lenet", "mode": "select", "k": 2}
    assert setup["optimizer"]["lr"] == 0.3 and setup["optimizer"]["weight_decay"] == 0.0
    learned = json.loads((workdir / "results/runs/sel.lenet.learned/all/seed1/run.json").read_text())
    assert learned["setup_resolved"]["model"] == {"name": "lenet", "mode": "learned"}
    assert learned["setup_resolved"]["optimizer"]["lr"] == 0.05


def test_saved_candidates_are_the_init_seeds_candidates(finished):
    _, workdir = finished
    data = load_dataset(workdir / "results/data/mnist1d.npz")
    for seed in (1, 2):
        saved = torch.load(workdir / f"results/runs/sel.lenet.k2/all/seed{seed}/model.pt", weights_only=True)
        fresh = build_model("lenet", data.input_shape, data.num_classes, seed, mode="select", k=2).state_dict()
        names = [n for n in fresh if n.endswith("candidates")]
        assert names == ["1.candidates", "3.candidates", "5.candidates"]
        for name in names:
            assert torch.equal(saved["state_dict"][name], fresh[name])  # bitwise: never updated
            assert not torch.equal(saved["state_dict"][name.replace("candidates", "scores")],
                                   fresh[name.replace("candidates", "scores")])


def test_protocol_flips_scores_candidates_and_weights(finished):
    _, workdir = finished
    table = pd.read_csv(workdir / "results/tables/selection_protocol.csv", keep_default_na=False)
    assert list(zip(table["weights"], table["variant"], table["flipped"])) == [
        ("selected (k=2)", "bitflip", "scores"), ("selected (k=2)", "bitflip", "candidates"),
        ("learned", "bitflip", "weights"),
    ]
    assert (table["runs"] == 3).all()
    flipped = {  # setup -> (tensor the bit flip hits, the table's label)
        "sel.lenet.k2": ("1.scores", "scores"),
        "sel.lenet.k2.flip-candidates": ("1.candidates", "candidates"),
        "sel.lenet.learned": ("1.weight", "weights"),
    }
    for setup, (parameter, label) in flipped.items():
        for seed in (1, 2, 3):
            record = json.loads((workdir / f"results/runs/{setup}/bitflip/seed{seed}/run.json").read_text())
            assert record["bitflip"]["parameter"] == parameter
            assert record["bitflip"]["new"] != record["bitflip"]["old"]
        row = json.loads((workdir / f"results/metrics/{setup}/bitflip.json").read_text())
        match = table[table["flipped"] == label]
        assert match["accuracy_sd"].item() == pytest.approx(row["accuracy_sd"], rel=1e-12, abs=1e-15)
        assert match["bitwise_identical"].item() == row["bitwise_identical"]


def test_memory_table_and_figures(finished):
    _, workdir = finished
    memory = pd.read_csv(workdir / "results/tables/selection_memory.csv", dtype={"k": str}).set_index("k")
    connections = 40 * 300 + 300 * 100 + 100 * 10
    assert memory.loc["learned", "trainable_parameters"] == connections
    assert memory.loc["2", "trainable_parameters"] == memory.loc["2", "fixed_candidates"] == 2 * connections
    assert memory.loc["2", "state_bytes"] == 2 * 2 * 4 * connections
    for name in ("selection_accuracy", "selection_sd"):
        for ext in ("png", "pdf"):
            assert (workdir / f"results/figures/{name}.{ext}").stat().st_size > 1000
    html = (workdir / "results/report.html").read_text()
    for name in ("selection_accuracy.csv", "selection_sd.png", "selection_memory.csv", "selection_protocol.csv"):
        assert name in html
    assert "Weight selection" in html


def test_nothing_left_to_do_and_a_clash_fails_early(finished, tmp_path, run_snakemake):
    snakefile, workdir = finished
    dry = run_snakemake(workdir, "-n", "--cores", "1", snakefile=snakefile)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    clash = yaml.safe_load(yaml.safe_dump(TINY))
    clash["setups"]["sel.lenet.learned"] = {"model": {"name": "mlp", "hidden": [8]}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(clash))
    out = run_snakemake(tmp_path, "-n", "--cores", "1", snakefile=snakefile, check=False)
    assert out.returncode != 0
    assert "setups.sel.lenet.learned: clashes with a setup the selection study generates" in out.stdout + out.stderr
