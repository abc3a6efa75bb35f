"""The synthetic data models: feature frequencies, label rates, weights, streaming, seeding."""

import numpy as np
import pytest
from scipy.special import expit

from runvar.synthetic import Stream, linear_feature_probs, make_data_model, numpy_rng, quadratic_feature_probs
from runvar.synthetic.data import mixture_draws

N = 1 << 17


def test_feature_probabilities_are_the_papers_formulas():
    j = np.arange(1, 17)
    assert np.allclose(linear_feature_probs(), np.concatenate([6 / (j * np.pi) ** 2] * 2))
    assert linear_feature_probs()[0] == pytest.approx(0.6079, abs=1e-4)  # "0.61 for j = 1"
    j = np.arange(1, 5)
    assert np.allclose(quadratic_feature_probs(), np.concatenate([90 / (j * np.pi) ** 4] * 8))


@pytest.mark.parametrize("kind", ["linear", "quadratic"])
def test_empirical_feature_frequencies_match_the_formulas(kind):
    model = make_data_model(kind, np.random.default_rng(0))
    x = model.sample(N, np.random.default_rng(1)).x
    p = model.feature_probs
    z = (x.mean(axis=0) - p) / np.sqrt(p * (1 - p) / N)
    assert np.abs(z).max() < 5, z


@pytest.mark.parametrize("kind", ["linear", "quadratic"])
def test_label_rates_match_sigmoid_of_the_true_log_odds(kind):
    model = make_data_model(kind, np.random.default_rng(2))
    ex = model.sample(N, np.random.default_rng(3))
    p = expit(ex.logit)
    # Overall rate, then per frequent feature pattern: mean(y) against sigmoid(s(x)).
    assert abs(ex.y.mean() - p.mean()) < 5 * np.sqrt((p * (1 - p)).sum()) / N
    patterns, inverse, counts = np.unique(ex.x, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    for pattern in np.argsort(counts)[-5:]:
        rows = inverse == pattern
        rate, q = ex.y[rows].mean(), p[rows][0]
        assert np.all(p[rows] == q)
        assert abs(rate - q) < 5 * np.sqrt(q * (1 - q) / rows.sum()) + 1e-12, (patterns[pattern], rate, q)


def test_linear_log_odds_are_x_dot_theta():
    model = make_data_model("linear", np.random.default_rng(4))
    ex = model.sample(100, np.random.default_rng(5))
    assert model.weights.shape == (32,)
    assert np.allclose(ex.logit, ex.x.astype(float) @ model.weights)


def test_quadratic_log_odds_are_x_theta_x_with_lower_triangular_blocks():
    model = make_data_model("quadratic", np.random.default_rng(6))
    theta = model.theta_matrix()
    assert np.count_nonzero(np.triu(theta, 1)) == 0
    block_mask = np.kron(np.eye(8), np.ones((4, 4))).astype(bool)
    assert np.count_nonzero(theta[~block_mask]) == 0
    assert np.count_nonzero(theta) == 8 * 10
    ex = model.sample(200, np.random.default_rng(7))
    x = ex.x.astype(float)
    assert np.allclose(ex.logit, np.einsum("ni,ij,nj->n", x, theta, x))


def test_weights_come_from_the_three_normal_mixture():
    draws = mixture_draws(200_000, np.random.default_rng(8))
    # mu uniform on {-2, 0, 2}, sigma 1: mean 0, variance 1 + 8/3, a third of the mass near each mean.
    assert draws.mean() == pytest.approx(0.0, abs=0.02)
    assert draws.var() == pytest.approx(1 + 8 / 3, rel=0.02)


def test_streaming_in_chunks_gives_the_same_sequence_as_one_draw():
    model = make_data_model("quadratic", np.random.default_rng(9))
    whole = model.sample(1000, np.random.default_rng(10))
    chunks = list(model.stream(1000, 96, np.random.default_rng(10)))
    assert [len(c) for c in chunks] == [96] * 10 + [40]
    assert np.array_equal(np.concatenate([c.x for c in chunks]), whole.x)
    assert np.array_equal(np.concatenate([c.y for c in chunks]), whole.y)
    assert np.array_equal(np.concatenate([c.logit for c in chunks]), whole.logit)


def test_named_streams_are_reproducible_and_distinct():
    assert np.array_equal(numpy_rng(1, Stream.TRAIN, 3).random(5), numpy_rng(1, Stream.TRAIN, 3).random(5))
    assert not np.array_equal(numpy_rng(1, Stream.TRAIN, 3).random(5), numpy_rng(1, Stream.TRAIN, 4).random(5))
    assert not np.array_equal(numpy_rng(1, Stream.TRAIN, 3).random(5), numpy_rng(1, Stream.WARM_TRAIN, 3).random(5))
    assert not np.array_equal(numpy_rng(1, Stream.TRAIN, 3).random(5), numpy_rng(2, Stream.TRAIN, 3).random(5))


def test_unknown_data_model_is_named():
    with pytest.raises(ValueError, match="'cubic'.*linear, quadratic"):
        make_data_model("cubic", np.random.default_rng(0))
