"""Pairwise run-to-run metrics over chunks of examples, for stacks that do not fit in memory.

:func:`pairwise_matrices` reads the (R, N, C) logits of R runs a chunk of examples at a time
(from an array in memory, one ``.npy`` file of shape (R, N, C), or one ``.npy`` file per run)
and accumulates, for all R(R-1)/2 pairs at once, the disagreement, the Spearman correlation of
the flattened logits and the accuracy and cross-entropy of the two-model ensemble (mean
logits), plus each run's accuracy and cross-entropy. Files are read with plain reads, not
memory maps, so that pages already used do not stay in the process's resident memory.

Memory: each chunk holds about ``CHUNK_ELEMENTS`` logits of all runs, whatever N is. Spearman's
ranks are over a run's whole flattened logits, so ranking holds one run (N x C values) at a
time; the ranks of all runs are kept in memory when small and spilled to a temporary file
otherwise.

Definitions (the per-pair reference in tests/test_pairwise.py): the ensemble's logits are
(a + b) / 2 in float64 (exact for float32 logits); an example counts as correct when the
first index attaining the maximum is its label, as numpy's argmax; the cross-entropy is that of
float64 log-softmax, as :func:`runvar.metrics.cross_entropies`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

#: Logits of all runs held per chunk of examples (float64 copies included: about 40 bytes each).
CHUNK_ELEMENTS = 4_000_000
#: (example, run, run) entries per block of the ensemble cross-entropy.
PAIR_BLOCK_ELEMENTS = 160_000
#: Ranks of all runs (uint32) up to this many bytes stay in memory; beyond it, a temporary file.
RANKS_IN_MEMORY_BYTES = 512 * 2**20
# float32 sums of label margins are trusted when farther than this (relative) from zero
_MARGIN_TOLERANCE = 2.0**-21
#: Examples per block of the float32 ensemble margins, times R x C.
ENSEMBLE_BLOCK_ELEMENTS = 1_600_000
# the product form of the ensemble's log-sum-exp loses precision below this
_SMALLEST_SUM = 1e-250
# sums above this can be multiplied in groups of _PRODUCT_GROUP without underflow
_GROUPABLE_SUM = 1e-35
_PRODUCT_GROUP = 8


@runtime_checkable
class RunStack(Protocol):
    """R runs' logits of shape (R, N, C), readable a chunk of examples or one run at a time."""

    shape: tuple[int, int, int]

    def examples(self, start: int, stop: int) -> np.ndarray:
        """Logits of examples ``start:stop`` of every run, shape (R, stop - start, C)."""

    def run(self, index: int) -> np.ndarray:
        """All logits of run ``index``, shape (N, C)."""


class ArrayStack:
    """A :class:`RunStack` over an (R, N, C) array."""

    def __init__(self, logits: np.ndarray) -> None:
        self.logits = logits
        self.shape = tuple(logits.shape)

    def examples(self, start: int, stop: int) -> np.ndarray:
        return np.asarray(self.logits[:, start:stop])

    def run(self, index: int) -> np.ndarray:
        return np.asarray(self.logits[index])


class NpyStack:
    """A :class:`RunStack` over one ``.npy`` file of shape (R, N, C) or one (N, C) file per run."""

    def __init__(self, paths: str | os.PathLike[str] | list[str | os.PathLike[str]]) -> None:
        single = isinstance(paths, (str, os.PathLike))
        self.paths = [Path(paths)] if single else [Path(p) for p in paths]
        headers = [_npy_header(p) for p in self.paths]
        shape0, dtype, _ = headers[0]
        for path, (shape, dt, _) in zip(self.paths, headers):
            if (shape, dt) != (shape0, dtype):
                raise ValueError(f"{path}: logits {shape} {dt} differ from {self.paths[0]}: {shape0} {dtype}")
        if single and len(shape0) != 3:
            raise ValueError(f"{self.paths[0]}: expected logits of shape (runs, examples, classes), got {shape0}")
        if not single and len(shape0) != 2:
            raise ValueError(f"{self.paths[0]}: expected one run's logits (examples, classes), got {shape0}")
        self.dtype = dtype
        self.offsets = [offset for _, _, offset in headers]
        self.shape = tuple(shape0) if single else (len(self.paths), *shape0)

    def _read(self, run: int, start: int, stop: int) -> np.ndarray:
        _, n, c = self.shape
        file = 0 if len(self.paths) == 1 else run
        row = run * n if len(self.paths) == 1 else 0
        offset = self.offsets[file] + (row + start) * c * self.dtype.itemsize
        out = np.fromfile(self.paths[file], dtype=self.dtype, count=(stop - start) * c, offset=offset)
        return out.reshape(stop - start, c)

    def examples(self, start: int, stop: int) -> np.ndarray:
        return np.stack([self._read(r, start, stop) for r in range(self.shape[0])])

    def run(self, index: int) -> np.ndarray:
        return self._read(index, 0, self.shape[1])


class ConcatStack:
    """The runs of several :class:`RunStack` (same examples and classes) one after another."""

    def __init__(self, stacks: list[RunStack]) -> None:
        shapes = {tuple(s.shape[1:]) for s in stacks}
        if len(shapes) != 1:
            raise ValueError(f"stacks have different (examples, classes): {sorted(shapes)}")
        self.stacks = stacks
        self.shape = (sum(s.shape[0] for s in stacks), *shapes.pop())

    def examples(self, start: int, stop: int) -> np.ndarray:
        return np.concatenate([s.examples(start, stop) for s in self.stacks])

    def run(self, index: int) -> np.ndarray:
        for stack in self.stacks:
            if index < stack.shape[0]:
                return stack.run(index)
            index -= stack.shape[0]
        raise IndexError(index)


def as_stack(logits: np.ndarray | RunStack) -> RunStack:
    """``logits`` as a :class:`RunStack` (arrays wrapped in :class:`ArrayStack`)."""
    return logits if isinstance(logits, RunStack) else ArrayStack(np.asarray(logits))


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        if fortran:
            raise ValueError(f"{path}: Fortran-ordered arrays are not supported; save C-ordered")
        return tuple(shape), np.dtype(dtype), fh.tell()


@dataclass
class PairwiseMatrices:
    """Per-run metrics and (R, R) pair matrices; pair matrices are filled above the diagonal."""

    accuracy: np.ndarray  # (R,) fraction correct
    cross_entropy: np.ndarray  # (R,)
    disagreement: np.ndarray  # fraction of examples whose argmax differs
    spearman: np.ndarray  # Spearman's rho of the flattened logits
    ensemble_accuracy: np.ndarray
    ensemble_cross_entropy: np.ndarray

    def upper(self, name: str) -> np.ndarray:
        """The i < j entries (row-major) of one pair matrix."""
        i, j = np.triu_indices(len(self.accuracy), k=1)
        return getattr(self, name)[i, j]


def doubled_ranks(values: np.ndarray) -> np.ndarray:
    """Twice the 1-based average ranks (ties share their mean rank) of a 1-d array, as uint32 or
    int64; :func:`scipy.stats.rankdata` ``/ 2``, exact and in half its memory."""
    size = len(values)
    if values.dtype == np.float32 and size < 2**32:
        # each value's float32 bits as an order-preserving unsigned key (-0.0 as 0.0) above its
        # index: one sort of 64-bit integers, about twice as fast as an argsort
        keys = (values + np.float32(0)).view(np.int32).astype(np.int64)
        keys ^= (keys >> 31) & 0x7FFFFFFF
        keys += 2**31
        ordered = keys.view(np.uint64)
        ordered <<= np.uint64(32)
        ordered |= np.arange(size, dtype=np.uint64)
        ordered.sort()
        order = (ordered & np.uint64(0xFFFFFFFF)).astype(np.intp)
        ordered >>= np.uint64(32)
    else:
        order = np.argsort(values)
        ordered = values[order]
    new = np.empty(size, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    del ordered
    dtype = np.uint32 if 2 * size + 1 < 2**32 else np.int64
    ranks = np.empty(size, dtype=dtype)
    if new.all():
        ranks[order] = np.arange(2, 2 * size + 1, 2, dtype=dtype)
    else:
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], size)
        # the mean of the 1-based ranks start+1 .. end is (start + 1 + end) / 2
        ranks[order] = np.repeat((starts + ends + 1).astype(dtype), ends - starts)
    return ranks


class _RankStore:
    """The doubled ranks of every run's flattened logits, in memory or in a temporary file."""

    def __init__(self, runs: int, size: int, workdir: str | os.PathLike[str] | None) -> None:
        self.runs = runs
        self.size = size
        self.dtype = np.dtype(np.uint32 if 2 * size + 1 < 2**32 else np.int64)
        self.file = None
        if runs * size * self.dtype.itemsize <= RANKS_IN_MEMORY_BYTES:
            self.ranks = np.empty((runs, size), dtype=self.dtype)
        else:
            self.file = tempfile.NamedTemporaryFile(prefix="runvar-ranks-", suffix=".bin", dir=workdir)

    def write(self, run: int, ranks: np.ndarray) -> None:
        if self.file is None:
            self.ranks[run] = ranks
        else:
            os.pwrite(self.file.fileno(), ranks.astype(self.dtype, copy=False).tobytes(),
                      run * self.size * self.dtype.itemsize)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Ranks ``start:stop`` of every run's flattened logits, (R, stop - start)."""
        if self.file is None:
            return self.ranks[:, start:stop]
        runs = []
        for run in range(self.runs):
            offset = (run * self.size + start) * self.dtype.itemsize
            data = os.pread(self.file.fileno(), (stop - start) * self.dtype.itemsize, offset)
            runs.append(np.frombuffer(data, dtype=self.dtype))
        return np.stack(runs)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _check_finite(block: np.ndarray, where: str) -> None:
    if not np.isfinite(block).all():
        raise ValueError(f"logits of {where} contain NaN or infinite values")


def _rank_all(stack: RunStack, workdir: str | os.PathLike[str] | None) -> _RankStore:
    runs, n, c = stack.shape
    store = _RankStore(runs, n * c, workdir)
    for r in range(runs):
        values = stack.run(r).reshape(-1)
        _check_finite(values, f"run {r}")
        store.write(r, doubled_ranks(values))
    return store


def _two_extremes(values: torch.Tensor, largest: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The two largest (or smallest) of ``values`` along dim 0 (ties count twice): the first is
    set aside in place for the second and put back, so no copy of ``values`` is made."""
    first, index = values.max(0) if largest else values.min(0)
    index = index.unsqueeze(0)
    values.scatter_(0, index, -np.inf if largest else np.inf)
    second = values.amax(0) if largest else values.amin(0)
    values.scatter_(0, index, first.unsqueeze(0))
    return first, second


def _ensemble_correct(x: torch.Tensor, top: torch.Tensor, picked: torch.Tensor, labels: torch.Tensor,
                      sums: np.ndarray) -> None:
    """Add to ``sums[i, j]`` the number of examples the ensemble of runs i < j gets right.

    ``x``: (R, n, C) float64 logits, ``top``: (R, n) their maxima, ``picked``: (R, n) the label's
    logits. With the label
    margins d = x_k - x_label (exact in float64), the ensemble of runs a, b is right when
    d_a,k + d_b,k < 0 for every class k (numpy's first-maximum rule decides exact ties). A class
    can beat the label in some pair only if the two largest d_k over runs sum to >= 0 (a
    *candidate*), and it beats the label in every pair if the two smallest sum to > 0 (float64
    signs of such sums are exact): examples without candidates are right for every pair, those
    with a class beaten in every pair wrong for every pair. Only the other examples are decided
    pair by pair, over their candidate classes: the margins are summed in float32 (the costly
    part, R^2 x examples x candidates), and a pair's example whose largest sum is within float32
    rounding of zero is decided again exactly in float64.
    """
    runs, n, c = x.shape
    margins = x - picked.unsqueeze(2)
    # the largest |margin| of each run and example (exact: float64 differences of float32 values)
    bound = torch.maximum(top - picked, picked - x.amin(2)).mul_(_MARGIN_TOLERANCE).float()
    margins.scatter_(2, labels.view(1, -1, 1).expand(runs, -1, 1), -np.inf)
    first, second = _two_extremes(margins, largest=True)
    candidates = (first + second) >= 0  # (n, C)
    first, second = _two_extremes(margins, largest=False)
    beaten = ((first + second) > 0).any(1)
    counts = candidates.sum(1)
    sums += int((counts == 0).sum())
    mixed = torch.nonzero((counts > 0) & ~beaten)[:, 0]
    counts, order = counts[mixed].sort(descending=True, stable=True)
    mixed = mixed[order]
    x64, labels64 = x.numpy(), labels.numpy()
    start = 0
    while start < len(mixed):  # blocks of examples with at most k candidates each
        k = int(counts[start])
        stop = min(len(mixed), start + max(1, ENSEMBLE_BLOCK_ELEMENTS // (runs * k)))
        examples = mixed[start:stop]
        classes = torch.argsort((~candidates[examples]).to(torch.uint8), dim=1, stable=True)[:, :k]
        part = margins[:, examples.unsqueeze(1), classes]  # (R, b, k); candidates first
        part.masked_fill_(torch.arange(k) >= counts[start:stop].unsqueeze(1), -np.inf)
        part = part.float().permute(0, 2, 1).contiguous()  # (R, k, b)
        tol, where = bound[:, examples], examples.numpy()
        for i in range(runs - 1):
            largest = torch.add(part[i + 1 :], part[i]).amax(1)  # (P, b)
            unsure = largest.abs() <= torch.add(tol[i + 1 :], tol[i])
            sums[i, i + 1 :] += ((largest < 0) & ~unsure).sum(1).numpy()
            for p, example in torch.nonzero(unsure).numpy():
                j, example = i + 1 + p, where[example]
                sums[i, j] += float(np.argmax(x64[i, example] + x64[j, example]) == labels64[example])
        start = stop


def _ensemble_log_sum_exp(x: torch.Tensor, top: torch.Tensor, sums: np.ndarray) -> None:
    """Add to ``sums[i, j]`` the sum over examples of log(sum_k exp((a_k + b_k) / 2 - shift)).

    exp((a_k + b_k) / 2) = exp(a_k / 2) exp(b_k / 2), so each run's exponentials (``halves``:
    exp((x - top) / 2), (R, n, C)) are computed once and the per-pair sums over classes are one
    batched matrix product; shift is (top_a + top_b) / 2 (added back by the caller). The
    diagonal is each run's own log-sum-exp (its cross-entropy's). Sums too
    small for the product form to be accurate (runs whose logits differ by hundreds) are
    computed directly.
    """
    runs, n, c = x.shape
    by_example = torch.empty(n, runs, c, dtype=x.dtype)  # the halves, example-major
    torch.sub(x.transpose(0, 1), top.T.unsqueeze(2), out=by_example).mul_(0.5).exp_()
    # whole groups of examples, and a block small enough to stay in cache
    block = max(1, PAIR_BLOCK_ELEMENTS // (runs * runs * _PRODUCT_GROUP)) * _PRODUCT_GROUP
    buffer = torch.empty(min(block, n), runs, runs, dtype=x.dtype)
    for start in range(0, n, block):
        e = by_example[start : start + block]
        products = torch.bmm(e, e.transpose(1, 2), out=buffer[: len(e)])  # (b, R, R)
        lowest = float(products.min())  # the diagonal is >= 1: a small value is a pair's
        if lowest < _SMALLEST_SUM:
            x64, top64 = x.numpy(), top.numpy()
            for b, i, j in torch.nonzero(torch.triu(products < _SMALLEST_SUM, diagonal=1)).numpy():
                example = start + b
                shifted = (x64[i, example] - top64[i, example] + x64[j, example] - top64[j, example]) / 2
                products[b, i, j] = float(np.exp(shifted - shifted.max()).sum())
                sums[i, j] += float(shifted.max())
        if len(products) % _PRODUCT_GROUP == 0 and lowest > _GROUPABLE_SUM:
            # log of the product of a few examples' sums: one log instead of several
            products = products.view(-1, _PRODUCT_GROUP, runs, runs).prod(1)
        sums += products.log_().sum(0).numpy()


def pairwise_matrices(
    logits: np.ndarray | RunStack,
    labels: np.ndarray,
    workdir: str | os.PathLike[str] | None = None,
) -> PairwiseMatrices:
    """All pairwise and per-run metrics of R runs (see the module docstring).

    ``logits``: an (R, N, C) array or a :class:`RunStack` (e.g. :class:`NpyStack`);
    ``labels``: (N,) integers in [0, C). ``workdir``: where ranks are spilled when large.
    Raises ValueError for fewer than 2 runs, mismatched labels, non-finite logits, or a run
    whose logits are all equal (its rank correlation is undefined).
    """
    stack = as_stack(logits)
    runs, n, c = stack.shape
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match logits {stack.shape}, got {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f"labels must lie in [0, {c}), got {labels.min()}..{labels.max()}")
    if runs < 2:
        raise ValueError(f"pairwise metrics need at least 2 runs, got {runs}")
    labels = labels.astype(np.int64)

    ranks = _rank_all(stack, workdir)
    size = n * c
    centre = float(size + 1)  # twice the mean rank
    gram = np.zeros((runs, runs))
    differ = np.zeros((runs, runs))
    correct = np.zeros(runs)
    top_sum = np.zeros(runs)
    picked_sum = np.zeros(runs)
    ens_correct = np.zeros((runs, runs))
    ens_lse = np.zeros((runs, runs))
    chunk = max(1, CHUNK_ELEMENTS // (runs * c))
    try:
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            block = stack.examples(start, stop)
            _check_finite(block, f"examples {start}..{stop - 1}")
            lab = labels[start:stop]

            centred = torch.from_numpy(ranks.read(start * c, stop * c).astype(np.float64) - centre)
            gram += (centred @ centred.T).numpy()

            x = torch.from_numpy(block).double()
            lab_t = torch.from_numpy(lab)
            pred = x.argmax(2)  # the first maximum, as numpy's
            for i in range(runs - 1):
                differ[i, i + 1 :] += (pred[i + 1 :] != pred[i]).sum(1).numpy()
            correct += (pred == lab_t).sum(1).numpy()

            top = x.amax(2)
            picked = x.gather(2, lab_t.view(1, -1, 1).expand(runs, -1, 1))[..., 0]
            top_sum += top.sum(1).numpy()
            picked_sum += picked.sum(1).numpy()

            _ensemble_correct(x, top, picked, lab_t, ens_correct)
            _ensemble_log_sum_exp(x, top, ens_lse)
    finally:
        ranks.close()

    norms = np.sqrt(np.diag(gram))
    if np.any(norms == 0):
        raise ValueError("a run has constant logits; its rank correlation is undefined")
    upper = np.triu(np.ones((runs, runs), dtype=bool), k=1)
    ens_ce = (ens_lse + (top_sum[:, None] + top_sum[None, :]) / 2
              - (picked_sum[:, None] + picked_sum[None, :]) / 2) / n
    return PairwiseMatrices(
        accuracy=correct / n,
        cross_entropy=np.diag(ens_ce).copy(),  # a run's "ensemble" with itself is the run
        disagreement=np.where(upper, differ / n, np.nan),
        spearman=np.where(upper, np.clip(gram / np.outer(norms, norms), -1.0, 1.0), np.nan),
        ensemble_accuracy=np.where(upper, ens_correct / n, np.nan),
        ensemble_cross_entropy=np.where(upper, ens_ce, np.nan),
    )
