"""Linear CKA: both vectorised forms against the Gram-matrix (HSIC) definition, and layers."""

import numpy as np
import pytest
import torch

from runvar.reduction.cka import cka_layers, fixed_subset, layer_cka, layer_features, pairwise_linear_cka
from runvar.models import build_model


def hsic_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al.'s definition: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with linear
    kernels on the *uncentred* features and the centring matrix H."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n

    def hsic(k, l):
        return np.trace(k @ h @ l @ h) / (n - 1) ** 2

    k, l = x @ x.T, y @ y.T
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


@pytest.mark.parametrize("form", ["feature", "gram", "auto"])
@pytest.mark.parametrize("d", [3, 40])
def test_every_pair_matches_the_hsic_definition(form, d):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, d))
    feats = [base @ rng.normal(size=(d, d)) + rng.normal(size=(30, d)) * s + 5.0 for s in (0.1, 1, 3, 10)]
    cka = pairwise_linear_cka(feats, form=form)
    for i in range(4):
        for j in range(4):
            assert cka[i, j] == pytest.approx(hsic_cka(feats[i], feats[j]), rel=1e-10)
    assert np.allclose(np.diag(cka), 1) and np.allclose(cka, cka.T)
    assert cka[0, 1] > cka[0, 3]  # more shared structure, higher CKA


def test_invariances():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    cka = pairwise_linear_cka([x, 3.0 * x @ q + 7.0, rng.normal(size=(50, 8))])
    assert cka[0, 1] == pytest.approx(1.0)  # orthogonal transform, isotropic scale, shift
    assert cka[0, 2] < 0.6


def test_constant_features_and_bad_form_are_errors():
    with pytest.raises(ValueError, match="constant features"):
        pairwise_linear_cka([np.ones((5, 2)), np.eye(5)[:, :2]])
    with pytest.raises(ValueError, match="form must be"):
        pairwise_linear_cka([np.eye(3)] * 2, form="rbf")


def test_layers_of_cnn1d_and_resnet():
    cnn = build_model("cnn1d", (1, 40), 10, 1, channels=8, layers=3, dropout=0.2)
    assert list(cka_layers(cnn)) == ["conv1", "stage1", "stage2", "stage3", "logits"]
    resnet = build_model("resnet14", (3, 8, 8), 10, 1)
    assert list(cka_layers(resnet)) == ["conv1", "stage1", "stage2", "stage3", "avgpool", "logits"]
    feats = layer_features(resnet, torch.randn(6, 3, 8, 8))
    assert feats["stage2"].shape == (6, 32 * 4 * 4) and feats["avgpool"].shape == (6, 64)
    with pytest.raises(ValueError, match="CKA layers are defined"):
        cka_layers(torch.nn.Identity())


def test_identical_runs_have_cka_one_and_different_inits_less():
    x = torch.randn(40, 1, 40, generator=torch.Generator().manual_seed(0))
    models = [build_model("cnn1d", (1, 40), 10, seed, channels=8, layers=2) for seed in (1, 1, 2)]
    same = layer_cka([layer_features(m, x) for m in models[:2]])
    assert all(v["mean"] == pytest.approx(1.0) for v in same.values())
    other = layer_cka([layer_features(m, x) for m in (models[0], models[2])])
    assert all(v["mean"] < 1 - 1e-6 for v in other.values())


def test_fixed_subset_is_seeded_and_sorted():
    a, b = fixed_subset(1000, 50, 3), fixed_subset(1000, 50, 3)
    assert np.array_equal(a, b) and np.all(np.diff(a) > 0) and len(set(a)) == 50
    assert not np.array_equal(a, fixed_subset(1000, 50, 4))
    assert np.array_equal(fixed_subset(10, 50, 0), np.arange(10))
