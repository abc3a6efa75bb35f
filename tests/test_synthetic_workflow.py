"""rules/synthetic.smk end to end on a tiny config: values in the outputs, and reruns per setting."""

import copy
import csv
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "synthetic": {
        "defaults": {"pairs": 2, "log2_examples": 10, "log2_eval_examples": 8, "log2_z": [0, 2]},
        "settings": {
            "lin": {"model": "linear", "init": ["same", "different"]},
            "relu": {"model": "mlp", "hidden": [2], "activation": "relu"},
        },
        "figures": {"tiny": {"title": "Tiny synthetic figure", "settings": ["lin", "relu"]}},
    }
}


@pytest.mark.workflow
def test_tiny_synthetic_study_end_to_end(tmp_path, run_snakemake):
    config = copy.deepcopy(TINY)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "Snakefile").write_text(
        'configfile: "config.yaml"\n'
        f'include: "{ROOT / "rules" / "synthetic_functions.smk"}"\n'
        f'include: "{ROOT / "rules" / "synthetic.smk"}"\n'
        "rule all:\n    input: SYNTHETIC_PLAN.targets\n"
    )
    run_snakemake(tmp_path, "--cores", "2", snakefile=None, configfile=None)  # the Snakefile above

    lin = json.loads((tmp_path / "results/synthetic/settings/lin.json").read_text())
    assert lin["setting"]["pairs"] == 2 and lin["setting"]["model"] == "linear"
    assert [(c["init"], c["log2_z"]) for c in lin["curves"]] == [
        ("same", 0), ("same", 2), ("different", 0), ("different", 2)]
    same_z1 = lin["curves"][0]
    assert len(same_z1["delta_r"]["values"]) == 2 and len(same_z1["excess_loss"]["values"]) == 4
    assert 0 <= same_z1["delta_r"]["mean"] < 1e-5  # same init, z = 1: rounding only
    assert lin["curves"][2]["delta_r"]["mean"] > 1e-3  # different init
    assert all(0 < c["excess_loss"]["mean"] < 0.2 for c in lin["curves"])

    with open(tmp_path / "results/tables/synthetic_tiny.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["setting"], r["init"], r["log2_z"]) for r in rows] == [
        ("lin", "same", "0"), ("lin", "same", "2"), ("lin", "different", "0"), ("lin", "different", "2"),
        ("relu", "same", "0"), ("relu", "same", "2")]
    assert float(rows[0]["delta_r_mean"]) == pytest.approx(same_z1["delta_r"]["mean"], rel=1e-5)
    assert rows[4]["curve"] == "ReLU 2, AdaGrad 0.1"
    assert "## Tiny synthetic figure" in (tmp_path / "results/tables/synthetic_tiny.md").read_text()
    assert (tmp_path / "results/figures/synthetic_tiny.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "results/figures/synthetic_tiny.pdf").read_bytes()[:4] == b"%PDF"
    assert "Delta_r" in (tmp_path / "results/logs/synthetic/setting_lin.log").read_text()
    assert (tmp_path / "results/benchmarks/synthetic/setting_relu.tsv").exists()

    # Editing one setting reruns that setting (and the summary), nothing else.
    config["synthetic"]["settings"]["relu"]["lr"] = 0.05
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    dry = run_snakemake(tmp_path, "--cores", "2", "--dry-run", snakefile=None, configfile=None)
    plan = dry.stdout + dry.stderr
    assert "setting=relu" in plan and "setting=lin" not in plan
    assert "synthetic_summary" in plan
