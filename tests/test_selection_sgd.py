"""The fused score update (the straight-through gradient and torch's fused SGD step in one
compiled pass) gives torch's bits: against ``torch._fused_sgd_`` tensor by tensor, and whole
selection runs trained with it and without it; where it does not apply, torch's step runs."""

import copy
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from runvar.models import build_from_block, selection_kernels
from runvar.bitflip import flip_one_bit
from runvar.models.selection_kernels import argmax_last, backward_and_step, chosen_after_step, gather_last, sgd_recipe
from runvar.models.weight_selection import SelectLinear
from runvar.seeds import run_seeds
from runvar.train import _step, make_optimizer

from .bitwise import assert_same_runs_both_ways, same_bits, state_bits, train_alone_and_stacked

REPO = Path(__file__).resolve().parents[1]
needs_compiler = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
#: the selection study's optimizer (config.yaml studies.selection), at its k = 4, 8, 16 LR
STUDY_SGD = {"lr": 1.5, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False}
LENET_LAYERS = [(300, 40), (100, 300), (10, 100)]


@pytest.fixture
def fused_calls(monkeypatch):
    """The kernels on, torch on one thread, the fused update found exact on this machine, and a
    list counting the fused update's calls (a test of it must not pass on torch's step)."""
    monkeypatch.setattr(selection_kernels, "ENABLED", True)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert sgd_recipe() is not None, "no recipe of the fused update gives torch's bits here"
    calls = []
    real = selection_kernels._fused_sgd

    def counted(*args):
        calls.append(args[3].shape)
        return real(*args)

    monkeypatch.setattr(selection_kernels, "_fused_sgd", counted)
    return calls


def _torch_step(scores, grads, candidates, buffers, lr, first):
    """The unfused step: the straight-through gradient, then torch's fused SGD on it."""
    torch._fused_sgd_(scores, [g.unsqueeze(-1) * c for g, c in zip(grads, candidates)], buffers, weight_decay=0.0,
                      momentum=0.9, lr=lr, dampening=0.0, nesterov=False, maximize=False, is_first_step=first)


@needs_compiler
@pytest.mark.parametrize("k", [2, 3, 4, 8, 16])
def test_the_fused_update_gives_torchs_bits_on_the_study_shapes(fused_calls, k):
    """LeNet's three layers and odd sizes (a tail past torch's vector loop), a first step and
    later ones, the study's LRs and a warm-up's small one, signed zeros in the gradient."""
    g = torch.Generator().manual_seed(k)
    shapes = LENET_LAYERS + [(7, 3), (13, 5), (1, 1)]
    candidates = [torch.rand(*s, k, generator=g) * 0.2 - 0.1 for s in shapes]
    theirs = [torch.rand(*s, k, generator=g) * 0.1 for s in shapes]
    ours = [s.clone() for s in theirs]
    their_buffers = [torch.empty_like(s) for s in theirs]
    our_buffers = [torch.empty_like(s) for s in ours]
    library, recipe = selection_kernels.kernels(), sgd_recipe()
    for step, lr in enumerate([1.5, 3.0, 2.0, 0.0375, 1.5]):
        grads = [torch.randn(*s, generator=g) * 10.0 ** -step for s in shapes]
        grads[0].view(-1)[:3] = torch.tensor([0.0, -0.0, 0.0])
        _torch_step(theirs, grads, candidates, their_buffers, lr, step == 0)
        for grad, c, p, buffer in zip(grads, candidates, ours, our_buffers):
            chosen = (torch.empty(grad.shape, dtype=torch.long), torch.empty(grad.shape)) if step % 2 else None
            selection_kernels._fused_sgd(library, grad, c, p, buffer, 0.9, lr, step == 0, recipe, chosen)
            if chosen is not None:  # the stepped scores' choice, made in the same pass
                assert same_bits(chosen[0], argmax_last(p)) and same_bits(chosen[1], gather_last(c, chosen[0]))
        for p, q, b, c in zip(ours, theirs, our_buffers, their_buffers):
            assert same_bits(p, q) and same_bits(b, c), (k, step, tuple(p.shape))
    assert len(fused_calls) == 5 * len(shapes)


@needs_compiler
def test_the_probe_tells_torchs_rounding_from_the_others(fused_calls):
    """The recipe found is the only one of those tried that gives torch's bits: the probe's
    tensors tell a fused multiply-add from two roundings, and each vector width from the others."""
    library = selection_kernels.kernels()
    found = sgd_recipe()
    for width in selection_kernels._WIDTHS:
        for contracted in (True, False):
            assert selection_kernels._probe(library, (width, contracted)) == ((width, contracted) == found)


def _lenet(k, seed=1):
    return build_from_block({"name": "lenet", "mode": "select", "k": k}, (1, 40), 10, run_seeds("all", seed).init)


def _train_steps(model, optimizer, steps, lr=1.5, first=0):
    g = torch.Generator().manual_seed(first)
    for _ in range(steps):
        x, y = torch.randn(32, 1, 40, generator=g), torch.randint(0, 10, (32,), generator=g)
        _step(model, optimizer, lr, [x], [y], stacked=False)


@needs_compiler
def test_a_checkpointed_optimizer_resumes_to_the_same_bits_with_or_without_the_fused_update(fused_calls, monkeypatch):
    """The momentum buffers stay in ``optimizer.state``: a state saved on one path and loaded on
    either continues as training on torch's path throughout."""
    model = _lenet(8)
    optimizer = make_optimizer(model, STUDY_SGD)
    _train_steps(model, optimizer, 3)
    assert len(fused_calls) == 9 and all(p.grad is None for p in model.parameters())
    saved = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, saved)
    ends = {}
    for kernels in (True, False):
        monkeypatch.setattr(selection_kernels, "ENABLED", kernels)
        saved.seek(0)
        state = torch.load(saved)
        resumed = _lenet(8)
        resumed.load_state_dict(state["model"])
        resumed_optimizer = make_optimizer(resumed, STUDY_SGD)
        resumed_optimizer.load_state_dict(state["optimizer"])
        _train_steps(resumed, resumed_optimizer, 3, first=1)
        ends[kernels] = state_bits(resumed.state_dict()), state_bits(resumed_optimizer.state_dict()["state"][0])
    reference = _lenet(8)
    reference_optimizer = make_optimizer(reference, STUDY_SGD)
    _train_steps(reference, reference_optimizer, 3)
    _train_steps(reference, reference_optimizer, 3, first=1)
    assert all(p.grad is not None for p in reference.parameters())  # torch's path
    assert ends[True] == ends[False] == (state_bits(reference.state_dict()),
                                         state_bits(reference_optimizer.state_dict()["state"][0]))


@needs_compiler
def test_the_next_forward_pass_uses_the_choice_the_step_made_until_the_scores_change(fused_calls):
    """After a fused step each layer's greedy choice and chosen candidates come from the step's
    pass (the same tensors, the same bits as choosing again); a flipped bit, a loaded state or
    torch's own step on the scores makes the layer choose again from the scores it then holds."""
    model = _lenet(8)
    optimizer = make_optimizer(model, STUDY_SGD)
    _train_steps(model, optimizer, 2)
    layers = [m for m in model if isinstance(m, SelectLinear)]

    def made_by_step(layer):
        return chosen_after_step(layer.scores, layer.candidates)

    for layer in layers:
        choice, weight = made_by_step(layer)
        assert same_bits(choice, argmax_last(layer.scores))
        assert same_bits(weight, gather_last(layer.candidates, choice))
    model(torch.randn(4, 1, 40))
    assert all(layer.last_choice is made_by_step(layer)[0] for layer in layers)

    flip_one_bit(model, torch.Generator().manual_seed(0), "first")  # the first layer's scores
    assert made_by_step(layers[0]) is None and made_by_step(layers[1]) is not None
    layers[1].candidates.mul_(1.0)  # the candidates changed (here to the same values)
    assert made_by_step(layers[1]) is None
    model.load_state_dict(copy.deepcopy(model.state_dict()))
    assert all(made_by_step(layer) is None for layer in layers)
    before = [layer.scores.detach().clone() for layer in layers]
    model(torch.randn(4, 1, 40))
    assert all(same_bits(layer.last_choice, argmax_last(b)) for layer, b in zip(layers, before))

    _train_steps(model, optimizer, 1)
    assert all(made_by_step(layer) is not None for layer in layers)
    with torch.no_grad():
        layers[2].scores.add_(0.0)  # any in-place change, even to the same values
    assert made_by_step(layers[2]) is None


@needs_compiler
@pytest.mark.parametrize("k, variant", [(2, "all"), (8, "all"), (16, "all"), (8, "bitflip")])
def test_selection_runs_are_bitwise_the_same_with_and_without_the_fused_update(tiny_setup, tiny_data, fused_calls,
                                                                             monkeypatch, k, variant):
    """The study's optimizer on the production paths (one run alone, and a stack of 2, with a
    warm-up's changing LR; the protocol's bit flip in the scores): every bit of training through
    the fused update, and through the choices it makes for the next forward pass, is torch's."""
    setup = {**tiny_setup, "model": {"name": "lenet", "mode": "select", "k": k}, "epochs": 3, "evaluate_every": 1,
             "optimizer": STUDY_SGD, "augment": {"crop_padding": 0}}
    seeds = [run_seeds(variant, r) for r in (1, 2)]
    fast = train_alone_and_stacked(setup, tiny_data, seeds)
    steps = 3 * -(-480 // 64)  # 3 epochs of the tiny data's 480 examples at batch 64
    assert len(fused_calls) >= 3 * steps * 3, "training did not run through the fused update"
    monkeypatch.setattr(selection_kernels, "ENABLED", False)
    fused_calls.clear()
    slow = train_alone_and_stacked(setup, tiny_data, seeds)
    assert not fused_calls
    assert_same_runs_both_ways(fast, slow, variant)


def _two_steps(model, optimizer, x, y, step):
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        step(F.cross_entropy(model(x), y), optimizer)
    return state_bits(model.state_dict())


def _plain(loss, optimizer):
    loss.backward()
    optimizer.step()


@needs_compiler
@pytest.mark.parametrize("change", [{"weight_decay": 5e-4}, {"nesterov": True, "dampening": 0.0}, {"momentum": 0.0},
                                    {"dampening": 0.1}, {"fused": None}, {"threads": 2}, {"kernels": False}])
def test_where_the_fused_update_does_not_apply_torchs_step_runs(fused_calls, monkeypatch, change):
    x, y = torch.randn(16, 1, 40), torch.randint(0, 10, (16,))
    options = {"lr": 1.5, "momentum": 0.9, "fused": True, **change}
    if options.pop("threads", 1) != 1:
        monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(selection_kernels, "ENABLED", options.pop("kernels", True))
    model, reference = _lenet(4), _lenet(4)
    ours = _two_steps(model, torch.optim.SGD(model.parameters(), **options), x, y, backward_and_step)
    assert not fused_calls and all(p.grad is not None for p in model.parameters())
    assert ours == _two_steps(reference, torch.optim.SGD(reference.parameters(), **options), x, y, _plain)


@needs_compiler
def test_scores_selected_from_twice_get_autograds_sum(fused_calls):
    """A layer used twice in one forward: the second gradient brings the deferred first back."""
    layer = SelectLinear(12, 12, k=4)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    reference = copy.deepcopy(model)
    x, y = torch.randn(8, 12), torch.randint(0, 12, (8,))
    ours = _two_steps(model, make_optimizer(model, STUDY_SGD), x, y, backward_and_step)
    assert not fused_calls and layer.scores.grad is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selection_kernels, "ENABLED", False)
        assert ours == _two_steps(reference, make_optimizer(reference, STUDY_SGD), x, y, _plain)


def _kernels_on_and_off() -> tuple[object, bool, bool]:
    """This process's recipe, whether the fused update ran, and whether 3 steps of a LeNet k = 2
    gave the same bits through it and through torch's step (run in a fresh process)."""
    torch.set_num_threads(1)
    selection_kernels.ENABLED = True
    recipe = sgd_recipe()
    calls, real = [], selection_kernels._fused_sgd
    selection_kernels._fused_sgd = lambda *args: calls.append(1) or real(*args)
    ends = []
    for on in (True, False):
        selection_kernels.ENABLED = on
        model = _lenet(2)
        _train_steps(model, make_optimizer(model, STUDY_SGD), 3)
        ends.append(state_bits(model.state_dict()))
    return recipe, bool(calls), ends[0] == ends[1]


@pytest.mark.slow  # fresh processes import torch
@needs_compiler
@pytest.mark.parametrize("capability", ["default", "avx2"])
def test_torch_builds_other_loops_the_probe_follows(capability):
    """With torch's other CPU kernels (``ATEN_CPU_CAPABILITY``; the default one rounds without
    FMAs), the probe finds their recipe (or none) and the fused update gives torch's bits."""
    code = "from tests.test_selection_sgd import _kernels_on_and_off as f; print(*f())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "ATEN_CPU_CAPABILITY": capability}, cwd=REPO)
    *recipe, ran, same = done.stdout.split()
    assert same == "True" and ran == str(recipe != ["None"]), done.stdout
