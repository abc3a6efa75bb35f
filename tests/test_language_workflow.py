"""rules/language.smk end to end on a tiny config, and Penn Treebank files missing at data-rule time."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

LANGUAGE = {
    "variants": ["none", "init", "stochastic", "all", "bitflip"],
    "runs": 3,
    "runs_none": 2,
    "runs_by_variant": {"all": 4},
    "bitflip_bases": 2,
    "bitflip_base_runs": 2,
    "plateau": {"runs": 2, "max_change_pct": 50.0},
    "settings": {"tiny_lm": {"corpus": "pydoc", "model": {"kind": "qrnn", "embedding": 8, "hidden": 12, "layers": 1},
                             "epochs": 1, "batch_size": 8, "bptt": 12, "train_tokens": 1500, "test_batch_size": 10}},
}
REPORT = ["results/tables/language_tiny_lm.csv", "results/tables/language_tiny_lm.md",
          "results/claims/language_tiny_lm.csv", "results/figures/language_tiny_lm.png"]


def tiny_config(language):
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    config["datasets"]["pydoc"] = {"vocab_size": 60}
    config["studies"]["language"] = language
    return config


def test_tiny_language_study_end_to_end(tmp_path, run_snakemake):
    done = run_snakemake(tmp_path, "--cores", "1", *REPORT, "results/figures/language_tiny_lm.pdf",
                         config=tiny_config(LANGUAGE), check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    table = pd.read_csv(tmp_path / "results/tables/language_tiny_lm.csv")
    assert list(table["variant"]) == LANGUAGE["variants"] and list(table["runs"]) == [2, 3, 3, 4, 3]
    none = table.set_index("variant").loc["none"]
    assert none["ppl_sd"] == 0.0 and none["pairwise_disagreement"] == 0.0
    assert (table.set_index("variant").loc[["init", "all"], "ppl_sd"] > 0).all()
    assert table["converged"].notna().all()
    md = (tmp_path / "results/tables/language_tiny_lm.md").read_text()
    assert "| Variant | R | Test PPL mean | PPL SD | Pairwise disagreement (%) | Ensemble PPL delta | Converged |" in md
    claims = pd.read_csv(tmp_path / "results/claims/language_tiny_lm.csv")
    tests = claims[claims["level"] == "test"]
    assert set(tests["measure"]) == {"PPL SD", "disagreement", "ensemble PPL delta"}
    assert tests[["statistic", "ci95_low", "ci95_high"]].notna().all().all() and tests["margin"].notna().all()
    record = json.loads((tmp_path / "results/language/runs/tiny_lm/bitflip/seed2/run.json").read_text())
    assert record["seeds"]["bitflip"] == 2 and record["seeds"]["init"] == 1 and record["bitflip"]["parameter"]
    # claim 2 reads the flips pooled within 2 bases: base 2's flips grow around every seed 2
    assert set(tests.loc[tests["claim"] == 2, "test"]) == {"bitflip (2 bases) / all", "bitflip (2 bases) / init"}
    base = [json.loads((tmp_path / f"results/language/runs/tiny_lm.base2/bitflip/seed{r}/run.json").read_text())
            for r in (1, 2)]
    assert [b["seeds"]["init"] for b in base] == [2, 2] and base[0]["seeds"]["bitflip"] != base[1]["seeds"]["bitflip"]
    assert "Claim 2 pools the bit flips around 2 base runs (3, 2 flips; tiny_lm, tiny_lm.base2" in (
        tmp_path / "results/claims/language_tiny_lm.md").read_text()
    history = pd.read_csv(tmp_path / "results/language/runs/tiny_lm.epochs2/all/seed2/history.csv")
    assert list(history["epoch"]) == [1, 2] and (history["valid_ppl"] > 1).all()
    check = json.loads((tmp_path / "results/language/plateau/tiny_lm.json").read_text())
    assert check["epochs"] == 1 and check["double_epochs"] == 2 and check["runs"] == 2
    assert (tmp_path / "results/figures/language_tiny_lm.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_ptb_stops_at_the_corpus_rule_before_any_training(tmp_path, run_snakemake):
    language = {**LANGUAGE, "settings": {"ptb_lm": {**LANGUAGE["settings"]["tiny_lm"], "corpus": "ptb"}}}
    config = tiny_config(language)
    config["datasets"]["ptb"] = {"root": str(tmp_path / "ptb")}
    target = "results/tables/language_ptb_lm.md"
    planned = run_snakemake(tmp_path, "--cores", "1", "-n", target, config=config, check=False)
    assert planned.returncode == 0, planned.stderr[-3000:]  # the DAG is built without the files
    assert "language_train_seeds_1_3" in planned.stdout
    failed = run_snakemake(tmp_path, "--cores", "1", target, config=config, check=False)
    assert failed.returncode != 0
    log = (tmp_path / "results/logs/language/corpus_ptb.log").read_text()
    assert f"PTB file {tmp_path / 'ptb' / 'ptb.train.txt'} is missing: expected Mikolov's preprocessed" in log
    assert not (tmp_path / "results/logs/language/train").exists()
