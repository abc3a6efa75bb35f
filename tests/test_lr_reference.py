"""Learning-rate groups and schedule as SD's reference code computes them (train.py there)."""

import copy
import math
import re

import pytest
import torch

from runvar.models import build_model
from runvar.train import make_optimizer, step_lrs, train_run


def reference_learning_rate_fn(step, steps_per_epoch, num_epochs, warmup_epochs, max_lr, schedule):
    """The reference's learning_rate_fn (lr_schedule 'cosine' and 'snapshot5'), transcribed."""
    epoch = step / float(steps_per_epoch)
    if schedule == "cosine":
        if epoch <= warmup_epochs:
            return step / (warmup_epochs * steps_per_epoch) * max_lr
        return 0.5 * max_lr * (1.0 + math.cos(min(epoch / num_epochs, 1.0) * math.pi))
    cycle_length = num_epochs // 5
    for start_epoch in range(0, num_epochs, cycle_length):
        if epoch < start_epoch + cycle_length:
            if epoch <= warmup_epochs + start_epoch:
                lr = (epoch - start_epoch) / warmup_epochs * max_lr
            else:
                lr = 0.5 * max_lr * (1.0 + math.cos(min((epoch - start_epoch) / cycle_length, 1.0) * math.pi))
            return min(max(lr, 0.0), max_lr)
    return 0.0


@pytest.mark.parametrize("epochs, cycles, warmup, steps_per_epoch", [
    (12, 1, 3, 7),      # the paper's cosine: 3 warm-up epochs
    (20, 5, 1.5, 6),    # snapshot5 with a fractional warm-up
    (8, 1, 0.5, 5),
])
def test_every_step_matches_the_reference_lambda_lr(epochs, cycles, warmup, steps_per_epoch):
    setup = {"epochs": epochs, "optimizer": {"lr": 0.4},
             "schedule": {"warmup_epochs": warmup, "cycles": cycles, "mode": "reference"}}
    ours = step_lrs(setup, steps_per_epoch)
    # the reference's optimizer: groups at 0.1, 0.1 and 1.0 of the LR, stepped by LambdaLR after
    # every batch (so batch k trains at learning_rate_fn(k))
    params = [torch.zeros(1, requires_grad=True) for _ in range(3)]
    optimizer = torch.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.1},
                                 {"params": [params[2]]}], lr=1.0, momentum=0.9)
    schedule = "cosine" if cycles == 1 else "snapshot5"
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: reference_learning_rate_fn(
        step, steps_per_epoch, epochs, warmup, 0.4, schedule))
    for step in range(epochs * steps_per_epoch):
        assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(
            [0.1 * ours(step), 0.1 * ours(step), ours(step)], abs=1e-12), step
        optimizer.step()
        scheduler.step()
    assert ours(0) == 0.0  # the reference's warm-up starts at LR 0; runvar's default does not
    default = step_lrs({**setup, "schedule": {**setup["schedule"], "mode": "after_warmup"}}, steps_per_epoch)
    assert default(0) > 0


def test_training_uses_the_reference_schedule(tiny_data, tiny_setup):
    from runvar.seeds import run_seeds

    setup = copy.deepcopy(tiny_setup)
    setup.update(epochs=3, batch_size=128)
    setup["optimizer"].update(param_groups="reference", bias_lr_scale=0.1)
    setup["schedule"] = {"warmup_epochs": 1, "mode": "reference"}
    result = train_run(setup, tiny_data, run_seeds("none", 1), log=lambda _: None)
    steps = math.ceil(480 / 128)
    for row in result.history:  # the history's LR is that of the epoch's last batch
        last = row["epoch"] * steps - 1
        assert row["lr"] == pytest.approx(reference_learning_rate_fn(last, steps, 3, 1, 0.05, "cosine"), abs=1e-12)


def reference_name(name):
    """runvar's ResNet parameter name -> the reference's (resnet_cifar.py) name."""
    name = name.replace("stem.0.", "conv1.").replace("stem.1.", "bn1.").replace("shortcut.", "downsample.")
    return re.sub(r"^stages\.(\d+)\.", r"layer\1.", name)


def scaled_names(model, grouping):
    optimizer = make_optimizer(model, {"lr": 0.4, "bias_lr_scale": 0.1, "param_groups": grouping})
    ids = {id(p) for g in optimizer.param_groups if g["lr_scale"] == 0.1 for p in g["params"]}
    return {name for name, p in model.named_parameters() if id(p) in ids}


@pytest.mark.parametrize("model", ["resnet6", "resnet14", "resnet18"])
def test_resnet_groups_follow_the_reference_names(model):
    net = build_model(model, (3, 32, 32), 10, 1)
    # the reference's rule on the reference's names
    expected = {n for n, _ in net.named_parameters()
                if "bias" in reference_name(n) or ("bn" in reference_name(n) and "weight" in reference_name(n))}
    assert scaled_names(net, "reference") == expected
    assert "stem.1.weight" in expected and "stages.1.0.shortcut.1.weight" not in expected
    # runvar's rank grouping differs exactly there: the shortcut's scale
    assert scaled_names(net, "rank") - expected == {n for n, _ in net.named_parameters() if "shortcut.1.weight" in n}


def test_vgg_and_shufflenet_groups():
    vgg = build_model("vgg11", (3, 32, 32), 10, 1)
    # the reference's VGG batch norms are features.N: only biases get 0.1 x LR
    assert scaled_names(vgg, "reference") == {n for n, _ in vgg.named_parameters() if n.endswith("bias")}
    shuffle = build_model("shufflenetv2_0.5", (3, 32, 32), 10, 1)
    # the reference's ShuffleNet names every batch norm bnK: all 1-D parameters get 0.1 x LR
    assert scaled_names(shuffle, "reference") == scaled_names(shuffle, "rank")
    with pytest.raises(ValueError, match="unknown optimizer.param_groups 'names'; valid: rank, reference"):
        make_optimizer(vgg, {"lr": 0.1, "param_groups": "names"})
