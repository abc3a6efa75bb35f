"""Excess loss L and relative prediction difference Delta_r against hand computations."""

import numpy as np
import pytest

from runvar.synthetic import excess_loss, pair_metrics, relative_prediction_difference


def logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def test_excess_loss_is_the_mean_kl_of_the_label_distributions():
    p_true = np.array([0.5, 0.8, 0.1])
    q = np.array([0.5, 0.6, 0.3])
    by_hand = np.mean([
        0.0,
        0.8 * np.log(0.8 / 0.6) + 0.2 * np.log(0.2 / 0.4),
        0.1 * np.log(0.1 / 0.3) + 0.9 * np.log(0.9 / 0.7),
    ])
    assert excess_loss(logit(q), logit(p_true)) == pytest.approx(by_hand, rel=1e-12)
    assert excess_loss(logit(p_true), logit(p_true)) == pytest.approx(0.0, abs=1e-15)


def test_excess_loss_reduces_the_last_axis_only_and_stays_finite_when_saturated():
    true = logit([0.3, 0.7])
    models = np.stack([logit([0.3, 0.7]), logit([0.5, 0.5]), np.array([-800.0, 800.0])])
    losses = excess_loss(models, true)
    assert losses.shape == (3,)
    assert losses[0] == pytest.approx(0.0, abs=1e-15)
    assert losses[1] == pytest.approx(0.3 * np.log(0.3 / 0.5) + 0.7 * np.log(0.7 / 0.5), rel=1e-12)
    assert np.isfinite(losses[2]) and losses[2] > 100


def test_relative_prediction_difference_by_hand():
    p_true = np.array([0.5, 0.25, 0.8])
    a = np.array([0.6, 0.2, 0.8])
    b = np.array([0.4, 0.3, 0.7])
    by_hand = (0.2 / 0.5 + 0.1 / 0.25 + 0.1 / 0.8) / 3
    got = relative_prediction_difference(logit(a), logit(b), logit(p_true))
    assert got == pytest.approx(by_hand, rel=1e-12)
    assert relative_prediction_difference(logit(a), logit(a), logit(p_true)) == 0.0


def test_pair_metrics_average_over_pairs_and_examples():
    p_true = np.array([0.5, 0.5])
    pairs = logit(np.array([
        [[0.5, 0.5], [0.6, 0.4]],  # Delta_r = (0.1/0.5 + 0.1/0.5) / 2 = 0.2
        [[0.5, 0.5], [0.5, 0.5]],  # identical: 0
    ]))
    m = pair_metrics(pairs, logit(p_true))
    assert m["delta_r"]["values"] == pytest.approx([0.2, 0.0])
    assert m["delta_r"]["mean"] == pytest.approx(0.1)
    assert m["delta_r"]["sd"] == pytest.approx(np.std([0.2, 0.0], ddof=1))
    assert m["delta_r"]["sem"] == pytest.approx(np.std([0.2, 0.0], ddof=1) / np.sqrt(2))
    assert len(m["excess_loss"]["values"]) == 4
    assert m["excess_loss"]["values"][0] == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="pairs, 2, examples"):
        pair_metrics(pairs[:, :1], logit(p_true))
