"""TTA: view grids, the identity view reproducing a run's saved logits, snapshots."""

import numpy as np
import pytest
import torch

from runvar.io import save_predictions
from runvar.runs import train_and_save
from runvar.train import predict
from runvar.reduction.tta import apply_view, method_views, run_tta, tta_logits, tta_methods, view_set
from runvar.runs import load_trained_models


def test_view_grids():
    assert [v.offsets for v in view_set("crop9", 1, 4)] == [(o,) for o in range(9)]
    crop25 = view_set("crop25", 2, 4)
    assert len(crop25) == 25 and {v.offsets for v in crop25} == {(a, b) for a in range(0, 9, 2) for b in range(0, 9, 2)}
    flips = view_set("flip", 2, 4)  # the reference's flip: the mirror alone
    assert [(v.flip, v.offsets) for v in flips] == [(True, (4, 4))]
    assert len(view_set("flip-crop81", 2, 4)) == 162 and len(view_set("identity", 1, 4)) == 1
    # the reference's view counts: 1 + 25, 1 + 81, 1 + 50, 1 + 162 with the original
    for name, count in (("crop25", 25), ("crop81", 81), ("flip-crop25", 50), ("flip-crop81", 162), ("flip", 1)):
        assert len(method_views(f"tta-{name}", 2, 4)) == 1 + count
        assert len(method_views(f"tta_noorig-{name}", 2, 4)) == count
    assert method_views("tta-crop25", 2, 4)[0].offsets == (4, 4) and not method_views("tta-crop25", 2, 4)[0].flip
    assert tta_methods(["tta", "tta_noorig"], ["crop25", "flip"]) == [
        "tta-crop25", "tta-flip", "tta_noorig-crop25", "tta_noorig-flip"]
    with pytest.raises(ValueError, match="unknown TTA strategy 'tta_orig'; valid: tta, tta_noorig"):
        tta_methods(["tta_orig"], ["crop25"])
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
    assert torch.equal(apply_view(x, view_set("flip", 2, 4)[0], 4), x.flip(-1))


def test_tta_on_a_hand_built_3x3_image():
    """One 3 x 3 image, padding 1 with the black-pixel value -2, crop9 = all 9 one-pixel offsets,
    and a linear model: the TTA logits are the mean of the model over views built by hand."""
    image = np.arange(1.0, 10.0).reshape(3, 3)
    black = -2.0
    padded = np.full((5, 5), black)
    padded[1:4, 1:4] = image
    crops = [padded[r:r + 3, c:c + 3] for r in range(3) for c in range(3)]
    assert crops[0].tolist() == [[-2, -2, -2], [-2, 1, 2], [-2, 4, 5]]  # top-left: black border
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.arange(18.0).reshape(2, 9) / 10)
        model[1].bias.zero_()
    weight = model[1].weight.detach().double().numpy()

    def logits(view):
        return weight @ view.reshape(9)

    x = torch.tensor(image, dtype=torch.float32).reshape(1, 1, 3, 3)
    fill = torch.tensor([black])
    expected = {
        "tta-crop9": np.mean([logits(image)] + [logits(c) for c in crops], axis=0),
        "tta_noorig-crop9": np.mean([logits(c) for c in crops], axis=0),
        "tta-flip": np.mean([logits(image), logits(image[:, ::-1])], axis=0),
        # the reference crops the image and its mirror: 2 x 9 views
        "tta_noorig-flip-crop9": np.mean([logits(c) for c in crops] + [logits(c[:, ::-1]) for c in crops], axis=0),
    }
    for method, want in expected.items():
        views = method_views(method, 2, 1)
        got = tta_logits(model, x, views, 1, fill)[0].double().numpy()
        assert np.allclose(got, want, atol=1e-5), method
    # zero padding (the old behaviour) gives other logits: the black value matters
    zero = tta_logits(model, x, method_views("tta-crop9", 2, 1), 1)[0].double().numpy()
    assert not np.allclose(zero, expected["tta-crop9"], atol=1e-3)


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
        logits, snapshots = run_tta(setup, tiny_data.x_test, 10, path / "model.pt", ["tta_noorig-identity"], 4)["tta_noorig-identity"]
        assert np.array_equal(logits, saved["logits"])
        if cycles == 1:
            assert snapshots is None
        else:
            assert np.array_equal(snapshots, saved["snapshot_logits"])


def test_crop_tta_is_the_mean_of_its_views(saved_runs, tiny_data):
    setup, path = saved_runs[1]
    out = run_tta(setup, tiny_data.x_test, 10, path / "model.pt", ["tta-crop5", "tta-crop9", "tta_noorig-crop5"], 4)
    crop5, crop9, noorig = out["tta-crop5"][0], out["tta-crop9"][0], out["tta_noorig-crop5"][0]
    assert crop5.shape == (120, 10) and not np.allclose(crop5, crop9)
    single = np.load(path / "predictions.npz")["logits"]
    assert not np.allclose(crop5, single)
    model, _ = load_trained_models(setup, (1, 40), 10, path / "model.pt")
    views = [predict(model, apply_view(tiny_data.x_test, v, 4)).numpy() for v in view_set("crop5", 1, 4)]
    assert np.allclose(noorig, np.mean(views, axis=0), atol=1e-6)
    assert np.allclose(crop5, np.mean([single] + views, axis=0), atol=1e-6)
    save_predictions(path / "tta-crop9.npz", crop9, tiny_data.y_test.numpy())
    assert np.array_equal(np.load(path / "tta-crop9.npz")["logits"], crop9)
