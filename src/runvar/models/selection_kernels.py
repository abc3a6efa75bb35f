"""The greedy weight selection's per-connection loops, compiled: argmax, gather, the
straight-through gradient, and the gradient fused with the scores' SGD step.

Each connection of a selection layer holds k candidates and k scores in its last dimension.
torch runs ``scores.argmax(-1)``, ``candidates.gather(-1, choice)`` and the backward's
``grad.unsqueeze(-1) * candidates`` as generic reductions and broadcasts: on one CPU thread
the argmax alone was half of a LeNet k = 8 training step and the product a quarter of the rest
(``benchmarks/step_roofline.py``). The loops below do the same per connection in a few
instructions and give the same bits: the argmax the same integers (the first maximum on ties; a
row holding a NaN gives its first NaN, as torch's), the gather the same copies, the gradient the
same single float32 product per element. So the kernels are a speed setting only, like the
stack size: every bit of training is the same whichever path runs (``tests/test_selection_kernels.py``).

The scores' gradient is a (..., k) tensor as large as the scores, written by the backward pass
and read once by the optimizer. :func:`backward_and_step` leaves it unmade: the backward pass
hands each layer's (out, in) weight gradient to the step, and one loop per layer computes the
gradient and torch's fused SGD-with-momentum update from it (``torch.optim.SGD(fused=True)``
without weight decay or Nesterov, the selection study's), reading and writing the scores and
momentum buffers once. Its bits are torch's: how torch's kernel rounds (which multiply-adds its
compiler fused, how many floats its vector loop takes) is found once per process by comparing
the two on random tensors (:func:`sgd_recipe`), and where no recipe matches torch's step runs
(``tests/test_selection_sgd.py``). The same pass makes the next forward pass's greedy choice
from each block of stepped scores while they are in cache (:func:`chosen_after_step`), which
the layer uses unless the scores or candidates changed since.

The C source is compiled once per process with the machine's C compiler (``$CC``, else ``cc``)
into a temporary shared library loaded with :mod:`ctypes` (no torch headers, a fraction of a
second). Where there is no compiler, where a tensor is not a contiguous float32 CPU tensor, or
where torch runs on more than one thread (its own loops then run in parallel), torch's
operations run. ``RUNVAR_SELECTION_KERNELS=0`` in the environment of the process turns the
kernels off (:data:`ENABLED`).
"""

from __future__ import annotations

import ctypes
import itertools
import os

import torch
from torch.utils.weak import WeakIdKeyDictionary

from .native import POINTER, SIZE, Library

SOURCE = r"""
#include <math.h>
#include <stdint.h>

/* the product loop in AVX-512, AVX2 and baseline versions, picked at load time (x86-64 Linux) */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

/* choice[r] = index of the first maximum of s[r*k .. r*k+k-1], or of its first NaN */
static void argmax_rows(const float *s, int64_t rows, int64_t k, int64_t *choice) {
    for (int64_t r = 0; r < rows; ++r) {
        const float *p = s + r * k;
        float best = p[0];
        int64_t index = 0;
        if (!isnan(best)) {
            for (int64_t j = 1; j < k; ++j) {
                float v = p[j];
                if (isnan(v)) { index = j; break; }
                if (v > best) { best = v; index = j; }
            }
        }
        choice[r] = index;
    }
}

/* The same for k = 4, 8, 16 with AVX2, one row a vector and no branch per candidate (the loop
   above mispredicts on most rows of random scores): the row's maximum by pairwise max, then the
   first lane equal to it (equal lanes, +0 and -0 included, are the ties the scan above resolves
   to the first), unless a lane is NaN: then the first NaN. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2")))
AVX2 static inline int64_t first_lane(int equal, int nan) { return nan ? __builtin_ctz(nan) : __builtin_ctz(equal); }
AVX2 static inline __m256 max_of_8(__m256 v) {
    __m256 m = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
    m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
}
AVX2 static int argmax_avx2(const float *s, int64_t rows, int64_t k, int64_t *choice) {
    if (k == 4) for (int64_t r = 0; r < rows; ++r) {
        __m128 v = _mm_loadu_ps(s + 4 * r);
        __m128 m = _mm_max_ps(v, _mm_shuffle_ps(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
        choice[r] = first_lane(_mm_movemask_ps(_mm_cmpeq_ps(v, m)), _mm_movemask_ps(_mm_cmpunord_ps(v, v)));
    } else if (k == 8) for (int64_t r = 0; r < rows; ++r) {
        __m256 v = _mm256_loadu_ps(s + 8 * r), m = max_of_8(v);
        choice[r] = first_lane(_mm256_movemask_ps(_mm256_cmp_ps(v, m, _CMP_EQ_OQ)),
                               _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
    } else if (k == 16) for (int64_t r = 0; r < rows; ++r) {
        __m256 lo = _mm256_loadu_ps(s + 16 * r), hi = _mm256_loadu_ps(s + 16 * r + 8);
        __m256 m = max_of_8(_mm256_max_ps(lo, hi));
        int equal = _mm256_movemask_ps(_mm256_cmp_ps(lo, m, _CMP_EQ_OQ))
                    | _mm256_movemask_ps(_mm256_cmp_ps(hi, m, _CMP_EQ_OQ)) << 8;
        int nan = _mm256_movemask_ps(_mm256_cmp_ps(lo, lo, _CMP_UNORD_Q))
                  | _mm256_movemask_ps(_mm256_cmp_ps(hi, hi, _CMP_UNORD_Q)) << 8;
        choice[r] = first_lane(equal, nan);
    } else return 0;
    return 1;
}
#endif

/* 1 where the vector loop ran, 0 where the scalar one did */
int runvar_argmax(const float *s, int64_t rows, int64_t k, int64_t *choice) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2") && argmax_avx2(s, rows, k, choice)) return 1;
#endif
    argmax_rows(s, rows, k, choice);
    return 0;
}

/* weight[r] = c[r*k + choice[r]]; 1 (and nothing read out of range) for an index outside [0, k) */
int runvar_gather(const float *c, const int64_t *choice, int64_t rows, int64_t k, float *weight) {
    for (int64_t r = 0; r < rows; ++r) {
        if (choice[r] < 0 || choice[r] >= k) return 1;
        weight[r] = c[r * k + choice[r]];
    }
    return 0;
}

/* out[r*k + j] = g[r] * c[r*k + j]; k a constant where it is one of the common counts, so the
   compiler unrolls and vectorizes each row */
static inline __attribute__((always_inline)) void scale_rows(const float *restrict g, const float *restrict c, int64_t rows,
                                                             int64_t k, float *restrict out) {
    for (int64_t r = 0; r < rows; ++r) {
        const float gr = g[r];
        for (int64_t j = 0; j < k; ++j) out[r * k + j] = gr * c[r * k + j];
    }
}

VECTOR_CLONES
void runvar_scale(const float *g, const float *c, int64_t rows, int64_t k, float *restrict out) {
    switch (k) {
        case 2: scale_rows(g, c, rows, 2, out); break;
        case 4: scale_rows(g, c, rows, 4, out); break;
        case 8: scale_rows(g, c, rows, 8, out); break;
        case 16: scale_rows(g, c, rows, 16, out); break;
        default: scale_rows(g, c, rows, k, out);
    }
}

/* The straight-through score gradient s = g[r] * c[r*k + j] and torch's fused SGD-with-momentum
   step on it (aten::_fused_sgd_ on the CPU, no weight decay, dampening or Nesterov), in one pass:
   first step buf = s, later buf = buf * m + s; then p = p + buf * (-lr). torch's kernel rounds as
   it was compiled: with `contracted`, its vector loop (the first `body` elements) rounds buf * m
   before adding s and fuses the parameter's update into one FMA, and its scalar tail fuses both;
   without, every product and sum rounds on its own (sgd_recipe in Python finds which). */
static inline __attribute__((always_inline)) void sgd_element(float s, float *restrict p, float *restrict buf,
                                                              float m, float neg_lr, int first, int vector_loop,
                                                              int contracted) {
    float b = first ? s : (contracted && !vector_loop) ? fmaf(*buf, m, s) : *buf * m + s;
    *buf = b;
    *p = contracted ? fmaf(b, neg_lr, *p) : *p + b * neg_lr;
}

static inline __attribute__((always_inline)) void sgd_rows(const float *restrict g, const float *restrict c,
                                                           float *restrict p, float *restrict buf, int64_t rows,
                                                           int64_t k, float m, float neg_lr, int first,
                                                           int contracted) {
    for (int64_t r = 0; r < rows; ++r) {
        const float gr = g[r];
        for (int64_t j = 0; j < k; ++j)
            sgd_element(gr * c[r * k + j], p + r * k + j, buf + r * k + j, m, neg_lr, first, 1, contracted);
    }
}

/* Every step but a run's first, on x86-64 torch: each common k its own vector loop; any other
   case runs one loop with its flags read per element (more cases would lengthen each compile).
   With `choice` (and `weight`) not NULL, each block of rows, still in cache once stepped, also
   gets the next forward pass's choice (runvar_argmax) and chosen weights (runvar_gather): the
   same integers and copies as reading the stepped scores again, without the second pass. Blocks
   change no bits: every element is stepped by itself, in the loop torch's would use for it. */
#define ROWS_A_BLOCK 256
VECTOR_CLONES
void runvar_select_sgd(const float *restrict g, const float *restrict c, float *restrict p, float *restrict buf,
                       int64_t rows, int64_t k, float m, float neg_lr, int64_t body, int first, int contracted,
                       int64_t *restrict choice, float *restrict weight) {
    const int64_t whole = body / k; /* rows wholly inside torch's vector loop */
    for (int64_t r0 = 0; r0 < whole; r0 += ROWS_A_BLOCK) {
        const int64_t n = whole - r0 < ROWS_A_BLOCK ? whole - r0 : ROWS_A_BLOCK, at = r0 * k;
        if (first || !contracted) sgd_rows(g + r0, c + at, p + at, buf + at, n, k, m, neg_lr, first, contracted);
        else switch (k) {
            case 2: sgd_rows(g + r0, c + at, p + at, buf + at, n, 2, m, neg_lr, 0, 1); break;
            case 4: sgd_rows(g + r0, c + at, p + at, buf + at, n, 4, m, neg_lr, 0, 1); break;
            case 8: sgd_rows(g + r0, c + at, p + at, buf + at, n, 8, m, neg_lr, 0, 1); break;
            case 16: sgd_rows(g + r0, c + at, p + at, buf + at, n, 16, m, neg_lr, 0, 1); break;
            default: sgd_rows(g + r0, c + at, p + at, buf + at, n, k, m, neg_lr, 0, 1);
        }
        if (choice) {
            runvar_argmax(p + at, n, k, choice + r0);
            runvar_gather(c + at, choice + r0, n, k, weight + r0);
        }
    }
    for (int64_t i = whole * k; i < rows * k; ++i)
        sgd_element(g[i / k] * c[i], p + i, buf + i, m, neg_lr, first, i < body, contracted);
    if (choice && whole < rows) {
        runvar_argmax(p + whole * k, rows - whole, k, choice + whole);
        runvar_gather(c + whole * k, choice + whole, rows - whole, k, weight + whole);
    }
}
"""

_FLOAT, _LONG, _SIZE = POINTER, POINTER, SIZE
_SIGNATURES = {  # name: (argument types, return type)
    "runvar_argmax": ([_FLOAT, _SIZE, _SIZE, _LONG], ctypes.c_int),
    "runvar_gather": ([_FLOAT, _LONG, _SIZE, _SIZE, _FLOAT], ctypes.c_int),
    "runvar_scale": ([_FLOAT, _FLOAT, _SIZE, _SIZE, _FLOAT], None),
    "runvar_select_sgd": ([_FLOAT, _FLOAT, _FLOAT, _FLOAT, _SIZE, _SIZE, ctypes.c_float, ctypes.c_float, _SIZE,
                           ctypes.c_int, ctypes.c_int, _LONG, _FLOAT], None),
}

#: Whether the kernels may run (``RUNVAR_SELECTION_KERNELS=0`` when the process starts turns them off).
ENABLED = os.environ.get("RUNVAR_SELECTION_KERNELS", "1") != "0"
_LIBRARY = Library("selection", SOURCE, _SIGNATURES, "weight selection runs torch's operations (the same bits, slower)")


def kernels() -> ctypes.CDLL | None:
    """This process's compiled kernels (compiled on first use); None where they are off or failed."""
    return _LIBRARY.get() if ENABLED else None


def _applies(*tensors: torch.Tensor) -> ctypes.CDLL | None:
    """The kernels where they apply to ``tensors`` (contiguous float32 on the CPU, torch on one
    thread, a non-empty last dimension), else None."""
    if torch.get_num_threads() != 1:
        return None
    for t in tensors:
        if t.device.type != "cpu" or t.dtype != torch.float32 or not t.is_contiguous() or t.dim() == 0:
            return None
    if tensors[0].shape[-1] == 0:
        return None
    return kernels()


def argmax_last(scores: torch.Tensor) -> torch.Tensor:
    """``scores.argmax(dim=-1)``."""
    library = _applies(scores)
    if library is None:
        return scores.argmax(dim=-1)
    choice = torch.empty(scores.shape[:-1], dtype=torch.long)
    library.runvar_argmax(scores.data_ptr(), choice.numel(), scores.shape[-1], choice.data_ptr())
    return choice


def gather_last(candidates: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """``candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1)``: each connection's chosen candidate."""
    library = _applies(candidates)
    if library is None or choice.dtype != torch.long or not choice.is_contiguous() \
            or choice.shape != candidates.shape[:-1] or choice.device.type != "cpu":
        return candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    weight = torch.empty(choice.shape, dtype=candidates.dtype)
    if library.runvar_gather(candidates.data_ptr(), choice.data_ptr(), choice.numel(), candidates.shape[-1],
                             weight.data_ptr()):
        raise IndexError(f"a chosen candidate index is outside [0, {candidates.shape[-1]})")
    return weight


def scale_last(grad: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """``grad.unsqueeze(-1) * candidates``: every candidate's score gradient, chosen or not."""
    library = _applies(grad, candidates)
    # from 16 candidates on, a row fills a 64-byte cache line and torch's own broadcast keeps up
    if library is None or grad.shape != candidates.shape[:-1] or candidates.shape[-1] >= 16:
        return grad.unsqueeze(-1) * candidates
    out = torch.empty(candidates.shape, dtype=candidates.dtype)
    library.runvar_scale(grad.data_ptr(), candidates.data_ptr(), grad.numel(), candidates.shape[-1], out.data_ptr())
    return out


#: Floats per vector of torch's fused SGD loop that :func:`sgd_recipe` tries (AVX2 and AVX-512
#: builds, AVX-512, NEON)
_WIDTHS = (8, 16, 4)
#: (rows, k, LR) of the probe's tensors: every body/tail split of the widths above, three LRs
_PROBES = ((123, 8, 1.5), (499, 2, 0.37), (37, 3, 3.0), (61, 16, 2.0))
_recipe: tuple[int, bool] | None = None
_probed = False


def _fused_sgd(library: ctypes.CDLL, grad: torch.Tensor, candidates: torch.Tensor, scores: torch.Tensor,
               buffer: torch.Tensor, momentum: float, lr: float, first: bool, recipe: tuple[int, bool],
               chosen: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """The fused step of ``scores`` in place; with ``chosen`` (an int64 and a float32 tensor of
    ``grad``'s shape) also the stepped scores' greedy choice and chosen candidates into them."""
    width, contracted = recipe
    numel = scores.numel()
    choice, weight = (None, None) if chosen is None else (chosen[0].data_ptr(), chosen[1].data_ptr())
    library.runvar_select_sgd(grad.data_ptr(), candidates.data_ptr(), scores.data_ptr(), buffer.data_ptr(),
                              grad.numel(), candidates.shape[-1], momentum, -lr, numel - numel % width,
                              int(first), int(contracted), choice, weight)


def _probe(library: ctypes.CDLL, recipe: tuple[int, bool]) -> bool:
    """Whether :func:`_fused_sgd` with ``recipe`` gives torch's bits on random tensors: the
    straight-through gradient, then ``torch._fused_sgd_`` on it, for three steps, the first included."""
    g = torch.Generator().manual_seed(0)
    for rows, k, lr in _PROBES:
        scores, candidates = torch.rand(rows, k, generator=g), torch.rand(rows, k, generator=g) - 0.5
        ours, buffer, theirs = scores.clone(), torch.empty(rows, k), [torch.empty(rows, k)]
        for step in range(3):
            grad = torch.randn(rows, generator=g) * 1e-3
            torch._fused_sgd_([scores], [grad.unsqueeze(-1) * candidates], theirs, weight_decay=0.0, momentum=0.9,
                              lr=lr, dampening=0.0, nesterov=False, maximize=False, is_first_step=step == 0)
            _fused_sgd(library, grad, candidates, ours, buffer, 0.9, lr, step == 0, recipe)
            if not (same_bits(ours, scores) and same_bits(buffer, theirs[0])):
                return False
    return True


def sgd_recipe() -> tuple[int, bool] | None:
    """How torch's fused SGD rounds in this process, as (the floats per vector of its loop,
    whether it fuses multiply-adds), found once by comparing :func:`_fused_sgd` with
    ``torch._fused_sgd_`` (the rounding is the compiler's choice in torch's build); None where
    the kernels are off or no recipe gives torch's bits (the fused update then never runs)."""
    global _recipe, _probed
    library = kernels()
    if library is None or not hasattr(torch, "_fused_sgd_"):
        return None
    if not _probed:
        _probed = True
        with torch.no_grad():
            _recipe = next((r for r in itertools.product(_WIDTHS, (True, False)) if _probe(library, r)), None)
    return _recipe


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two float32 tensors of one shape hold the same bytes (0.0 and -0.0 differ)."""
    return torch.equal(a.view(torch.int32), b.view(torch.int32))


class _Deferral:
    """The score gradients one backward pass leaves to :func:`backward_and_step`: per scores
    tensor its weight gradient and candidates, in place of the (..., k) gradient."""

    def __init__(self, params: set[torch.Tensor]) -> None:
        self.params = params  # the scores the fused update may take
        self.pending: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor]] = {}
        self.seen: set[torch.Tensor] = set()


_deferral: _Deferral | None = None
#: per scores tensor stepped by the fused update: its version and its candidates (with their
#: version) then, and the greedy choice and chosen candidates of the stepped scores (keyed by
#: the tensor's identity: tensors compare element by element)
_chosen: WeakIdKeyDictionary = WeakIdKeyDictionary()


def chosen_after_step(scores: torch.Tensor, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The greedy choice (:func:`argmax_last`) and chosen candidates (:func:`gather_last`) of
    ``scores`` as the fused update left them, computed in its pass; None where anything changed
    either tensor since (another step, a loaded state, a flipped bit: each bumps its version)."""
    entry = _chosen.get(scores)
    if entry is None:
        return None
    version, stepped_candidates, candidates_version, choice, weight = entry
    if version != scores._version or stepped_candidates is not candidates or candidates_version != candidates._version:
        return None
    return choice, weight


def score_gradient(scores: torch.Tensor, grad: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor | None:
    """The straight-through gradient of ``scores`` (:func:`scale_last`) for the backward pass to
    return, or None where the step to come (:func:`backward_and_step`) takes it from ``grad`` itself.

    Only a tensor's first gradient of a pass is left to the step: where scores are selected from
    twice, the second gradient brings the first back, summed as autograd sums them."""
    deferral = _deferral
    if deferral is None or scores not in deferral.params or scores in deferral.seen:
        pending = None if deferral is None else deferral.pending.pop(scores, None)
        own = scale_last(grad, candidates)
        return own if pending is None else scale_last(*pending) + own
    deferral.seen.add(scores)
    if _applies(scores, grad, candidates) is None or grad.shape != candidates.shape[:-1] \
            or scores.shape != candidates.shape:
        return scale_last(grad, candidates)
    deferral.pending[scores] = (grad, candidates)
    return None


def _fusable(optimizer: torch.optim.Optimizer) -> set[torch.Tensor]:
    """The parameters of ``optimizer`` whose step :func:`backward_and_step` may fuse: those of
    groups that ``torch.optim.SGD(fused=True)`` steps with momentum and a float LR, without weight
    decay, dampening, Nesterov or maximize, on one thread with the kernels found exact."""
    if type(optimizer) is not torch.optim.SGD or torch.get_num_threads() != 1:
        return set()
    params = {p for group in optimizer.param_groups
              if group["fused"] and group["momentum"] != 0 and group["weight_decay"] == 0 and group["dampening"] == 0
              and not group["nesterov"] and not group["maximize"] and not group["differentiable"]
              and type(group["lr"]) is float for p in group["params"]}
    # the recipe last: an optimizer no group of which qualifies (every study's but the selection
    # arms') never compiles the kernels
    return params if params and sgd_recipe() is not None else set()


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    """``loss.backward()`` then ``optimizer.step()``, with the weight-selection scores stepped by
    the compiled kernel where it applies (:func:`_fusable`): it computes each score's
    straight-through gradient and torch's fused SGD update of it in one pass, so no (..., k)
    gradient is ever allocated, and gives every bit of torch's step (:func:`sgd_recipe`). Their
    momentum buffers stay in ``optimizer.state``; their ``.grad`` stays None."""
    global _deferral
    fusable = _fusable(optimizer)
    if not fusable:
        loss.backward()
        optimizer.step()
        return
    _deferral = deferral = _Deferral(fusable)
    try:
        loss.backward()
    finally:
        _deferral = None
    library, recipe = kernels(), sgd_recipe()
    with torch.no_grad():
        for group in optimizer.param_groups:
            pending = [p for p in group["params"] if p in deferral.pending]
            stepping = [p for p in group["params"] if p.grad is not None or p in deferral.pending]
            # torch's first step (buffer = gradient) is one for the whole group
            first = all(optimizer.state[p].get("momentum_buffer") is None for p in stepping)
            for p in pending:
                grad, candidates = deferral.pending[p]
                buffer = torch.empty_like(p) if first else optimizer.state[p].get("momentum_buffer")
                if buffer is None or _applies(buffer) is None or buffer.shape != p.shape:
                    p.grad = scale_last(grad, candidates)  # torch's step decides what this means
                    continue
                chosen = torch.empty(grad.shape, dtype=torch.long), torch.empty(grad.shape)
                _fused_sgd(library, grad, candidates, p, buffer, group["momentum"], group["lr"], first, recipe, chosen)
                torch.autograd.graph.increment_version(p)
                _chosen[p] = (p._version, candidates, candidates._version, *chosen)
                optimizer.state[p]["momentum_buffer"] = buffer
    if any(p.grad is not None for group in optimizer.param_groups for p in group["params"]):
        optimizer.step()
