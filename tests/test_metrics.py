import itertools

import numpy as np
import pytest
from scipy.stats import spearmanr

from runvar import metrics


def test_accuracy_and_cross_entropy_by_hand():
    logits = np.array([[[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]], dtype=np.float32)
    labels = np.array([0, 0, 0])
    assert metrics.accuracies(logits, labels)[0] == pytest.approx(2 / 3)
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(1.0)), np.log1p(np.exp(-3.0))])
    assert metrics.cross_entropies(logits, labels)[0] == pytest.approx(expected, rel=1e-6)


def test_sd_is_population_sd():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    assert metrics.population_sd(values) == pytest.approx(np.sqrt(np.mean((values - 3.5) ** 2)))
    assert metrics.population_sd(values) != pytest.approx(np.std(values, ddof=1))


def test_identical_values_have_sd_exactly_zero():
    values = np.full(10, 85.2)
    assert np.std(values) != 0.0  # numpy's own mean leaves a rounding residue here
    assert metrics.population_sd(values) == 0.0
    assert metrics.bootstrap_sd_of_sd(values, resamples=100) == 0.0


def test_bootstrap_sd_of_sd_matches_explicit_loop():
    values = np.array([0.3, 0.9, 0.1, 0.5, 0.8, 0.2])
    rng = np.random.default_rng(5)
    idx = rng.integers(0, len(values), size=(10_000, len(values)))
    loop = [np.std(values[row], ddof=0) for row in idx]
    assert metrics.bootstrap_sd_of_sd(values, seed=5) == pytest.approx(np.std(loop), rel=1e-12)
    assert metrics.BOOTSTRAP_RESAMPLES == 10_000
    assert len(metrics.bootstrap_sds(values)) == 10_000


def test_pairwise_spearman_matches_scipy(random_logits):
    logits, _ = random_logits
    matrix = metrics.pairwise_spearman_matrix(logits)
    for i, j in itertools.combinations(range(len(logits)), 2):
        rho = spearmanr(logits[i].ravel(), logits[j].ravel()).statistic
        assert matrix[i, j] == pytest.approx(rho, abs=1e-10)
    pairs = [spearmanr(logits[i].ravel(), logits[j].ravel()).statistic
             for i, j in itertools.combinations(range(len(logits)), 2)]
    assert metrics.pairwise_spearman(logits) == pytest.approx(np.mean(pairs), abs=1e-10)


def test_spearman_handles_ties_like_scipy():
    logits = np.array([[[1, 1], [2, 3]], [[1, 2], [2, 2]]], dtype=np.float32)
    expected = spearmanr(logits[0].ravel(), logits[1].ravel()).statistic
    assert metrics.pairwise_spearman(logits) == pytest.approx(expected)


def test_pairwise_disagreement_matches_loop(random_logits):
    logits, _ = random_logits
    preds = logits.argmax(2)
    pairs = [np.mean(preds[i] != preds[j]) for i, j in itertools.combinations(range(len(logits)), 2)]
    assert metrics.pairwise_disagreement(logits) == pytest.approx(np.mean(pairs))


def test_ensemble_delta_matches_loop(random_logits):
    logits, labels = random_logits
    acc = metrics.accuracies(logits, labels)
    ce = metrics.cross_entropies(logits, labels)
    acc_d, ce_d = [], []
    for i, j in itertools.combinations(range(len(logits)), 2):
        ens = (logits[i] + logits[j]) / 2
        acc_d.append(np.mean(ens.argmax(1) == labels) - (acc[i] + acc[j]) / 2)
        ce_d.append(metrics.cross_entropies(ens[None], labels)[0] - (ce[i] + ce[j]) / 2)
    got_acc, got_ce = metrics.ensemble_delta(logits, labels)
    assert got_acc == pytest.approx(np.mean(acc_d))
    assert got_ce == pytest.approx(np.mean(ce_d), rel=1e-6)


def test_identical_runs_have_zero_variability(random_logits):
    logits, labels = random_logits
    same = np.repeat(logits[:1], 4, axis=0)
    row = metrics.variability(same, labels, resamples=200)
    assert row["accuracy_sd"] == 0.0 and row["cross_entropy_sd"] == 0.0
    assert row["pairwise_disagreement"] == 0.0
    assert row["pairwise_spearman"] == pytest.approx(1.0)
    assert row["ensemble_delta_accuracy"] == 0.0
    assert metrics.all_identical(same)
    nudged = same.copy()
    nudged[2, 0, 0] = np.nextafter(nudged[2, 0, 0], np.float32(np.inf))
    assert not metrics.all_identical(nudged)


def test_variability_rejects_bad_shapes(random_logits):
    logits, labels = random_logits
    with pytest.raises(ValueError, match="labels must have shape"):
        metrics.variability(logits, labels[:-1])
    with pytest.raises(ValueError, match="at least 2 runs"):
        metrics.variability(logits[:1], labels)
