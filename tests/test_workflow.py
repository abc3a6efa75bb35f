"""Run the real workflow with snakemake on the tiny config, end to end, in a temporary directory."""

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from runvar.forest import FOREST_ALT
from runvar.io import load_prediction_stack
from runvar.metrics import variability
from runvar.seeds import trained_variant
from runvar.stats.spread import bulk_sd
from runvar.studies import REPORT_CATEGORIES

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def tiny_config():
    return yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_config, run_snakemake):
    """The tiny study run once, with its HTML report."""
    workdir = tmp_path_factory.mktemp("study")
    run_snakemake(workdir, "--cores", "2", config=tiny_config)
    run_snakemake(workdir, "--report", str(workdir / "results" / "report.html"))
    return workdir


def gate_of(*check_paths: Path) -> str:
    """The verdict a claim on rows of these recipes gets from their plateau checks when not all
    are on their plateau: one decided off it, else one undecided."""
    decisions = {json.loads(path.read_text())["decision"] for path in check_paths}
    assert decisions != {"on the plateau"}, "2-epoch runs on their plateau"
    return "inconclusive: not converged" if "not on the plateau" in decisions else "inconclusive: plateau undecided"


def test_runs_have_predictions_records_and_history(finished, tiny_config):
    run = finished / "results/runs/tiny_cnn/bitflip/seed2"
    record = json.loads((run / "run.json").read_text())
    assert record["seeds"] == {"init": 1, "shuffle": 1, "augment": 1, "stochastic": 1, "bitflip": 2,
                              "cudnn": False, "onset_epoch": 0, "varied": ["bitflip"], "shift": 0}
    assert record["bitflip"]["parameter"] == "0.weight"
    assert record["execution"]["threads"] == 1 and record["execution"]["device"] == "cpu"
    assert record["versions"]["torch"] and record["config_digest"] and record["wall_seconds"] > 0
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == list(range(1, tiny_config["setup_defaults"]["epochs"] + 1))
    for name in ("predictions.npz", "model.pt"):
        assert (run / name).stat().st_size > 0
    assert (finished / "results/benchmarks/train/tiny_cnn/bitflip/seeds1-3.tsv").exists()


def test_metrics_match_the_predictions(finished, tiny_config):
    runs = tiny_config["studies"]["sources"]["runs"]
    for setup in ("tiny_cnn", "tiny_mlp"):
        paths = [finished / f"results/runs/{setup}/{trained_variant('init', r, 'cpu')}/seed{r}/predictions.npz"
                 for r in range(1, runs + 1)]
        logits, labels = load_prediction_stack(paths)
        expected = variability(logits, labels, resamples=1000, seed=0)
        row = json.loads((finished / f"results/metrics/{setup}/init.json").read_text())
        for key in ("accuracy_sd", "accuracy_sd_sd", "cross_entropy_sd", "pairwise_disagreement",
                    "pairwise_spearman", "ensemble_delta_accuracy"):
            assert row[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-15)
        assert row["accuracy_sd"] > 0


def test_sources_table_and_claims(finished, tiny_config):
    table = pd.read_csv(finished / "results/tables/sources_tiny_cnn.csv")
    assert list(table["variant"]) == tiny_config["studies"]["sources"]["variants"]
    none = table.set_index("variant").loc["none"]
    assert none["accuracy_sd"] == 0 and none["cross_entropy_sd"] == 0 and none["pairwise_disagreement"] == 0
    assert (table.set_index("variant").loc[["init", "shuffle"], "pairwise_spearman"] < 1).all()
    bitflip = json.loads((finished / "results/metrics/tiny_cnn/bitflip.json").read_text())
    assert not bitflip["bitwise_identical"]
    md = (finished / "results/tables/sources_tiny_cnn.md").read_text()
    assert "| Variant | R | Accuracy SD (%) |" in md and "| none | 3 | 0.000 ± 0.000 |" in md
    assert not table["converged"].any() and "| Converged |" in md  # 2 epochs: not on the plateau
    claims = pd.read_csv(finished / "results/claims/sources_tiny_cnn.csv")
    verdicts = claims[claims["level"] == "claim"].set_index("claim")["verdict"]
    # no `all` row; 2-epoch runs are not on their plateau, or their 3-run check cannot tell: the
    # claim's gate is the one the check decided
    gate = gate_of(finished / "results/plateau/tiny_cnn.json")
    assert verdicts.to_dict() == {1: "not tested", 2: gate}
    tests = claims[claims["level"] == "test"]
    assert list(tests["test"].unique()) == ["bitflip / init"] and len(tests) == 5
    acc = tests[tests["measure"] == "accuracy bulk SD"].iloc[0]
    per_run = {v: json.loads((finished / f"results/metrics/tiny_cnn/{v}.json").read_text())["per_run"]["accuracy"]
               for v in ("bitflip", "init")}
    assert acc["statistic"] == pytest.approx(bulk_sd(per_run["bitflip"]) / bulk_sd(per_run["init"]))
    for fig in ("png", "pdf"):
        assert (finished / f"results/figures/sources_tiny_cnn.{fig}").stat().st_size > 1000


def test_plateau_checks_decide_on_the_check_set(finished, tiny_config):
    """The tiny config's checks evaluate the runs' saved models on the 1,000-example check set,
    not on the test set their histories were evaluated on; the test set's change stays beside."""
    from runvar.check_set import check_set_finals
    from runvar.data import load_dataset

    record = json.loads((finished / "results/plateau/tiny_cnn.json").read_text())
    check = load_dataset(finished / "results/data/check/mnist1d.npz")
    assert record["check_examples"] == len(check.y_test) == 1000 and record["check_set_checksum"] == check.checksum
    runs = [finished / f"results/runs/{s}/all/seed{r}" for s in ("tiny_cnn", "tiny_cnn.epochs4") for r in (1, 2, 3)]
    setup = {**tiny_config["setup_defaults"], **tiny_config["setups"]["tiny_cnn"]}
    finals = check_set_finals(setup, [r / "model.pt" for r in runs], check)["accuracy"]
    assert record["accuracy"] == pytest.approx(finals[:3].mean()) and record["accuracy_double"] == pytest.approx(finals[3:].mean())
    tested = [pd.read_csv(r / "history.csv")["test_accuracy"].iloc[-1] * 100 for r in runs]
    assert record["test_change"] == pytest.approx(np.mean(tested[3:]) - np.mean(tested[:3]))
    assert record["change"] != pytest.approx(record["test_change"])
    assert "| tiny_cnn | all 1-3 | 2 | check set (1,000) |" in (finished / "results/tables/plateau.md").read_text()



def test_report_is_self_contained(finished):
    html = (finished / "results" / "report.html").read_text()
    assert len(html) > 100_000
    for name in ("sources_tiny_cnn.csv", "sources_tiny_cnn.png", "sources_tiny_mlp.csv"):
        assert name in html


def test_report_front_page_reads_claims_first(finished):
    """The front page: the claims with their verdicts, the studies' categories in reading order,
    and the config as a collapsed, formatted appendix (the JSON the report embeds is escaped)."""
    html = (finished / "results" / "report.html").read_text()
    with warnings.catch_warnings():  # the report embeds its front page as an escaped JS string
        warnings.simplefilter("ignore", DeprecationWarning)
        front = html.encode().decode("unicode_escape", errors="ignore")
    claims, studies, appendix = (front.index(h) for h in
                                 ("Claims and verdicts</h1>", "Tables and figures by study</h1>", "Appendix: configuration</h1>"))
    assert claims < studies < appendix
    verdicts = front[claims:studies]  # results/claims/*.html: the claims Markdown as HTML
    assert "<h2>Claims 1 and 2: tiny_cnn</h2>" in verdicts and "<th>Verdict</th>" in verdicts
    claim_rows = pd.read_csv(finished / "results/claims/sources_tiny_cnn.csv")
    assert f"<strong>{claim_rows['verdict'][0]}</strong>" in verdicts
    assert "02. Sources of nondeterminism (SD Tables 1, 3; RE Table 4)</a>" in front[studies:appendix]
    assert "<details><summary>" in front[appendix:] and '"seeds_per_job": 3' in front[appendix:]


def test_forest_plot_of_every_claim_test_opens_the_report(finished):
    """results/figures/forest.png: every test row of both setups' claims, a PNG of a readable
    size, first in the report's menu and embedded in its front page above the claims tables."""
    tests = sum(int((pd.read_csv(finished / f"results/claims/sources_{setup}.csv")["level"] == "test").sum())
                for setup in ("tiny_cnn", "tiny_mlp"))
    png = (finished / "results/figures/forest.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (int.from_bytes(png[at:at + 4], "big") for at in (16, 20))  # the IHDR chunk
    assert 800 <= width <= 2500 and 30 * tests <= height <= 4000, (width, height)
    assert (finished / "results/figures/forest.pdf").stat().st_size > 1000
    log = (finished / "results/logs/figures/forest.log").read_text()
    assert log.count(" against ") == tests == 10
    html = (finished / "results" / "report.html").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        front = html.encode().decode("unicode_escape", errors="ignore")
    menu = front.index("Tables and figures by study</h1>")
    assert min(REPORT_CATEGORIES.values()) == REPORT_CATEGORIES["verdicts"]  # Snakemake sorts them by name
    first, claims = (front.index(f"{REPORT_CATEGORIES[key]}</a>", menu) for key in ("verdicts", "claims"))
    assert first < claims
    picture = front.index(f'<img alt="{FOREST_ALT}" src="data:image/png;base64,')
    assert front.index("Claims and verdicts</h1>") < picture < front.index("<h2>Claims 1 and 2: tiny_cnn</h2>")


def dry_run_outputs(run_snakemake, workdir: Path) -> list[str]:
    """The outputs a dry run plans; none only when snakemake says so ("Nothing to be done"), so
    that a change in how snakemake prints its jobs cannot pass for an empty plan."""
    out = run_snakemake(workdir, "-n", "--cores", "1")
    outputs = re.findall(r"^\s+output: (.*)$", out.stdout, flags=re.M)
    nothing = "Nothing to be done" in out.stdout + out.stderr
    assert nothing == (not outputs), f"planned {len(outputs)} outputs, 'Nothing to be done': {nothing}\n" \
                                      f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return outputs


def test_editing_one_setup_reruns_only_its_targets(finished, tiny_config, run_snakemake):
    assert dry_run_outputs(run_snakemake, finished) == []  # nothing to do after a complete run
    edited = yaml.safe_load(yaml.safe_dump(tiny_config))
    edited["setups"]["tiny_mlp"]["model"]["hidden"] = [24]
    (finished / "config.yaml").write_text(yaml.safe_dump(edited))
    try:
        outputs = dry_run_outputs(run_snakemake, finished)
    finally:
        (finished / "config.yaml").write_text(yaml.safe_dump(tiny_config))
    planned = [p.strip() for line in outputs for p in line.split(",")]
    runs = [p for p in planned if p.startswith("results/runs/")]
    # its runs, and its plateau check's: runs 1-3 of `all` at 2 and at 4 epochs (tiny_mlp.epochs4)
    assert runs and all(p.startswith(("results/runs/tiny_mlp/", "results/runs/tiny_mlp.epochs4/all/")) for p in runs)
    predictions = [p for p in runs if p.endswith("predictions.npz")]
    # 5 variants + the plateau check's `all`, 3 runs each; run 1 of init, shuffle and stochastic is none's
    assert len([p for p in predictions if p.startswith("results/runs/tiny_mlp/")]) == (5 + 1) * 3 - 3
    assert len([p for p in predictions if "tiny_mlp.epochs4" in p]) == 3
    assert not any("tiny_cnn" in p for p in planned)
    assert "results/tables/sources_tiny_mlp.csv" in planned


def test_changing_seeds_per_job_retrains_nothing(finished, tiny_config, run_snakemake):
    """How runs are grouped into jobs is not part of a run: the tiny study trained its runs 3 to
    a job; one job per run, or all in one, finds every run already done."""
    for per_job in (1, 10):
        regrouped = yaml.safe_load(yaml.safe_dump(tiny_config))
        regrouped["train"]["seeds_per_job"] = per_job
        (finished / "config.yaml").write_text(yaml.safe_dump(regrouped))
        try:
            assert dry_run_outputs(run_snakemake, finished) == [], per_job
        finally:
            (finished / "config.yaml").write_text(yaml.safe_dump(tiny_config))


def test_bad_config_fails_before_any_job(tmp_path, tiny_config, run_snakemake):
    bad = yaml.safe_load(yaml.safe_dump(tiny_config))
    bad["setups"]["tiny_cnn"]["optimizer"] = {"lr": -1}
    bad["studies"]["sources"]["variants"].append("cosmic-rays")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(bad))
    out = run_snakemake(tmp_path, "--cores", "1", check=False)
    assert out.returncode != 0
    assert "setups.tiny_cnn.optimizer.lr: -1 is less than or equal to the minimum of 0" in out.stderr
    assert not (tmp_path / "results").exists()


def test_corrupt_predictions_fail_the_metrics_job_clearly(finished):
    target = finished / "results/runs/tiny_mlp/shuffle/seed3/predictions.npz"
    original = target.read_bytes()
    try:
        target.write_bytes(original[:64])
        out = subprocess.run(
            [sys.executable, "-c", "from runvar.runs import variant_metrics; import sys;"
             f"variant_metrics('shuffle', ['{target}'] * 2, [])"],
            capture_output=True, text=True)
        assert "CorruptFileError" in out.stderr and "is truncated or corrupt" in out.stderr
    finally:
        target.write_bytes(original)
    assert np.load(target)["logits"].shape[1] == 10
