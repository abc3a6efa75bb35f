"""One training run: seeded sources in, test logits, history and a provenance record out.

Every random draw comes from the run's per-source generators (:mod:`runvar.seeds`):
``init`` builds the model, ``bitflip`` picks the one-ULP change, ``shuffle`` orders each epoch,
``augment`` draws crops/flips, ``stochastic`` drives dropout. Nothing reads the global RNG.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .bitflip import flip_one_bit
from .config import digest
from .data import Dataset, augment_batch
from .execution import check_pinned, configure, execution_of, hardware, resolve_device, versions
from .models import build_from_block, set_stochastic_generator
from .models.layers import REFERENCE_FULL_LR
from .io import write_atomic
from .seeds import RunSeeds, run_seeds


@dataclass
class RunResult:
    """What one run leaves: test logits/labels, per-epoch history, record, final weights."""

    logits: np.ndarray
    labels: np.ndarray
    history: list[dict[str, float]]
    record: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    snapshot_logits: np.ndarray | None = None
    snapshot_states: list[dict[str, torch.Tensor]] = field(default_factory=list, repr=False)


#: ``schedule.mode``: ``after_warmup`` (runvar's default) warms up over steps 1..W (the first
#: batch at peak / W) and decays by cosine over the steps after the warm-up; ``reference`` is
#: SD's ``learning_rate_fn``: the warm-up starts at LR 0 (step / W) and the cosine runs on
#: step / total from step 0 (so it starts below the peak once the warm-up ends).
SCHEDULE_MODES: tuple[str, ...] = ("after_warmup", "reference")
#: ``optimizer.param_groups``: ``rank`` gives 1-D tensors (biases, norm scales) ``bias_lr_scale``
#: x LR; ``reference`` follows SD's reference names (:func:`reference_scaled`).
PARAM_GROUPS: tuple[str, ...] = ("rank", "reference")


def lr_at(step: int, total_steps: int, warmup_steps: float, peak: float, mode: str = "after_warmup") -> float:
    """LR of (0-based) step ``step`` of a cycle of ``total_steps``: linear warm-up over
    ``warmup_steps``, then cosine decay to 0, as ``mode`` (:data:`SCHEDULE_MODES`) computes them.

    >>> [round(lr_at(s, 10, 2, 1.0), 3) for s in (0, 1, 2, 9)]
    [0.5, 1.0, 1.0, 0.038]
    >>> [round(lr_at(s, 10, 2, 1.0, "reference"), 3) for s in (0, 1, 2, 3, 9)]
    [0.0, 0.5, 1.0, 0.794, 0.024]
    """
    if mode == "reference":  # SD's learning_rate_fn (lr_schedule cosine, and each snapshot5 cycle)
        if warmup_steps and step <= warmup_steps:
            return peak * step / warmup_steps
        return peak * 0.5 * (1.0 + math.cos(math.pi * min(step / total_steps, 1.0)))
    if mode != "after_warmup":
        raise ValueError(f"unknown schedule mode {mode!r}; valid: {', '.join(SCHEDULE_MODES)}")
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def step_lrs(setup: dict[str, Any], steps_per_epoch: int) -> Callable[[int], float]:
    """The LR of every global step of a run of ``setup`` (before the parameter groups' scales):
    each schedule cycle warms up and decays on its own (snapshot ensembles)."""
    schedule = setup.get("schedule", {})
    mode = schedule.get("mode", "after_warmup")
    cycles = int(schedule.get("cycles", 1))
    cycle_steps = int(setup["epochs"]) // cycles * steps_per_epoch
    warmup = float(schedule.get("warmup_epochs", 0)) * steps_per_epoch
    # runvar's mode counts whole warm-up steps; the reference compares epochs, not steps
    warmup_steps = warmup if mode == "reference" else round(warmup)
    peak = float(setup["optimizer"]["lr"])
    return lambda step: lr_at(step % cycle_steps, cycle_steps, warmup_steps, peak, mode)


def reference_scaled(name: str, module: nn.Module) -> bool:
    """Whether SD's reference optimizer gives parameter ``name`` of ``module`` the reduced LR:
    every bias, and batch-norm scales except those the reference names without ``bn`` (marked
    :func:`runvar.models.layers.reference_full_lr`: ResNet's shortcut, VGG's batch norms)."""
    if name.rsplit(".", 1)[-1] == "bias":
        return True
    return (isinstance(module, nn.modules.batchnorm._BatchNorm) and name.endswith("weight")
            and not getattr(module, REFERENCE_FULL_LR, False))


def make_optimizer(model: nn.Module, options: dict) -> torch.optim.SGD:
    """SGD with momentum and weight decay. With ``param_groups: rank`` (default) biases and norm
    scales (1-D tensors) get ``bias_lr_scale`` x LR; with ``reference``, the parameters SD's
    reference code scales (:func:`reference_scaled`); 1.0 = same LR for all."""
    scale = float(options.get("bias_lr_scale", 1.0))
    grouping = options.get("param_groups", "rank")
    if grouping == "reference":
        owners = {f"{prefix}.{name}".lstrip("."): module for prefix, module in model.named_modules()
                  for name, _ in module.named_parameters(recurse=False)}
        scaled = {name for name, module in owners.items() if reference_scaled(name, module)}
    elif grouping == "rank":
        scaled = {name for name, p in model.named_parameters() if p.dim() <= 1}
    else:
        raise ValueError(f"unknown optimizer.param_groups {grouping!r}; valid: {', '.join(PARAM_GROUPS)}")
    matrices = [p for name, p in model.named_parameters() if name not in scaled]
    vectors = [p for name, p in model.named_parameters() if name in scaled]
    groups = [{"params": matrices, "lr_scale": 1.0}]
    if vectors:
        groups.append({"params": vectors, "lr_scale": scale})
    params = matrices + vectors
    # One fused kernel per step instead of several per-tensor ops: a third of a small model's
    # step on a CPU thread went to the optimizer's per-tensor overhead.
    fused = all(p.dtype in (torch.float32, torch.float64) and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.SGD(
        groups,
        lr=float(options["lr"]),
        momentum=float(options.get("momentum", 0.0)),
        weight_decay=float(options.get("weight_decay", 0.0)),
        nesterov=bool(options.get("nesterov", False)),
        fused=fused or None,
    )


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Logits of ``model`` in eval mode, batched, as float32."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)])


class Sources:
    """The generators a run draws from, switching at the onset epoch (SD Fig 2).

    Before ``seeds.onset_epoch`` every source uses the seed-1 generators; from then on the
    sources the variant varies use generators seeded from the run's own seeds.
    """

    def __init__(self, seeds: RunSeeds, device: torch.device) -> None:
        self.seeds = seeds
        self.own = seeds.generators(device)
        self.base = run_seeds("none", 1).generators(device) if seeds.onset_epoch else self.own
        self.switched = seeds.onset_epoch == 0

    def __getitem__(self, source: str) -> torch.Generator:
        return self.own[source] if self.switched and source in self.seeds.varied else self.base[source]

    def at_epoch(self, epoch: int) -> None:
        """Call at the start of each epoch (0-based)."""
        self.switched = epoch >= self.seeds.onset_epoch

    def state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: {k: g.get_state() for k, g in gens.items()} for name, gens in
                (("own", self.own), ("base", self.base))}

    def load_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        for name, gens in (("own", self.own), ("base", self.base)):
            for key, gen in gens.items():
                gen.set_state(state[name][key])


def train_run(
    setup: dict[str, Any],
    data: Dataset,
    seeds: RunSeeds,
    log: Callable[[str], None] = print,
    checkpoint: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Train one model of ``setup`` on ``data`` with ``seeds`` and return its test predictions.

    The test set is evaluated every ``setup["evaluate_every"]`` epochs (default 1), at every
    cycle end and at the last epoch; other epochs' history rows have NaN test metrics.
    With ``checkpoint`` set, the full training state (weights, optimizer, every generator,
    history) is saved there every ``setup["checkpoint_every"]`` epochs, and a run finding a
    checkpoint of the same setup and seeds resumes from it with bitwise identical results.
    ``setup["schedule"]["cycles"]`` > 1 trains a snapshot ensemble: the warm-up + cosine
    schedule restarts each cycle and the test logits and weights at every cycle end are kept.
    """
    started = time.perf_counter()
    check_pinned(setup)
    execution = execution_of(setup)
    device = resolve_device(execution["device"])
    mode = configure(device, int(execution["threads"]), seeds.cudnn)
    data = data.to(device)
    sources = Sources(seeds, device)

    model = build_from_block(setup["model"], data.input_shape, data.num_classes, seeds.init)
    model.to(device)
    bitflip_param = setup.get("bitflip", {}).get("parameter", "first")

    epochs, batch_size = int(setup["epochs"]), int(setup["batch_size"])
    schedule = setup.get("schedule", {})
    cycles = int(schedule.get("cycles", 1))
    if epochs % cycles:
        raise ValueError(f"epochs ({epochs}) must be a multiple of schedule.cycles ({cycles})")
    optimizer = make_optimizer(model, setup["optimizer"])
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / batch_size)
    lr_of_step = step_lrs(setup, steps_per_epoch)
    augment = setup.get("augment", {})
    every = int(setup.get("checkpoint_every", 0))
    evaluate_every = int(setup.get("evaluate_every", 1))
    key = digest({"setup": setup, "seeds": seeds.as_dict()})

    history: list[dict[str, float]] = []
    snapshots: list[tuple[np.ndarray, dict[str, torch.Tensor]]] = []
    bitflip = None
    first_epoch = 0
    resumed = load_checkpoint(checkpoint, key, log)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        sources.load_state(resumed["generators"])
        history, bitflip, first_epoch = resumed["history"], resumed["bitflip"], resumed["epoch"]
        snapshots = [(logits, weights) for logits, weights in resumed["snapshots"]]
    set_stochastic_generator(model, sources["stochastic"])

    for epoch in range(first_epoch, epochs):
        sources.at_epoch(epoch)
        set_stochastic_generator(model, sources["stochastic"])
        if seeds.bitflip is not None and epoch == seeds.onset_epoch and bitflip is None:
            bitflip = flip_one_bit(model, sources["bitflip"], bitflip_param)
            log(f"bit flip: {bitflip['parameter']}{bitflip['index']} {bitflip['old']!r} -> {bitflip['new']!r}")
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=sources["shuffle"], device=device)
        loss_sum, correct = 0.0, 0
        for first in range(0, n_train, batch_size):
            idx = order[first : first + batch_size]
            x = augment_batch(data.x_train[idx], augment, sources["augment"], data.pad_value)
            y = data.y_train[idx]
            step = epoch * steps_per_epoch + first // batch_size
            lr = lr_of_step(step)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            out = model(x)
            loss = F.cross_entropy(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((out.argmax(1) == y).sum())
        cycle_end = cycles > 1 and (epoch + 1) % (epochs // cycles) == 0
        evaluate = (epoch + 1) % evaluate_every == 0 or epoch + 1 == epochs or cycle_end
        row = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": loss_sum / n_train,
            "train_accuracy": correct / n_train,
            "test_cross_entropy": math.nan,
            "test_accuracy": math.nan,
            "seconds": time.perf_counter() - epoch_start,
        }
        if evaluate:  # the test set only where the history, a snapshot or the end needs it
            test_logits = predict(model, data.x_test)
            # float64: a linear model's runs differ in CE by less than a float32 step (~1e-7)
            row["test_cross_entropy"] = float(F.cross_entropy(test_logits.double(), data.y_test))
            row["test_accuracy"] = float((test_logits.argmax(1) == data.y_test).float().mean())
        history.append(row)
        tested = f" test acc {row['test_accuracy']:.4f} CE {row['test_cross_entropy']:.4f}" if evaluate else ""
        log(f"epoch {epoch + 1}/{epochs} loss {row['train_loss']:.4f}{tested}")
        if cycle_end:
            snapshots.append((test_logits.cpu().numpy().astype(np.float32), _cpu_state(model)))
        if checkpoint is not None and every and (epoch + 1) % every == 0 and epoch + 1 < epochs:
            save_checkpoint(checkpoint, {
                "key": key, "epoch": epoch + 1, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "generators": sources.state(),
                "history": history, "bitflip": bitflip, "snapshots": snapshots,
            })

    if not torch.isfinite(test_logits).all():
        raise FloatingPointError("training diverged: test logits contain NaN/inf (lower the LR)")
    record = {
        "seeds": seeds.as_dict(),
        "bitflip": bitflip,
        "execution": mode,
        "hardware": hardware(device),
        "versions": versions(),
        "dataset_checksum": data.checksum,
        "wall_seconds": time.perf_counter() - started,
        "resumed_from_epoch": first_epoch,
        "snapshots": len(snapshots),
        "final_test_accuracy": history[-1]["test_accuracy"],
    }
    return RunResult(
        logits=test_logits.cpu().numpy().astype(np.float32),
        labels=data.y_test.cpu().numpy(),
        history=history,
        record=record,
        state_dict=_cpu_state(model),
        snapshot_logits=np.stack([s[0] for s in snapshots]) if snapshots else None,
        snapshot_states=[s[1] for s in snapshots],
    )


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write the training state atomically (a kill mid-write leaves the previous one)."""
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(
    path: str | os.PathLike[str] | None, key: str, log: Callable[[str], None]
) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it belongs to this setup and seeds, else None."""
    if path is None or not os.path.exists(path):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a damaged checkpoint only costs the epochs since the last one
        log(f"ignoring unreadable checkpoint {path}: {type(err).__name__}: {err}")
        return None
    if state.get("key") != key:
        log(f"ignoring checkpoint {path}: it belongs to another setup or seeds")
        return None
    log(f"resuming from {path} at epoch {state['epoch']}")
    return state
