import pytest
import torch

from runvar.bitflip import flip_one_bit
from runvar.data import random_crop
from runvar.models import build_model
from runvar.seeds import VARIANTS, UnknownVariantError, run_seeds
from runvar.train import train_run


def test_variant_seed_mapping():
    s = run_seeds("all", 4)
    assert (s.init, s.shuffle, s.augment, s.stochastic, s.cudnn, s.bitflip) == (4, 4, 4, 4, True, None)
    s = run_seeds("bitflip", 4)
    assert (s.init, s.shuffle, s.augment, s.stochastic, s.cudnn, s.bitflip) == (1, 1, 1, 1, False, 4)
    s = run_seeds("shuffle+augment+cudnn", 3)
    assert (s.init, s.shuffle, s.augment, s.stochastic, s.cudnn) == (1, 3, 3, 1, True)
    assert all(run_seeds("none", r) == run_seeds("none", 1) for r in range(2, 6))


def test_unknown_variant_lists_valid_ones():
    with pytest.raises(UnknownVariantError, match="valid variants: none, init"):
        run_seeds("dropout", 1)


def test_changing_shuffle_seed_changes_nothing_else():
    a, b = run_seeds("shuffle", 2), run_seeds("shuffle", 3)
    wa = build_model("cnn1d", (1, 40), 10, a.init, dropout=0.2).state_dict()
    wb = build_model("cnn1d", (1, 40), 10, b.init, dropout=0.2).state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ga, gb = a.generators(), b.generators()
    x = torch.randn(16, 1, 40, generator=torch.Generator().manual_seed(0))
    assert torch.equal(random_crop(x, 4, ga["augment"]), random_crop(x, 4, gb["augment"]))
    assert torch.equal(torch.rand(8, generator=ga["stochastic"]), torch.rand(8, generator=gb["stochastic"]))
    assert not torch.equal(torch.randperm(100, generator=ga["shuffle"]), torch.randperm(100, generator=gb["shuffle"]))


def test_changing_init_seed_changes_only_weights():
    a, b = run_seeds("init", 2), run_seeds("init", 3)
    wa = build_model("cnn1d", (1, 40), 10, a.init).state_dict()
    wb = build_model("cnn1d", (1, 40), 10, b.init).state_dict()
    assert not torch.equal(wa["0.weight"], wb["0.weight"])
    ga, gb = a.generators(), b.generators()
    assert torch.equal(torch.randperm(50, generator=ga["shuffle"]), torch.randperm(50, generator=gb["shuffle"]))


def test_model_build_and_training_leave_global_rng_alone(tiny_data, tiny_setup):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    build_model("cnn1d", (1, 40), 10, init_seed=5)
    train_run(tiny_setup, tiny_data, run_seeds("all", 2), log=lambda _: None)
    assert torch.equal(before, torch.get_rng_state())


def test_training_ignores_global_rng(tiny_data, tiny_setup):
    torch.manual_seed(1)
    first = train_run(tiny_setup, tiny_data, run_seeds("all", 2), log=lambda _: None)
    torch.manual_seed(999)
    torch.rand(1000)
    second = train_run(tiny_setup, tiny_data, run_seeds("all", 2), log=lambda _: None)
    assert first.logits.tobytes() == second.logits.tobytes()


def test_bit_flip_moves_one_scalar_by_one_float32_step():
    model = build_model("cnn1d", (1, 40), 10, init_seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    record = flip_one_bit(model, torch.Generator().manual_seed(7))
    after = model.state_dict()
    changed = {k: int((before[k] != after[k]).sum()) for k in before}
    assert sum(changed.values()) == 1 and changed[record["parameter"]] == 1
    assert record["parameter"] == "0.weight"  # the first conv weight, as in the reference
    old = before[record["parameter"]].view(-1)[record["flat_index"]]
    new = after[record["parameter"]].view(-1)[record["flat_index"]]
    toward = torch.tensor(float("inf") if record["direction"] == "up" else float("-inf"))
    assert torch.equal(new, torch.nextafter(old, toward))
    assert record["old"] == float(old) and record["new"] == float(new)
    assert int(record["new_bits"], 16) - int(record["old_bits"], 16) in (1, -1)


def test_bit_flip_depends_only_on_its_seed():
    picks = set()
    for seed in range(1, 9):
        record = flip_one_bit(build_model("linear", (1, 40), 10, 1), torch.Generator().manual_seed(seed))
        picks.add((record["flat_index"], record["direction"]))
    again = flip_one_bit(build_model("linear", (1, 40), 10, 1), torch.Generator().manual_seed(1))
    assert len(picks) > 4
    assert (again["flat_index"], again["direction"]) in picks


def test_bit_flip_unknown_tensor_names_valid_ones():
    with pytest.raises(ValueError, match="valid: first, 1.weight"):
        flip_one_bit(build_model("linear", (1, 40), 10, 1), torch.Generator(), "nope")


def test_bitflip_variant_records_the_flip(tiny_data, tiny_setup):
    result = train_run(tiny_setup, tiny_data, run_seeds("bitflip", 3), log=lambda _: None)
    plain = train_run(tiny_setup, tiny_data, run_seeds("none", 3), log=lambda _: None)
    assert result.record["bitflip"]["parameter"] == "0.weight"
    assert plain.record["bitflip"] is None
    assert result.logits.tobytes() != plain.logits.tobytes()


def test_all_variants_are_known():
    assert set(VARIANTS) >= {"none", "init", "shuffle", "augment", "stochastic", "all", "bitflip",
                             "shuffle+cudnn", "shuffle+augment+cudnn"}
