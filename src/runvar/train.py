"""One training run: seeded sources in, test logits, history and a provenance record out.

Every random draw comes from the run's per-source generators (:mod:`runvar.seeds`):
``init`` builds the model, ``bitflip`` picks the one-ULP change, ``shuffle`` orders each epoch,
``augment`` draws crops/flips, ``stochastic`` drives dropout. Nothing reads the global RNG.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .bitflip import flip_one_bit
from .data import Dataset, augment_batch
from .execution import configure, resolve_device, versions
from .models import build_model, set_stochastic_generator
from .seeds import RunSeeds


@dataclass
class RunResult:
    """What one run leaves: test logits/labels, per-epoch history, record, final weights."""

    logits: np.ndarray
    labels: np.ndarray
    history: list[dict[str, float]]
    record: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_steps`` batches, then cosine decay to 0."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, options: dict) -> torch.optim.SGD:
    """SGD with momentum and weight decay; biases and norm scales (1-D tensors) get
    ``bias_lr_scale`` x LR as in the reference code (1.0 = same LR)."""
    scale = float(options.get("bias_lr_scale", 1.0))
    matrices = [p for p in model.parameters() if p.dim() > 1]
    vectors = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": matrices, "lr_scale": 1.0}]
    if vectors:
        groups.append({"params": vectors, "lr_scale": scale})
    return torch.optim.SGD(
        groups,
        lr=float(options["lr"]),
        momentum=float(options.get("momentum", 0.0)),
        weight_decay=float(options.get("weight_decay", 0.0)),
        nesterov=bool(options.get("nesterov", False)),
    )


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Logits of ``model`` in eval mode, batched, as float32."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)])


def train_run(
    setup: dict[str, Any],
    data: Dataset,
    seeds: RunSeeds,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Train one model of ``setup`` on ``data`` with ``seeds`` and return its test predictions."""
    started = time.perf_counter()
    execution = setup.get("execution", {})
    device = resolve_device(execution.get("device", "cpu"))
    mode = configure(device, int(execution.get("threads", 1)), seeds.cudnn)
    data = data.to(device)
    gens = seeds.generators(device)

    model_options = dict(setup["model"])
    model = build_model(
        model_options.pop("name"), data.input_shape, data.num_classes, seeds.init, **model_options
    )
    bitflip = None
    if seeds.bitflip is not None:
        bitflip = flip_one_bit(model, gens["bitflip"], setup.get("bitflip", {}).get("parameter", "first"))
        log(f"bit flip: {bitflip['parameter']}{bitflip['index']} {bitflip['old']!r} -> {bitflip['new']!r}")
    model.to(device)
    set_stochastic_generator(model, gens["stochastic"])

    epochs, batch_size = int(setup["epochs"]), int(setup["batch_size"])
    optimizer = make_optimizer(model, setup["optimizer"])
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / batch_size)
    total_steps = epochs * steps_per_epoch
    warmup_steps = round(float(setup.get("schedule", {}).get("warmup_epochs", 0)) * steps_per_epoch)
    peak_lr = float(setup["optimizer"]["lr"])
    augment = setup.get("augment", {})

    history: list[dict[str, float]] = []
    step = 0
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=gens["shuffle"], device=device)
        loss_sum, correct = 0.0, 0
        for first in range(0, n_train, batch_size):
            idx = order[first : first + batch_size]
            x = augment_batch(data.x_train[idx], augment, gens["augment"])
            y = data.y_train[idx]
            lr = lr_at(step, total_steps, warmup_steps, peak_lr)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            out = model(x)
            loss = F.cross_entropy(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += float(loss.detach()) * len(y)
            correct += int((out.argmax(1) == y).sum())
        test_logits = predict(model, data.x_test)
        row = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": loss_sum / n_train,
            "train_accuracy": correct / n_train,
            "test_cross_entropy": float(F.cross_entropy(test_logits, data.y_test)),
            "test_accuracy": float((test_logits.argmax(1) == data.y_test).float().mean()),
            "seconds": time.perf_counter() - epoch_start,
        }
        history.append(row)
        log(
            f"epoch {epoch}/{epochs} loss {row['train_loss']:.4f} "
            f"test acc {row['test_accuracy']:.4f} CE {row['test_cross_entropy']:.4f}"
        )

    if not torch.isfinite(test_logits).all():
        raise FloatingPointError("training diverged: test logits contain NaN/inf (lower the LR)")
    record = {
        "seeds": seeds.as_dict(),
        "bitflip": bitflip,
        "execution": mode,
        "versions": versions(),
        "dataset_checksum": data.checksum,
        "wall_seconds": time.perf_counter() - started,
        "final_test_accuracy": history[-1]["test_accuracy"] if history else None,
    }
    return RunResult(
        logits=test_logits.cpu().numpy().astype(np.float32),
        labels=data.y_test.cpu().numpy(),
        history=history,
        record=record,
        state_dict={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    )
