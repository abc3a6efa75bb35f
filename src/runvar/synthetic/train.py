"""Training the pairs of one setting, and the top-level :func:`run_setting`.

One pass over T examples in mini-batches. Pair k's example sequence comes from its own
stream; both models of the pair consume it, each shuffled within windows of z mini-batches
by its own shuffling stream (z = 1: only the order inside each mini-batch differs). All
models of a group of pairs, for every window size and init mode of the setting, train at
once as one :class:`~.models.BatchedNet`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..execution import resolve_device, versions
from .config import resolve_setting
from .data import NUM_FEATURES, DataModel, make_data_model
from .metrics import pair_metrics
from .models import Architecture, BatchedNet, init_parameters
from .optim import make_optimizer
from .streams import Stream, numpy_rng, torch_generator, window_permutation

Log = Callable[[str], None]
#: Examples per model whose features are gathered at once (a few mini-batches' worth).
GATHER_EXAMPLES = 1 << 10
EVAL_BLOCK = 1 << 12


@dataclass(frozen=True)
class Slot:
    """One model of a setting: its init mode, shuffling window, pair and member (0 or 1)."""

    init: str
    log2_z: int
    pair: int
    member: int


def architecture(setting: Mapping[str, Any]) -> Architecture:
    """The architecture of a resolved setting."""
    return Architecture(
        model=setting["model"],
        hidden=tuple(setting["hidden"]),
        activation=setting["activation"],
        beta=setting["beta"],
        embedding_dim=setting["embedding_dim"],
    )


def data_model_of(setting: Mapping[str, Any]) -> DataModel:
    """The setting's true data model (drawn once per seed and data kind)."""
    return make_data_model(setting["data"], numpy_rng(setting["seed"], Stream.DATA_MODEL))


def train_pass(
    net: BatchedNet,
    optimizer: Any,
    data_model: DataModel,
    pair_rngs: Sequence[np.random.Generator],
    model_pairs: Sequence[int],
    windows: Sequence[int],
    shuffle_rngs: Sequence[np.random.Generator],
    examples: int,
    batch_size: int,
    log: Log | None = None,
) -> int:
    """One pass of every model over its pair's ``examples`` examples; returns the step count.

    Model k reads pair ``model_pairs[k]``'s sequence (from ``pair_rngs``), shuffled within
    windows of ``windows[k]`` examples by ``shuffle_rngs[k]``. Examples are generated one
    chunk of the largest window at a time.
    """
    device = next(net.parameters()).device
    chunk = max(windows)
    if examples % chunk or any(chunk % w or w % batch_size for w in windows):
        raise ValueError(f"windows {list(windows)} must be multiples of the batch size {batch_size} "
                         f"that divide each other and the {examples} examples")
    params = list(net.parameters())
    offsets = np.asarray(model_pairs, dtype=np.int64)[:, None] * chunk
    gather = max(batch_size, GATHER_EXAMPLES - GATHER_EXAMPLES % batch_size)
    steps, next_report = 0, 0.1
    for start in range(0, examples, chunk):
        samples = [data_model.sample(chunk, rng) for rng in pair_rngs]
        features = torch.from_numpy(np.concatenate([s.x for s in samples])).to(device)
        labels = torch.from_numpy(np.concatenate([s.y for s in samples])).to(device, torch.float32)
        order = np.empty((len(windows), chunk), dtype=np.int64)
        for k, (window, rng) in enumerate(zip(windows, shuffle_rngs)):
            order[k] = window_permutation(chunk, window, rng)
        order = torch.from_numpy(np.add(order, offsets, out=order))
        for block in range(0, chunk, gather):
            # (steps, models, batch): each step's mini-batches contiguous, which bmm prefers.
            idx = order[:, block:block + gather].reshape(len(windows), -1, batch_size).transpose(0, 1)
            flat = idx.reshape(-1).to(device)
            x_block = features.index_select(0, flat).view(*idx.shape, NUM_FEATURES).to(torch.float32)
            y_block = labels.index_select(0, flat).view(idx.shape)
            for x, y in zip(x_block, y_block):
                # Summed over models, so each model's gradient is that of its own mean loss.
                loss = F.binary_cross_entropy_with_logits(net(x), y, reduction="sum") / batch_size
                optimizer.step(torch.autograd.grad(loss, params))
                steps += 1
        if log and (start + chunk) / examples >= next_report:
            log(f"  {start + chunk}/{examples} examples, mean batch loss {loss.item() / len(windows):.4f}")
            next_report = (start + chunk) / examples + 0.1
    return steps


@torch.no_grad()
def predict(net: BatchedNet, x: torch.Tensor) -> np.ndarray:
    """Logits of every model on the same examples ``x`` (N, 32): float32 array (K, N)."""
    out = [net(x[i:i + EVAL_BLOCK].expand(net.num_models, -1, -1)) for i in range(0, len(x), EVAL_BLOCK)]
    return torch.cat(out, dim=1).cpu().numpy()


def _optimizer(setting: Mapping[str, Any], params: Sequence[torch.Tensor], name: str, lr: float) -> Any:
    return make_optimizer(name, params, lr, initial_accumulator=setting["initial_accumulator"],
                          momentum=setting["momentum"], decay=setting["decay"])


def _initial_models(setting: Mapping[str, Any], arch: Architecture, slots: Sequence[Slot],
                    data_model: DataModel, device: torch.device, log: Log | None) -> list[dict]:
    """Initial parameters per slot: drawn per pair ("same") or per model ("different"),
    or copied from a warm-start model trained per pair on its own example stream."""
    seed = setting["seed"]
    pairs = sorted({s.pair for s in slots})

    def drawn(pair: int, member: int) -> dict:
        return init_parameters(arch, torch_generator(seed, Stream.INIT, pair, member))

    if setting["warm_start"] is None:
        cache: dict[tuple[int, int], dict] = {}
        for s in slots:
            key = (s.pair, s.member if s.init == "different" else 0)
            if key not in cache:
                cache[key] = drawn(*key)
        return [cache[(s.pair, s.member if s.init == "different" else 0)] for s in slots]

    warm = setting["warm_start"]
    net = BatchedNet(arch, [drawn(p, 0) for p in pairs]).to(device)
    opt = _optimizer(setting, list(net.parameters()), warm["optimizer"], warm["lr"])
    if log:
        log(f"warm start: pretraining {len(pairs)} models on 2^{warm['log2_examples']} examples")
    train_pass(net, opt, data_model,
               pair_rngs=[numpy_rng(seed, Stream.WARM_TRAIN, p) for p in pairs],
               model_pairs=range(len(pairs)), windows=[setting["batch_size"]] * len(pairs),
               shuffle_rngs=[numpy_rng(seed, Stream.WARM_SHUFFLE, p) for p in pairs],
               examples=2 ** warm["log2_examples"], batch_size=setting["batch_size"], log=log)
    pretrained = {p: {k: v.cpu() for k, v in net.model_parameters(i).items()} for i, p in enumerate(pairs)}
    return [pretrained[s.pair] for s in slots]


def train_setting_logits(setting: Mapping[str, Any], eval_x: np.ndarray,
                         log: Log | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Train every model of a resolved setting; logits on ``eval_x`` as (init, z, pair, member, N).

    Also returns the seconds spent training and predicting.
    """
    arch, data_model = architecture(setting), data_model_of(setting)
    device = resolve_device(setting["device"])
    seed, bs = setting["seed"], setting["batch_size"]
    inits, zs, pairs = setting["init"], setting["log2_z"], setting["pairs"]
    group = setting["pairs_per_group"] or pairs
    x_eval = torch.from_numpy(np.asarray(eval_x, dtype=np.float32)).to(device)
    logits = np.empty((len(inits), len(zs), pairs, 2, len(eval_x)), dtype=np.float32)
    seconds = {"train": 0.0, "predict": 0.0}
    for first in range(0, pairs, group):
        group_pairs = list(range(first, min(first + group, pairs)))
        slots = [Slot(i, z, p, m) for i in inits for z in zs for p in group_pairs for m in (0, 1)]
        tic = time.perf_counter()
        net = BatchedNet(arch, _initial_models(setting, arch, slots, data_model, device, log)).to(device)
        opt = _optimizer(setting, list(net.parameters()), setting["optimizer"], setting["lr"])
        if log:
            log(f"pairs {group_pairs[0]}-{group_pairs[-1]}: training {net.num_models} models "
                f"on 2^{setting['log2_examples']} examples each")
        train_pass(net, opt, data_model,
                   pair_rngs=[numpy_rng(seed, Stream.TRAIN, p) for p in group_pairs],
                   model_pairs=[s.pair - first for s in slots],
                   windows=[bs * 2**s.log2_z for s in slots],
                   shuffle_rngs=[numpy_rng(seed, Stream.SHUFFLE, s.log2_z, s.pair, s.member) for s in slots],
                   examples=2 ** setting["log2_examples"], batch_size=bs, log=log)
        toc = time.perf_counter()
        predicted = predict(net, x_eval).reshape(len(inits), len(zs), len(group_pairs), 2, -1)
        logits[:, :, first:first + len(group_pairs)] = predicted
        seconds["train"] += toc - tic
        seconds["predict"] += time.perf_counter() - toc
    return logits, seconds


def evaluation_set(setting: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation examples (features, true logits): the same for every setting of a data model."""
    examples = data_model_of(setting).sample(2 ** setting["log2_eval_examples"],
                                             numpy_rng(setting["seed"], Stream.EVAL))
    return examples.x, examples.logit


def run_setting(setting: Mapping[str, Any], name: str = "setting", log: Log | None = None) -> dict[str, Any]:
    """Run one setting given as a plain dict; return its per-pair results (JSON-ready).

    For every init mode and window, ``curves`` holds Delta_r per pair and the excess loss per
    model with their means and spreads. The torch thread count is the setting's ``threads``
    for the duration of the call.
    """
    setting = resolve_setting(setting, name=name)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(setting["threads"])
    try:
        tic = time.perf_counter()
        eval_x, true_logits = evaluation_set(setting)
        logits, seconds = train_setting_logits(setting, eval_x, log)
        if not np.isfinite(logits).all():
            raise FloatingPointError(
                f"synthetic setting {name!r}: some models diverged (non-finite logits); "
                f"lower lr (now {setting['lr']})")
        curves = []
        for i, mode in enumerate(setting["init"]):
            for j, log2_z in enumerate(setting["log2_z"]):
                metrics = pair_metrics(logits[i, j], true_logits)
                label = setting["label"] + (" diff" if mode == "different" else "")
                curves.append({"init": mode, "log2_z": log2_z, "label": label, **metrics})
                if log:
                    log(f"{label} log2 z = {log2_z}: Delta_r = {metrics['delta_r']['mean']:.3e}, "
                        f"L = {metrics['excess_loss']['mean']:.4e}")
        seconds["total"] = time.perf_counter() - tic
        return {
            "name": name,
            "label": setting["label"],
            "setting": setting,
            "curves": curves,
            "models_trained": int(logits.shape[0] * logits.shape[1] * logits.shape[2] * 2),
            "seconds": seconds,
            "execution": {"device": str(resolve_device(setting["device"])),
                          "threads": torch.get_num_threads(), **versions()},
        }
    finally:
        torch.set_num_threads(previous_threads)
