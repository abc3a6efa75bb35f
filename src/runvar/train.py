"""One training run: seeded sources in, test logits, history and a provenance record out.

Every random draw comes from the run's per-source generators (:mod:`runvar.seeds`):
``init`` builds the model, ``bitflip`` picks the one-ULP change, ``shuffle`` orders each epoch,
``augment`` draws crops/flips, ``stochastic`` drives dropout. Nothing reads the global RNG.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
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
from .models.stacked import stack_models, stackable
from .models.layers import REFERENCE_FULL_LR
from .models.selection_kernels import backward_and_step
from .io import write_atomic
from .seeds import RunSeeds


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
    #: training states at the ends of the epochs asked for (:func:`train_runs` ``save_states_at``)
    states: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)


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
        self.base = seeds.base_run().generators(device) if seeds.onset_epoch else self.own
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


def onset_state_key(setup: dict[str, Any]) -> str:
    """What an onset run and the run whose state it starts from must share: the setup but for
    its onset epoch (:func:`runvar.config.derive_setup` changes nothing else)."""
    return digest({k: v for k, v in setup.items() if k != "onset_epoch"})


def train_run(
    setup: dict[str, Any],
    data: Dataset,
    seeds: RunSeeds,
    log: Callable[[str], None] = print,
    checkpoint: str | os.PathLike[str] | None = None,
    start: dict[str, Any] | None = None,
    save_states_at: Sequence[int] = (),
) -> RunResult:
    """Train one model of ``setup`` on ``data`` with ``seeds`` and return its test predictions.

    The test set is evaluated every ``setup["evaluate_every"]`` epochs (default 1), at every
    cycle end and at the last epoch; other epochs' history rows have NaN test metrics.
    With ``checkpoint`` set, the full training state (weights, optimizer, every generator,
    history) is saved there every ``setup["checkpoint_every"]`` epochs, and a run finding a
    checkpoint of the same setup and seeds resumes from it with bitwise identical results.
    ``setup["schedule"]["cycles"]`` > 1 trains a snapshot ensemble: the warm-up + cosine
    schedule restarts each cycle and the test logits and weights at every cycle end are kept.

    Onset runs (SD Fig 2) share their first E epochs with the `none` run 1: ``save_states_at``
    (epochs E, on the `none` run 1 only) keeps its training state at the end of each in
    ``result.states``; ``start`` (one of those states) starts an onset run of switch-on epoch
    E there, with the same bits as training the first E epochs.
    """
    return _train_group(setup, data, [seeds], log, checkpoint, stacked=False, start=start,
                        save_states_at=save_states_at)[0]


def can_stack(setup: dict[str, Any]) -> bool:
    """Whether runs of ``setup`` may train as one stacked model, bitwise as if one at a time:
    a :func:`~runvar.models.stacked.stackable` model on a CPU, without checkpoints (a
    checkpoint holds one run's state)."""
    return (stackable(setup["model"]) and resolve_device(execution_of(setup)["device"]).type == "cpu"
            and not int(setup.get("checkpoint_every", 0)))


def train_runs(
    setup: dict[str, Any],
    data: Dataset,
    seeds: Sequence[RunSeeds],
    log: Callable[[str], None] = print,
    stack: int = 1,
    start: dict[str, Any] | None = None,
    save_states_at: Sequence[int] = (),
) -> Iterator[RunResult]:
    """Train the runs ``seeds`` of ``setup``, up to ``stack`` of them at a time as one stacked
    model where :func:`can_stack` allows (else one at a time, as :func:`train_run`); yields
    each run's result as soon as its stack ends. On a CPU a run's results are bitwise the same
    either way: ``stack`` changes the time only. Each stack size is checked first
    (:func:`stack_mismatch`); where a stack would not give the runs' bits, its runs train one
    at a time and their records say why (``stacked: false``, ``stack_fallback``).
    ``start`` and ``save_states_at``: as for :func:`train_run`, for every run."""
    if stack < 1:
        raise ValueError(f"train.stack must be at least 1, got {stack}")
    if stack == 1 or not can_stack(setup):
        return (train_run(setup, data, s, log, start=start, save_states_at=save_states_at) for s in seeds)
    return _train_stacks(setup, data, list(seeds), log, stack, start, save_states_at)


def _train_stacks(
    setup: dict[str, Any], data: Dataset, seeds: list[RunSeeds], log: Callable[[str], None], stack: int,
    start: dict[str, Any] | None = None, save_states_at: Sequence[int] = (),
) -> Iterator[RunResult]:
    """:func:`train_runs` in stacks of ``stack``, each stack size checked once before its
    first stack trains: a stack that does not give the bits of its runs alone falls back to
    training them one at a time."""
    mismatches: dict[int, str | None] = {}
    for first in range(0, len(seeds), stack):
        group = seeds[first : first + stack]
        if len(group) not in mismatches:
            started = time.perf_counter()
            mismatches[len(group)] = reason = stack_mismatch(setup, data, group)
            seconds = time.perf_counter() - started
            if reason is None:
                log(f"stack check: a stack of {len(group)} gives the bits of its runs alone "
                    f"(one step at batch sizes {', '.join(map(str, batch_sizes(setup, data)))}; {seconds:.2f} s)")
        reason = mismatches[len(group)]
        if reason is None:
            yield from _train_group(setup, data, group, log, None, stacked=True, start=start,
                                    save_states_at=save_states_at)
            continue
        log(f"stack check FAILED: {reason}; training the {len(group)} runs of this stack one at a time")
        for seeds_of_run in group:
            result = train_run(setup, data, seeds_of_run, log, start=start, save_states_at=save_states_at)
            result.record["stack_fallback"] = reason
            yield result


def batch_sizes(setup: dict[str, Any], data: Dataset) -> list[int]:
    """The distinct batch sizes of an epoch of ``setup`` on ``data``: the full batches and a
    smaller last one (4,000 examples in batches of 128 end with a batch of 32).

    >>> from types import SimpleNamespace as D
    >>> batch_sizes({"batch_size": 128}, D(y_train=range(4000))), batch_sizes({"batch_size": 64}, D(y_train=range(128)))
    ([128, 32], [64])
    """
    n_train, batch_size = len(data.y_train), int(setup["batch_size"])
    return sorted({min(batch_size, n_train), n_train % batch_size} - {0}, reverse=True)


def stack_mismatch(setup: dict[str, Any], data: Dataset, seeds_list: Sequence[RunSeeds]) -> str | None:
    """How a stack of the runs ``seeds_list`` of ``setup`` would differ from its runs trained
    alone, or None if it does not: for every distinct batch size of an epoch
    (:func:`batch_sizes`; ``bmm`` picks its kernel by shape), one training step (forward,
    backward, optimizer step, as :func:`_train_group` takes them) of the stack and of its first
    two runs alone, from the runs' initial weights on the first examples of the training set,
    compared bitwise: outputs, gradients and updated parameters. The stack's bits rest on
    ``bmm`` rounding as ``mm`` does for these shapes, a property of the CPU's kernels and the
    library versions. Draws only from its own generators: the runs it checks are untouched."""
    device, _ = _configure(setup, seeds_list)
    data = data.to(device)
    built = [build_from_block(setup["model"], data.input_shape, data.num_classes, s.init).to(device)
             for s in seeds_list]
    lr = float(setup["optimizer"]["lr"])
    runs = len(seeds_list)
    for n in batch_sizes(setup, data):
        x, y = data.x_train[:n], data.y_train[:n]
        stack = stack_models(setup["model"], [copy.deepcopy(m) for m in built]).train()
        generators = [s.generators(device)["stochastic"] for s in seeds_list]
        stack_optimizer = make_optimizer(stack.runs, setup["optimizer"])
        outs, _ = _step(stack, stack_optimizer, lr, [x] * runs, [y] * runs, stacked=True, generators=generators)
        for run in range(min(2, runs)):
            alone = copy.deepcopy(built[run]).train()
            set_stochastic_generator(alone, seeds_list[run].generators(device)["stochastic"])
            optimizer = make_optimizer(alone, setup["optimizer"])
            out, _ = _step(alone, optimizer, lr, [x], [y], stacked=False)
            where = _first_difference(out[0], outs[run], (alone, optimizer), (stack.runs[run], stack_optimizer))
            if where is not None:
                return (f"a stack of {runs} differs from run {run + 1} of it trained alone at batch size {n} "
                        f"({where}); a stack relies on bmm rounding as mm does, which depends on the CPU's "
                        f"kernels and the library versions (torch {torch.__version__})")
    return None


def _first_difference(out: torch.Tensor, stacked_out: torch.Tensor, alone: tuple[nn.Module, torch.optim.Optimizer],
                      stacked: tuple[nn.Module, torch.optim.Optimizer]) -> str | None:
    """Where one step of a run alone and of the same run in a stack (each a model and its
    optimizer) first differ bitwise: its output, a parameter's gradient (or, for selection scores
    the fused step took without one, the momentum buffer, the gradient itself on a first step) or
    the parameter after the step; None if nowhere."""
    if not torch.equal(out, stacked_out):
        return "output"

    def gradient(p: torch.Tensor, optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
        return p.grad if p.grad is not None else optimizer.state[p].get("momentum_buffer")

    for (name, a), b in zip(alone[0].named_parameters(), stacked[0].parameters()):
        ga, gb = gradient(a, alone[1]), gradient(b, stacked[1])
        if (ga is None) != (gb is None) or (ga is not None and not torch.equal(ga, gb)):
            return f"gradient of {name}"
        if not torch.equal(a, b):
            return f"{name} after the step"
    return None


def _configure(setup: dict[str, Any], seeds_list: Sequence[RunSeeds]) -> tuple[torch.device, dict]:
    """Set threads and kernels for training ``seeds_list`` of ``setup`` together; the device
    and the record of what is in force (:func:`~runvar.execution.configure`)."""
    check_pinned(setup)
    execution = execution_of(setup)
    device = resolve_device(execution["device"])
    if len({s.cudnn for s in seeds_list}) != 1:
        raise ValueError("runs trained together must agree on the cudnn source")
    return device, configure(device, int(execution["threads"]), seeds_list[0].cudnn)


def _step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    lr: float,
    xs: Sequence[torch.Tensor],
    ys: Sequence[torch.Tensor],
    stacked: bool,
    generators: Sequence[torch.Generator] | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """One training step at LR ``lr`` (before the parameter groups' scales) of ``net``: a
    stacked model (:func:`~runvar.models.stacked.stack_models`) of the runs of ``xs``, ``ys`` and dropout ``generators`` when
    ``stacked``, else one run's model (its dropout generator already set); the runs' outputs
    and losses."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group["lr_scale"]
    outs = net(torch.stack(list(xs)), generators) if stacked else [net(xs[0])]
    losses = [F.cross_entropy(out, y) for out, y in zip(outs, ys)]
    optimizer.zero_grad(set_to_none=True)
    backward_and_step(torch.stack(losses).sum() if stacked else losses[0], optimizer)
    return list(outs), losses


def _train_group(
    setup: dict[str, Any],
    data: Dataset,
    seeds_list: list[RunSeeds],
    log: Callable[[str], None],
    checkpoint: str | os.PathLike[str] | None,
    stacked: bool,
    start: dict[str, Any] | None = None,
    save_states_at: Sequence[int] = (),
) -> list[RunResult]:
    """Train the runs of ``seeds_list`` side by side: as one stacked model when
    ``stacked``, else the one run's own model (the only case that checkpoints).

    The loop reads as a run goes: build what the group trains (:func:`_build_group`), put it
    at an onset start or a checkpoint (:func:`_restore`), then each epoch switch sources and
    flip bits (:func:`_switch_and_flip`), train (:func:`_train_epoch`), evaluate, append and
    log the history rows (:func:`_epoch_rows`) and keep the states asked for
    (:func:`_keep_state`); last, each run's result (:func:`_run_results`)."""
    started = time.perf_counter()
    group = _build_group(setup, data, seeds_list, stacked)
    if save_states_at and seeds_list[0] != seeds_list[0].base_run():
        raise ValueError(f"training states are kept for onset runs of the `none` run 1 only, not of {seeds_list[0].as_dict()}")
    progress = _restore(group, start, checkpoint, log)
    for epoch in range(progress.first_epoch, group.epochs):
        _switch_and_flip(epoch, seeds_list, group.sources, group.models, progress.bitflips, group.bitflip_param, log)
        generators = _dropout_generators(group)
        epoch_start = time.perf_counter()
        loss_sums, corrects, lr = _train_epoch(group.net, group.optimizer, group.data, group.sources, setup, epoch,
                                               group.lr_of_step, stacked, generators)
        seconds = (time.perf_counter() - epoch_start) / group.runs
        _epoch_rows(group, progress, epoch, lr, loss_sums, corrects, seconds, log)
        _keep_state(group, progress, epoch, save_states_at, checkpoint)
    return _run_results(group, progress, start, wall=(time.perf_counter() - started) / group.runs)


@dataclass(frozen=True)
class _Group:
    """What :func:`_train_group` trains: the runs ``seeds`` of ``setup`` on ``device`` (with
    the ``execution`` settings in force), their ``data`` there, each run's ``sources`` and
    ``models``, the ``net`` that trains them (their stack when ``stacked``, else the one
    model), its ``optimizer`` and the LR of each step; the schedule's ``epochs`` and
    ``cycles``, how often the test set is evaluated and checkpoints are written, the
    parameter a bit flip picks from, and the checkpoint ``key`` of the (first) run."""

    setup: dict[str, Any]
    seeds: list[RunSeeds]
    stacked: bool
    device: torch.device
    execution: dict[str, Any]
    data: Dataset
    sources: list[Sources]
    models: list[nn.Module]
    net: nn.Module
    optimizer: torch.optim.SGD
    lr_of_step: Callable[[int], float]
    epochs: int
    cycles: int
    evaluate_every: int
    checkpoint_every: int
    bitflip_param: str
    key: str

    @property
    def runs(self) -> int:
        """How many runs train together."""
        return len(self.seeds)

    @property
    def n_train(self) -> int:
        """How many training examples an epoch takes."""
        return len(self.data.y_train)


def _build_group(setup: dict[str, Any], data: Dataset, seeds_list: list[RunSeeds], stacked: bool) -> _Group:
    """Everything the runs ``seeds_list`` of ``setup`` train with, fresh: threads and kernels
    set, the data on the device, the runs' generators, models (from their ``init`` seeds),
    optimizer and LR schedule; refuses epochs that are not a multiple of the cycles."""
    device, execution = _configure(setup, seeds_list)
    data = data.to(device)
    sources = [Sources(s, device) for s in seeds_list]
    models = [build_from_block(setup["model"], data.input_shape, data.num_classes, s.init).to(device)
              for s in seeds_list]
    net: nn.Module = stack_models(setup["model"], models).to(device) if stacked else models[0]
    bitflip_param = setup.get("bitflip", {}).get("parameter", "first")
    epochs, batch_size = int(setup["epochs"]), int(setup["batch_size"])
    cycles = int(setup.get("schedule", {}).get("cycles", 1))
    if epochs % cycles:
        raise ValueError(f"epochs ({epochs}) must be a multiple of schedule.cycles ({cycles})")
    optimizer = make_optimizer(net.runs if stacked else net, setup["optimizer"])
    lr_of_step = step_lrs(setup, math.ceil(len(data.y_train) / batch_size))
    every = int(setup.get("checkpoint_every", 0))
    evaluate_every = int(setup.get("evaluate_every", 1))
    key = digest({"setup": setup, "seeds": seeds_list[0].as_dict()})
    return _Group(setup=setup, seeds=seeds_list, stacked=stacked, device=device, execution=execution, data=data,
                  sources=sources, models=models, net=net, optimizer=optimizer, lr_of_step=lr_of_step, epochs=epochs,
                  cycles=cycles, evaluate_every=evaluate_every, checkpoint_every=every, bitflip_param=bitflip_param,
                  key=key)


@dataclass
class _Progress:
    """What the runs of a :class:`_Group` have so far, run by run: history rows, cycle-end
    snapshots (test logits, weights), bit-flip records and the latest test logits; the
    training states kept for onset runs (:func:`_onset_state`, the first run's), the epoch
    training goes on from and the checkpoint epoch it resumed at (0: none)."""

    histories: list[list[dict[str, float]]]
    snapshots: list[list[tuple[np.ndarray, dict[str, torch.Tensor]]]]
    bitflips: list[dict | None]
    test_logits: list[torch.Tensor]
    states: dict[int, dict[str, Any]] = field(default_factory=dict)
    first_epoch: int = 0
    resumed_epoch: int = 0


def _restore(group: _Group, start: dict[str, Any] | None, checkpoint: str | os.PathLike[str] | None,
             log: Callable[[str], None]) -> _Progress:
    """The group's progress before its first epoch: nothing, or the `none` run 1's state
    ``start`` (:func:`_start_from`) for every run, and then the first run's ``checkpoint`` if
    one of this setup and seeds is there (:func:`load_checkpoint`, :func:`_resume`)."""
    runs = group.runs
    progress = _Progress(histories=[[] for _ in range(runs)], snapshots=[[] for _ in range(runs)],
                         bitflips=[None] * runs, test_logits=[torch.empty(0)] * runs)
    if start is not None:
        progress.first_epoch = _start_from(start, group.setup, group.seeds, group.models, group.optimizer, group.sources)
        progress.histories = [copy.deepcopy(start["history"]) for _ in range(runs)]
        progress.snapshots = [list(start["snapshots"]) for _ in range(runs)]
        log(f"starting at epoch {progress.first_epoch} from the `none` run 1's state (all seeds 1 before it)")
    resumed = load_checkpoint(checkpoint, group.key, log)
    if resumed is not None:
        progress.first_epoch = progress.resumed_epoch = _resume(resumed, group.net, group.optimizer, group.sources[0])
        progress.histories[0], progress.bitflips[0] = resumed["history"], resumed["bitflip"]
        progress.snapshots[0] = [(logits, weights) for logits, weights in resumed["snapshots"]]
    return progress


def _dropout_generators(group: _Group) -> list[torch.Generator]:
    """Each run's ``stochastic`` generator of the epoch about to start (after the onset
    switch); a run alone draws its dropout from it from now on."""
    generators = [own["stochastic"] for own in group.sources]
    if not group.stacked:
        set_stochastic_generator(group.net, generators[0])
    return generators


def _epoch_rows(group: _Group, progress: _Progress, epoch: int, lr: float, loss_sums: Sequence[float],
                corrects: Sequence[int], seconds: float, log: Callable[[str], None]) -> None:
    """Each run's history row of (0-based) ``epoch``, appended and logged: the training
    metrics, and the test set's where due (every ``evaluate_every`` epochs, each cycle end,
    the last epoch), which also sets the run's test logits and at a cycle end its snapshot."""
    n_train = group.n_train
    cycle_end = group.cycles > 1 and (epoch + 1) % (group.epochs // group.cycles) == 0
    evaluate = (epoch + 1) % group.evaluate_every == 0 or epoch + 1 == group.epochs or cycle_end
    for run in range(group.runs):
        row = _history_row(epoch + 1, lr, loss_sums[run] / n_train, corrects[run] / n_train, seconds)
        if evaluate:  # the test set only where the history, a snapshot or the end needs it
            snapshots = progress.snapshots[run] if cycle_end else None
            progress.test_logits[run] = _evaluate(group.models[run], group.data, row, snapshots)
        progress.histories[run].append(row)
        tested = f" test acc {row['test_accuracy']:.4f} CE {row['test_cross_entropy']:.4f}" if evaluate else ""
        who = f"[stack {run + 1}/{group.runs}] " if group.stacked else ""
        log(f"{who}epoch {epoch + 1}/{group.epochs} loss {row['train_loss']:.4f}{tested}")


def _keep_state(group: _Group, progress: _Progress, epoch: int, save_states_at: Sequence[int],
                checkpoint: str | os.PathLike[str] | None) -> None:
    """At the end of (0-based) ``epoch``: the first run's state for onset runs if its epoch is
    in ``save_states_at`` (:func:`_onset_state`), and a ``checkpoint`` every
    ``checkpoint_every`` epochs but the last (the one run's weights, optimizer, generators,
    history, bit flip and snapshots)."""
    if epoch + 1 in save_states_at:
        progress.states[epoch + 1] = _onset_state(group.setup, epoch + 1, group.models[0], group.optimizer,
                                                  group.sources[0], progress.histories[0], progress.snapshots[0])
    every = group.checkpoint_every
    if checkpoint is not None and every and (epoch + 1) % every == 0 and epoch + 1 < group.epochs:
        save_checkpoint(checkpoint, {
            "key": group.key, "epoch": epoch + 1, "model": group.net.state_dict(),
            "optimizer": group.optimizer.state_dict(), "generators": group.sources[0].state(),
            "history": progress.histories[0], "bitflip": progress.bitflips[0], "snapshots": progress.snapshots[0],
        })


def _run_results(group: _Group, progress: _Progress, start: dict[str, Any] | None, wall: float) -> list[RunResult]:
    """Each run's :class:`RunResult`: test logits (refused if not finite), history, record
    (``wall`` its share of the group's seconds), final weights and snapshots; the states
    kept for onset runs go with the first run's."""
    results = []
    for run, seeds in enumerate(group.seeds):
        if not torch.isfinite(progress.test_logits[run]).all():
            raise FloatingPointError("training diverged: test logits contain NaN/inf (lower the LR)")
        snapshots, history = progress.snapshots[run], progress.histories[run]
        record = {
            "seeds": seeds.as_dict(),
            "bitflip": progress.bitflips[run],
            "execution": group.execution,
            "hardware": hardware(group.device),
            "versions": versions(),
            "dataset_checksum": group.data.checksum,
            "wall_seconds": wall,
            "stacked_with": group.runs,
            "stacked": group.stacked,
            "stack_fallback": None,  # train_runs: why runs meant to stack trained alone
            "resumed_from_epoch": progress.resumed_epoch,
            "onset_started_at": int(start["epoch"]) if start is not None else None,
            "snapshots": len(snapshots),
            "final_test_accuracy": history[-1]["test_accuracy"],
        }
        results.append(RunResult(
            logits=progress.test_logits[run].cpu().numpy().astype(np.float32),
            labels=group.data.y_test.cpu().numpy(),
            history=history,
            record=record,
            state_dict=_cpu_state(group.models[run]),
            snapshot_logits=np.stack([s[0] for s in snapshots]) if snapshots else None,
            snapshot_states=[s[1] for s in snapshots],
            states=progress.states if run == 0 else {},
        ))
    return results


def _history_row(epoch: int, lr: float, train_loss: float, train_accuracy: float, seconds: float) -> dict[str, float]:
    """One run's history row of (1-based) ``epoch``; the test metrics NaN until evaluated."""
    return {
        "epoch": epoch,
        "lr": lr,
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "test_cross_entropy": math.nan,
        "test_accuracy": math.nan,
        "seconds": seconds,
    }


def _resume(state: dict[str, Any], net: nn.Module, optimizer: torch.optim.Optimizer, sources: Sources) -> int:
    """Put a run at its checkpoint ``state`` (weights, optimizer, every generator); the epoch
    it resumes at."""
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    sources.load_state(state["generators"])
    return int(state["epoch"])


def _switch_and_flip(epoch: int, seeds_list: Sequence[RunSeeds], sources: Sequence[Sources], models: Sequence[nn.Module],
                     bitflips: list[dict | None], parameter: str, log: Callable[[str], None]) -> None:
    """At the start of ``epoch``: each run's sources switch at its onset epoch, and a bit-flip
    run flips its one bit there (once; ``bitflips`` keeps the record)."""
    for run, (seeds, own) in enumerate(zip(seeds_list, sources)):
        own.at_epoch(epoch)
        if seeds.bitflip is not None and epoch == seeds.onset_epoch and bitflips[run] is None:
            bitflips[run] = flip = flip_one_bit(models[run], own["bitflip"], parameter)
            log(f"bit flip: {flip['parameter']}{flip['index']} {flip['old']!r} -> {flip['new']!r}")


def _train_epoch(
    net: nn.Module, optimizer: torch.optim.Optimizer, data: Dataset, sources: Sequence[Sources], setup: dict[str, Any],
    epoch: int, lr_of_step: Callable[[int], float], stacked: bool, generators: Sequence[torch.Generator],
) -> tuple[list[float], list[int], float]:
    """One epoch of every run: each shuffled by its own ``shuffle`` source and augmented by its
    ``augment`` source; the runs' summed training losses, correct counts and the last LR."""
    device = data.x_train.device
    n_train, batch_size = len(data.y_train), int(setup["batch_size"])
    steps_per_epoch = math.ceil(n_train / batch_size)
    augment = setup.get("augment", {})
    net.train()
    orders = [torch.randperm(n_train, generator=own["shuffle"], device=device) for own in sources]
    loss_sums, corrects = [0.0] * len(sources), [0] * len(sources)
    lr = math.nan
    for first in range(0, n_train, batch_size):
        batches = [order[first : first + batch_size] for order in orders]
        xs = [augment_batch(data.x_train[idx], augment, own["augment"], data.pad_value)
              for idx, own in zip(batches, sources)]
        ys = [data.y_train[idx] for idx in batches]
        lr = lr_of_step(epoch * steps_per_epoch + first // batch_size)
        outs, losses = _step(net, optimizer, lr, xs, ys, stacked, generators)
        for run, (out, y, loss) in enumerate(zip(outs, ys, losses)):
            loss_sums[run] += float(loss.detach()) * len(y)
            corrects[run] += int((out.argmax(1) == y).sum())
    return loss_sums, corrects, lr


def _evaluate(model: nn.Module, data: Dataset, row: dict[str, float],
              snapshots: list[tuple[np.ndarray, dict[str, torch.Tensor]]] | None) -> torch.Tensor:
    """The test logits of ``model``; their cross-entropy and accuracy go into the history
    ``row``, and at a cycle end (``snapshots`` given) the logits and weights into ``snapshots``."""
    logits = predict(model, data.x_test)
    # float64: a linear model's runs differ in CE by less than a float32 step (~1e-7)
    row["test_cross_entropy"] = float(F.cross_entropy(logits.double(), data.y_test))
    row["test_accuracy"] = float((logits.argmax(1) == data.y_test).float().mean())
    if snapshots is not None:
        snapshots.append((logits.cpu().numpy().astype(np.float32), _cpu_state(model)))
    return logits


def _onset_state(setup: dict[str, Any], epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer, sources: Sources,
                 history: list[dict[str, float]], snapshots: list) -> dict[str, Any]:
    """The `none` run 1's training state at the end of ``epoch``, which onset runs of switch-on
    epoch ``epoch`` start from (:func:`_start_from`)."""
    return {
        "key": onset_state_key(setup), "epoch": epoch, "model": _cpu_state(model),
        "optimizer": {name: {k: v.detach().cpu().clone() for k, v in optimizer.state[p].items()}
                      for name, p in model.named_parameters()},
        "generators": {source: gen.get_state() for source, gen in sources.own.items()},
        "history": copy.deepcopy(history), "snapshots": list(snapshots),
    }


def _start_from(start: dict[str, Any], setup: dict[str, Any], seeds_list: Sequence[RunSeeds],
                models: Sequence[nn.Module], optimizer: torch.optim.Optimizer, sources: Sequence[Sources]) -> int:
    """Put each run at the `none` run 1's state ``start`` (weights, momentum, seed-1 generators)
    at the end of its epoch E, where onset runs of switch-on epoch E leave it; returns E."""
    epoch = int(start["epoch"])
    if start["key"] != onset_state_key(setup):
        raise ValueError("the start state belongs to another setup: onset runs start from the `none` "
                         "run 1 of their base setup (the same setup but for onset_epoch)")
    wrong = sorted({s.onset_epoch for s in seeds_list} - {epoch})
    if wrong:
        raise ValueError(f"a state at the end of epoch {epoch} starts onset runs of onset epoch {epoch}, not {wrong}")
    for model, own in zip(models, sources):
        model.load_state_dict(start["model"])
        for name, param in model.named_parameters():
            optimizer.state[param] = {k: v.clone().to(param.device) for k, v in start["optimizer"][name].items()}
        for source, gen in own.base.items():
            gen.set_state(start["generators"][source])
    return epoch


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
