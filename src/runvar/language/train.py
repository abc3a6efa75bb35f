"""One language-model run: Merity et al.'s training loop with per-source generators.

Per epoch the training stream (batchified into ``batch_size`` columns, in corpus order: there
is no shuffle source) is cut into windows of variable length: the base length is ``bptt`` with
probability 0.95 else ``bptt / 2``, the length ~ N(base, 5) truncated to an integer, at least 5,
all drawn from the ``stochastic`` generator like every dropout mask. Loss = cross-entropy + AR
(``alpha`` x mean square of the last layer's dropped output) + TAR (``beta`` x mean square of
its step-to-step change); gradients clipped to norm ``clip``; SGD with ``weight_decay`` and the
learning rate scaled by length / bptt for each window; ``schedule: cosine`` (not Merity's)
anneals the base rate to 0 over the epochs. Plain SGD throughout: Merity's switch
to averaged SGD is not used. The model of the last epoch is tested.

Validation PPL (batch ``eval_batch_size``, windows of ``bptt``) is recorded every
``evaluate_every`` epochs and at the last (NaN in the history otherwise); the
test set is read with batch ``test_batch_size`` (1 in Merity's code), keeping per position the
target's log-probability and the argmax token: what the metrics need, nothing of vocabulary size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..bitflip import flip_one_bit
from ..execution import configure, resolve_device
from ..seeds import RunSeeds
from .corpus import Corpus, batchify, get_batch
from .models import LanguageModel, build_language_model, detach_hidden


@dataclass
class LanguageRun:
    """What one run leaves: its record, per-epoch history and per-position test predictions."""

    record: dict[str, Any]
    history: list[dict[str, float]]
    target_logprob: np.ndarray  # (positions,) float32: log p(target) under the model
    argmax: np.ndarray  # (positions,) int32: the most probable next token


def window_length(bptt: int, generator: torch.Generator) -> int:
    """Merity's variable BPTT length, drawn from ``generator``."""
    device = generator.device  # the stochastic generator lives on the run's device
    base = bptt if float(torch.rand((), generator=generator, device=device)) < 0.95 else bptt / 2.0
    return max(5, int(base + 5.0 * float(torch.randn((), generator=generator, device=device))))


@torch.no_grad()
def evaluate(model: LanguageModel, data: torch.Tensor, bptt: int, keep: bool = False
             ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Mean NLL (nats per token) over ``data`` (steps, batch) in windows of ``bptt``; with
    ``keep``, also each position's target log-probability and argmax (column-major order,
    which is stream order for batch 1)."""
    model.eval()
    hidden = model.init_hidden(data.shape[1])
    total, count = 0.0, 0
    logprobs, argmaxes = [], []
    for i in range(0, data.shape[0] - 1, bptt):
        inputs, targets = get_batch(data, i, bptt)
        logits, hidden, _, _ = model(inputs, hidden)
        logp = F.log_softmax(logits.double(), dim=2)
        picked = logp.gather(2, targets.unsqueeze(2))[..., 0]
        total -= float(picked.sum())
        count += targets.numel()
        if keep:
            logprobs.append(picked.t().float().cpu())
            argmaxes.append(logits.argmax(2).t().int().cpu())
    if not keep:
        return total / count, None, None
    return total / count, torch.cat(logprobs, 1).reshape(-1).numpy(), torch.cat(argmaxes, 1).reshape(-1).numpy()


@torch.no_grad()
def sgd_step(params: list[torch.Tensor], lr: float, weight_decay: float) -> None:
    """``p -= lr * (grad + weight_decay * p)``: torch's SGD without momentum, written out
    because constructing ``torch.optim.SGD`` imports torch._dynamo (about 3 s per job)."""
    for p in params:
        if p.grad is not None:
            p.sub_(torch.add(p.grad, p, alpha=weight_decay), alpha=lr)


def scheduled_lr(setup: Mapping[str, Any], progress: float) -> float:
    """The base learning rate at ``progress`` in [0, 1) of training: constant (Merity's SGD
    phase) or, with ``schedule: cosine``, ``lr * (1 + cos(pi * progress)) / 2`` down to 0."""
    lr = float(setup["lr"])
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress)) if setup["schedule"] == "cosine" else lr


def train_epoch(model: LanguageModel, data: torch.Tensor, setup: Mapping[str, Any],
                generator: torch.Generator, epoch: int = 1) -> float:
    """One pass (``epoch``, from 1) over the training stream; returns the mean training cross-entropy."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    bptt, decay, epochs = int(setup["bptt"]), float(setup["weight_decay"]), int(setup["epochs"])
    hidden = model.init_hidden(data.shape[1])
    total, count, i = 0.0, 0, 0
    while i < data.shape[0] - 2:
        seq_len = window_length(bptt, generator)
        inputs, targets = get_batch(data, i, seq_len)
        hidden = detach_hidden(hidden)
        model.zero_grad(set_to_none=True)
        logits, hidden, raw, dropped = model(inputs, hidden, generator)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1))
        total += loss.item() * targets.numel()
        count += targets.numel()
        if setup["alpha"]:
            loss = loss + setup["alpha"] * dropped[-1].pow(2).mean()
        if setup["beta"]:
            loss = loss + setup["beta"] * (raw[-1][1:] - raw[-1][:-1]).pow(2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), setup["clip"])
        lr = scheduled_lr(setup, (epoch - 1 + i / data.shape[0]) / epochs)
        sgd_step(params, lr * seq_len / bptt, decay)
        i += seq_len
    return total / count


def _ppl(nll: float) -> float:
    return math.exp(min(nll, 700.0))


def train_language_run(setup: Mapping[str, Any], corpus: Corpus, seeds: RunSeeds,
                       log: Callable[[str], None] = print) -> LanguageRun:
    """Train one run of a resolved language setup (:mod:`runvar.language.config`) on ``corpus``."""
    start = time.perf_counter()
    execution = setup["execution"]
    device = resolve_device(execution["device"])
    exec_record = configure(device, int(execution["threads"]), seeds.cudnn)
    gens = seeds.generators(device)
    model = build_language_model(dict(setup["model"]), len(corpus.vocab))
    model.reset_parameters(gens["init"])
    flip = flip_one_bit(model, gens["bitflip"], setup["bitflip"]["parameter"]) if seeds.bitflip is not None else None
    model.to(device)
    tokens = corpus.train[: setup["train_tokens"]] if setup.get("train_tokens") else corpus.train
    train = batchify(tokens, int(setup["batch_size"])).to(device)
    valid = batchify(corpus.valid, int(setup["eval_batch_size"])).to(device)
    test = batchify(corpus.test, int(setup["test_batch_size"])).to(device)
    history = []
    epochs, every = int(setup["epochs"]), int(setup["evaluate_every"])
    for epoch in range(1, epochs + 1):
        train_ce = train_epoch(model, train, setup, gens["stochastic"], epoch)
        valid_ppl = math.nan
        if epoch % every == 0 or epoch == epochs:
            valid_ppl = _ppl(evaluate(model, valid, int(setup["bptt"]))[0])
            log(f"epoch {epoch}: train CE {train_ce:.4f}, valid PPL {valid_ppl:.2f}")
        history.append({"epoch": epoch, "train_cross_entropy": train_ce, "valid_ppl": valid_ppl})
    test_nll, logprob, argmax = evaluate(model, test, int(setup["bptt"]), keep=True)
    record = {
        "seeds": seeds.as_dict(),
        "bitflip": flip,
        "valid_ppl": history[-1]["valid_ppl"],
        "test_ppl": _ppl(test_nll),
        "test_positions": int(len(logprob)),
        "corpus_checksum": corpus.checksum,
        "vocab_size": len(corpus.vocab),
        "parameters": sum(p.numel() for p in model.parameters()),
        "execution": exec_record,
        "wall_seconds": time.perf_counter() - start,
    }
    return LanguageRun(record, history, logprob.astype(np.float32), argmax.astype(np.int32))
