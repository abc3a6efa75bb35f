"""The runvar command line: metrics, compare and budget on prediction files; bad inputs."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from runvar.cli import main
from runvar.io import save_predictions
from runvar.metrics import variability


def write_runs(directory, logits, labels):
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for r, run in enumerate(logits):
        path = directory / f"seed{r + 1}.npz"
        save_predictions(path, run, labels)
        paths.append(str(path))
    return paths


@pytest.fixture
def two_models(tmp_path):
    """Model B is about 4 points more accurate than model A on the same 300 examples."""
    rng = np.random.default_rng(0)
    n, c = 300, 6
    labels = rng.integers(0, c, n)
    base = rng.normal(size=(n, c))
    a = (base + 0.8 * rng.normal(size=(5, n, c))).astype(np.float32)
    b = (base + 0.8 * rng.normal(size=(6, n, c))).astype(np.float32)
    b[:, np.arange(n), labels] += 0.3
    return a, b, labels, write_runs(tmp_path / "a", a, labels), write_runs(tmp_path / "b", b, labels)


def run_cli(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_metrics_json_is_the_variability_row(two_models, capsys, tmp_path):
    a, _, labels, paths, _ = two_models
    status, out, _ = run_cli(capsys, "metrics", *paths, "--format", "json", "--resamples", "500")
    assert status == 0
    row, expected = json.loads(out), variability(a, labels, resamples=500)
    assert set(row) == set(expected)
    for key in ("accuracy_mean", "accuracy_sd", "accuracy_sd_sd", "cross_entropy_sd", "pairwise_disagreement",
                "pairwise_spearman", "ensemble_delta_accuracy", "ensemble_delta_cross_entropy"):
        assert row[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12)
    # the same row from .npy logits: one stack file, or one file per run
    np.save(tmp_path / "stack.npy", a)
    np.save(tmp_path / "labels.npy", labels)
    status, out, _ = run_cli(capsys, "metrics", str(tmp_path / "stack.npy"), "--labels", str(tmp_path / "labels.npy"),
                             "--format", "json", "--resamples", "500")
    assert status == 0 and json.loads(out)["pairwise_spearman"] == pytest.approx(expected["pairwise_spearman"], rel=1e-12)
    status, out, _ = run_cli(capsys, "metrics", *paths)
    assert status == 0 and "| accuracy_sd |" in out and "| pairwise_spearman |" in out


@pytest.mark.slow  # deepsig's ASO: ~6 s
def test_compare_uses_the_maintained_statistics(two_models, capsys):
    a, b, labels, paths_a, paths_b = two_models
    status, out, _ = run_cli(capsys, "compare", "--a", *paths_a, "--b", *paths_b, "--format", "json",
                             "--resamples", "2000")
    assert status == 0
    result = json.loads(out)
    acc_a = (a.argmax(2) == labels).mean(1) * 100
    acc_b = (b.argmax(2) == labels).mean(1) * 100
    assert result["a"]["runs"] == 5 and result["b"]["runs"] == 6
    assert result["accuracy_difference"] == pytest.approx(acc_b.mean() - acc_a.mean(), rel=1e-12)
    low, high = result["accuracy_difference_ci95"]
    assert low < result["accuracy_difference"] < high and low > 0
    assert result["accuracy_welch_p"] == pytest.approx(stats.ttest_ind(acc_b, acc_a, equal_var=False).pvalue, rel=1e-9)
    wins = np.mean([(x > y) + 0.5 * (x == y) for x in acc_b for y in acc_a])
    assert result["probability_of_improvement"] == pytest.approx(wins)
    assert 0 <= result["aso_epsilon_min"] < 0.5  # B is clearly better
    within_a = np.mean([np.mean(a[i].argmax(1) != a[j].argmax(1)) for i in range(5) for j in range(i + 1, 5)]) * 100
    between = np.mean([np.mean(x.argmax(1) != y.argmax(1)) for x in a for y in b]) * 100
    assert result["a"]["disagreement_within"] == pytest.approx(within_a, rel=1e-12)
    assert result["disagreement_between"] == pytest.approx(between, rel=1e-12)
    status, out, _ = run_cli(capsys, "compare", "--a", *paths_a, "--b", *paths_b, "--resamples", "200")
    assert status == 0 and "ASO epsilon_min" in out and "| accuracy (%), Welch p |" in out


@pytest.mark.slow  # deepsig's ASO: ~3 s
def test_compare_scores_equally_accurate_sets_as_a_tie_without_warnings():
    """Every run of both sets has the same accuracy: no set is stochastically larger, so ASO's
    epsilon_min is deepsig's tie value 0.5, and the user sees no division-by-zero warning."""
    import warnings

    from runvar.stats.comparison import compare_runs

    rng = np.random.default_rng(0)
    labels = np.arange(20) % 4
    right = np.eye(4, dtype=np.float32)[labels] * 5.0
    runs = np.stack([right + rng.normal(0, 0.1, right.shape).astype(np.float32) for _ in range(7)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compare_runs(runs[:3], runs[3:], labels, resamples=200)
    assert result["accuracy_difference"] == 0.0 and result["probability_of_improvement"] == 0.5
    assert np.isnan(result["accuracy_welch_p"])  # no spread in either set: t is undefined
    assert result["aso_epsilon_min"] == pytest.approx(0.5)


def test_budget_from_runs_and_from_a_row(two_models, capsys, tmp_path):
    a, _, labels, paths, _ = two_models
    acc = (a.argmax(2) == labels).mean(1) * 100
    sd = np.std(acc, ddof=1)
    status, out, _ = run_cli(capsys, "budget", *paths, "--delta", "0.5", "--format", "json")
    assert status == 0
    result = json.loads(out)
    power = TTestIndPower()
    assert result["detectable_difference"] == pytest.approx(
        power.solve_power(nobs1=5, alpha=0.05, power=0.8) * sd, rel=1e-9)
    needed = result["runs_needed"]
    assert power.power(0.5 / sd, needed, 0.05) >= 0.8 > power.power(0.5 / sd, needed - 1, 0.05)
    row_path = tmp_path / "row.json"
    row_path.write_text(json.dumps(variability(a, labels, resamples=100)))
    status, out, _ = run_cli(capsys, "budget", "--row", str(row_path), "--delta", "0.5", "--format", "json")
    assert status == 0 and json.loads(out)["runs_needed"] == needed


@pytest.mark.parametrize("problem, message", [
    ("one_run", "need at least 2 runs, got 1"),
    ("labels_differ", "seed2.npz: labels differ from those of"),
    ("nan", "seed2.npz: logits contain NaN"),
    ("npy_nan", "stack.npy (run 1): 1 logits are NaN or infinite (first at example 4, class 2)"),
    ("shape", "seed2.npz: logits shape (300, 7) != (300, 6)"),
    ("missing", "nope.npz does not exist"),
    ("npy_without_labels", "need --labels FILE"),
    ("short_labels", "labels.npy: labels have shape (10,), the logits have 300 examples"),
    ("compare_other_test_set", "labels differ from those of"),
])
def test_bad_inputs_name_the_file_without_traceback(two_models, tmp_path, capsys, problem, message):
    a, b, labels, paths, paths_b = two_models
    bad = tmp_path / "bad"
    argv = ["metrics"]
    if problem == "one_run":
        argv += paths[:1]
    elif problem == "labels_differ":
        argv += write_runs(bad, a[:1], labels) + [str(bad / "x")]
        save_predictions(bad / "seed2.npz", a[1], (labels + 1) % 6)
        argv[-1] = str(bad / "seed2.npz")
    elif problem == "nan":
        broken = a[:2].copy()
        broken[1, 4, 2] = np.nan
        argv += write_runs(bad, broken, labels)
    elif problem == "npy_nan":
        broken = a[:2].copy()
        broken[1, 4, 2] = np.inf
        np.save(tmp_path / "stack.npy", broken)
        np.save(tmp_path / "labels.npy", labels)
        argv += [str(tmp_path / "stack.npy"), "--labels", str(tmp_path / "labels.npy")]
    elif problem == "shape":
        argv += [paths[0], *write_runs(bad, np.concatenate([a[:2], a[:2, :, :1]], axis=2), labels)[1:]]
    elif problem == "missing":
        argv += [paths[0], str(tmp_path / "nope.npz")]
    elif problem == "npy_without_labels":
        np.save(tmp_path / "stack.npy", a)
        argv += [str(tmp_path / "stack.npy")]
    elif problem == "short_labels":
        np.save(tmp_path / "stack.npy", a)
        np.save(tmp_path / "labels.npy", labels[:10])
        argv += [str(tmp_path / "stack.npy"), "--labels", str(tmp_path / "labels.npy")]
    elif problem == "compare_other_test_set":
        argv = ["compare", "--a", *paths, "--b", *write_runs(bad, b[:2], (labels + 1) % 6)]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert err.startswith(f"runvar {argv[0]}: error: ")


@pytest.mark.slow  # a process per command: ~10 s
def test_console_script_is_installed_with_help_on_every_command():
    runvar = [sys.executable, "-c", "import sys; from runvar.cli import main; sys.exit(main())"]
    for command in ("metrics", "compare", "budget"):
        out = subprocess.run([*runvar, command, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and f"usage: runvar {command}" in out.stdout
    script = __import__("shutil").which("runvar", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script, "pip install -e . installs the runvar console script beside python"
