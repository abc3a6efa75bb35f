"""The compiled selection loops give torch's bits: argmax, gather, the straight-through
gradient, and whole selection runs (alone and stacked) trained with and without them."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

from runvar.models import selection_kernels
from runvar.models.selection_kernels import argmax_last, gather_last, scale_last
from runvar.seeds import run_seeds
from runvar.train import train_run, train_runs

from .bitwise import assert_same_run, same_bits

needs_compiler = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")


@pytest.fixture
def kernels_on(monkeypatch):
    """The compiled kernels, asserted present (a test against them must not pass on torch's ops)."""
    monkeypatch.setattr(selection_kernels, "ENABLED", True)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert selection_kernels.kernels() is not None, "the selection kernels did not compile"


def _scores(shape, k, seed=0):
    """Scores with ties (few distinct values), signed zeros, infinities and NaN rows."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randint(-2, 3, (*shape, k), generator=g).float() / 2  # many ties
    flat = s.view(-1, k)
    flat[0] = 0.0
    flat[0, -1] = -0.0  # 0.0 and -0.0 tie: the first wins
    flat[1, k // 2] = float("nan")
    flat[2, -1] = float("nan")
    flat[2, 0] = float("nan")  # the first NaN of a row
    flat[3, -1] = float("inf")
    flat[4] = float("-inf")
    return s


@needs_compiler
@pytest.mark.parametrize("k", [1, 2, 3, 4, 8, 16, 17])
def test_argmax_gather_and_gradient_give_torchs_bits(kernels_on, k):
    for shape in [(7,), (12, 5), (3, 4, 3)]:
        if k == 1 and shape == (7,):
            continue
        scores = _scores(shape, k) if k > 1 else torch.randn(*shape, k)
        choice = argmax_last(scores)
        assert same_bits(choice, scores.argmax(-1)), (shape, k)
        candidates = torch.randn(*shape, k, generator=torch.Generator().manual_seed(1))
        candidates.view(-1, k)[0, 0] = -0.0
        assert same_bits(gather_last(candidates, choice), candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1))
        grad = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
        grad.view(-1)[1] = -0.0  # signed zeros in the products
        assert same_bits(scale_last(grad, candidates), grad.unsqueeze(-1) * candidates)


@needs_compiler
@pytest.mark.parametrize("k", [4, 8, 16])
def test_the_vector_argmax_gives_torchs_choice_on_every_kind_of_value(kernels_on, k):
    """k = 4, 8 and 16 take a vector loop on AVX2 machines (max, then the first equal lane or
    the first NaN): rows of signed zeros, infinities, NaNs, subnormals and ties in every lane."""
    values = torch.tensor([0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e-45])
    rows = torch.randint(0, len(values), (20000, k), generator=torch.Generator().manual_seed(k))
    scores = values[rows].contiguous()
    choice = torch.empty(len(scores), dtype=torch.long)
    vector = selection_kernels.kernels().runvar_argmax(scores.data_ptr(), len(scores), k, choice.data_ptr())
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        assert vector == 1, "the AVX2 loop did not run"
    assert same_bits(choice, scores.argmax(-1))
    assert same_bits(argmax_last(scores), scores.argmax(-1))


@needs_compiler
def test_large_random_layers_match_torch(kernels_on):
    g = torch.Generator().manual_seed(3)
    for shape, k in [((300, 40), 8), ((100, 300), 2), ((10, 100), 16)]:
        scores, candidates = torch.rand(*shape, k, generator=g), torch.rand(*shape, k, generator=g) - 0.5
        choice = argmax_last(scores)
        assert same_bits(choice, scores.argmax(-1))
        assert same_bits(gather_last(candidates, choice), candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1))
        grad = torch.randn(*shape, generator=g)
        assert same_bits(scale_last(grad, candidates), grad.unsqueeze(-1) * candidates)


def test_inputs_the_kernels_do_not_take_run_torchs_operations(kernels_on):
    g = torch.Generator().manual_seed(4)
    scores = torch.rand(6, 5, 4, generator=g)
    strided = scores.transpose(0, 1)  # not contiguous
    assert same_bits(argmax_last(strided), strided.argmax(-1))
    double = scores.double()
    assert same_bits(argmax_last(double), double.argmax(-1))
    with pytest.raises(IndexError, match="non-zero size"):  # no candidates: torch's own error
        argmax_last(torch.empty(3, 0))
    candidates = torch.rand(6, 5, 4, generator=g).double()
    choice = scores.argmax(-1)
    assert same_bits(gather_last(candidates, choice), candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1))


@pytest.mark.slow  # a fresh process imports torch
@pytest.mark.parametrize("value, off", [("0", True), ("1", False)])
def test_the_environment_switch_turns_the_kernels_off(value, off):
    code = "from runvar.models import selection_kernels as k; print(k.ENABLED, k.kernels() is None)"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "RUNVAR_SELECTION_KERNELS": value},
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(not off), str(off or shutil.which("cc") is None)]


def test_switched_off_the_selection_runs_torchs_operations(monkeypatch):
    monkeypatch.setattr(selection_kernels, "ENABLED", False)
    assert selection_kernels.kernels() is None
    scores = _scores((5, 3), 4)
    assert same_bits(argmax_last(scores), scores.argmax(-1))


@needs_compiler
@pytest.mark.parametrize("k", [2, 8])
def test_selection_runs_are_bitwise_the_same_with_and_without_the_kernels(tiny_setup, tiny_data, monkeypatch, k):
    """Training on the production paths (one run alone, and a stack of 2) through the kernels
    gives every bit of training through torch's operations."""
    setup = {**tiny_setup, "model": {"name": "lenet", "mode": "select", "k": k}, "epochs": 3, "evaluate_every": 1,
             "optimizer": {**tiny_setup["optimizer"], "lr": 2.0}}
    seeds = [run_seeds("all", r) for r in (1, 2)]
    calls = []
    real = selection_kernels.kernels

    def counted():
        library = real()
        calls.append(library is not None)
        return library

    monkeypatch.setattr(selection_kernels, "kernels", counted)
    monkeypatch.setattr(selection_kernels, "ENABLED", True)
    fast_alone = train_run(setup, tiny_data, seeds[0], log=lambda _: None)
    fast_stacked = list(train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=2))
    assert calls and all(calls), "training did not run through the compiled kernels"
    monkeypatch.setattr(selection_kernels, "ENABLED", False)
    calls.clear()
    slow_alone = train_run(setup, tiny_data, seeds[0], log=lambda _: None)
    slow_stacked = list(train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=2))
    assert not any(calls)
    assert [r.record["stacked"] for r in fast_stacked] == [True, True]
    assert_same_run(fast_alone, slow_alone)
    for fast, slow in zip(fast_stacked, slow_stacked):
        assert_same_run(fast, slow)
    assert_same_run(fast_alone, fast_stacked[0])
    assert not same_bits(fast_stacked[0].logits, fast_stacked[1].logits)  # two runs, not one twice


def _fake_compiler(tmp_path, body):
    script = tmp_path / "fake-cc"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("body, says", [
    ("echo 'selection.c: error: no' >&2; exit 1\n", "error: no"),  # the compiler fails
    ('for a; do o="$a"; done; echo "not a library" > "$o"\n', "selection.so"),  # a file that does not load
])
def test_a_build_that_fails_warns_and_training_runs_torchs_operations(tmp_path, monkeypatch, body, says):
    monkeypatch.setenv("CC", _fake_compiler(tmp_path, body))
    with pytest.warns(RuntimeWarning, match="could not be built") as caught:
        assert selection_kernels._LIBRARY.compile() is None
    assert says in str(caught[0].message) and "torch's operations" in str(caught[0].message)
    monkeypatch.setattr(selection_kernels._LIBRARY, "tried", False)
    monkeypatch.setattr(selection_kernels._LIBRARY, "loaded", None)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    with pytest.warns(RuntimeWarning):
        scores = _scores((4, 3), 8)
        assert same_bits(argmax_last(scores), scores.argmax(-1))
    assert selection_kernels._LIBRARY.tried and selection_kernels._LIBRARY.loaded is None  # tried once, not per call


def test_no_compiler_warns_once_and_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.warns(RuntimeWarning, match=r"no C compiler found \(\$CC or cc\)"):
        assert selection_kernels._LIBRARY.compile() is None


@needs_compiler
def test_a_choice_out_of_range_is_an_error_not_a_read_outside_the_tensor(kernels_on):
    candidates = torch.rand(4, 3, 8)
    for bad in (8, -1):
        choice = torch.zeros(4, 3, dtype=torch.long)
        choice[2, 1] = bad
        with pytest.raises(IndexError, match=r"outside \[0, 8\)"):
            gather_last(candidates, choice)
        with pytest.raises(RuntimeError):  # torch's own gather refuses it too
            candidates.gather(-1, choice.unsqueeze(-1))
