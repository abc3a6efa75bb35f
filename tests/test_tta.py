"""TTA: view grids, the identity view reproducing a run's saved logits, snapshots."""

import numpy as np
import pytest
import torch

from runvar.io import save_predictions
from runvar.runs import train_and_save
from runvar.train import predict
from runvar.reduction.tta import apply_view, run_tta, view_set
from runvar.runs import load_trained_models


def test_view_grids():
    assert [v.offsets for v in view_set("crop9", 1, 4)] == [(o,) for o in range(9)]
    crop25 = view_set("crop25", 2, 4)
    assert len(crop25) == 25 and {v.offsets for v in crop25} == {(a, b) for a in range(0, 9, 2) for b in range(0, 9, 2)}
    flips = view_set("flip", 2, 4)
    assert [(v.flip, v.offsets) for v in flips] == [(False, (4, 4)), (True, (4, 4))]
    assert len(view_set("flip-crop81", 2, 4)) == 162 and len(view_set("identity", 1, 4)) == 1
    with pytest.raises(ValueError, match="flip needs 2-D"):
        view_set("flip-crop5", 1, 4)
    with pytest.raises(ValueError, match="not a regular grid"):
        view_set("crop7", 1, 4)
    with pytest.raises(ValueError, match="unknown TTA view set"):
        view_set("rotate", 2, 4)


def test_views_crop_and_mirror():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    (identity,) = view_set("identity", 2, 4)
    assert torch.equal(apply_view(x, identity, 4), x)
    shifted = apply_view(x, view_set("crop81", 2, 4)[5 * 9 + 5], 4)  # offsets (5, 5): one step in
    assert torch.equal(shifted[..., :3, :4], x[..., 1:, 1:]) and shifted[..., 3, :].eq(0).all()
    assert shifted.shape == x.shape and shifted.is_contiguous()
    assert torch.equal(apply_view(x, view_set("flip", 2, 4)[1], 4), x.flip(-1))


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory, tiny_data):
    from tests.conftest import TINY_SETUP
    import copy

    out = {}
    for cycles in (1, 2):
        setup = copy.deepcopy(TINY_SETUP)
        setup["schedule"]["cycles"] = cycles
        path = tmp_path_factory.mktemp(f"cycles{cycles}")
        train_and_save("tiny", setup, "all", 2, tiny_data, path, log=lambda _: None)
        out[cycles] = (setup, path)
    return out


def test_identity_view_reproduces_the_saved_logits_exactly(saved_runs, tiny_data):
    for cycles, (setup, path) in saved_runs.items():
        saved = np.load(path / "predictions.npz")
        logits, snapshots = run_tta(setup, tiny_data.x_test, 10, path / "model.pt", ["identity"], 4)["identity"]
        assert np.array_equal(logits, saved["logits"])
        if cycles == 1:
            assert snapshots is None
        else:
            assert np.array_equal(snapshots, saved["snapshot_logits"])


def test_crop_tta_is_the_mean_of_its_views(saved_runs, tiny_data):
    setup, path = saved_runs[1]
    out = run_tta(setup, tiny_data.x_test, 10, path / "model.pt", ["crop5", "crop9"], 4)
    crop5, crop9 = out["crop5"][0], out["crop9"][0]
    assert crop5.shape == (120, 10) and not np.allclose(crop5, crop9)
    single = np.load(path / "predictions.npz")["logits"]
    assert not np.allclose(crop5, single)
    model, _ = load_trained_models(setup, (1, 40), 10, path / "model.pt")
    by_hand = np.mean([predict(model, apply_view(tiny_data.x_test, v, 4)).numpy()
                       for v in view_set("crop5", 1, 4)], axis=0)
    assert np.allclose(crop5, by_hand, atol=1e-6)
    save_predictions(path / "tta-crop9.npz", crop9, tiny_data.y_test.numpy())
    assert np.array_equal(np.load(path / "tta-crop9.npz")["logits"], crop9)
