"""The instability probe: move one scalar of one parameter by one float32 step (SD, RE)."""

from __future__ import annotations

import torch
from torch import nn


def flippable_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and floating-point buffers (e.g. fixed candidate weights) by name."""
    tensors = dict(model.named_parameters())
    tensors.update((n, b) for n, b in model.named_buffers() if b.is_floating_point())
    return tensors


def choose_parameter(model: nn.Module, name: str) -> str:
    """``first`` -> the first weight parameter (ndim > 1, the first conv weight as in the
    reference's default); otherwise ``name`` must name a parameter or floating buffer."""
    params = dict(model.named_parameters())
    if name == "first":
        for pname, p in params.items():
            if p.dim() > 1:
                return pname
        return next(iter(params))
    tensors = flippable_tensors(model)
    if name not in tensors:
        raise ValueError(f"bit-flip tensor {name!r} not in model; valid: first, {', '.join(tensors)}")
    return name


@torch.no_grad()
def flip_one_bit(model: nn.Module, generator: torch.Generator, parameter: str = "first") -> dict:
    """Change one scalar of ``parameter`` to its adjacent float32 value, up or down.

    The index and the direction (a coin) are drawn from ``generator``. Returns the record:
    tensor name, flat and multi-dimensional index, direction, old and new value (float and
    the exact float32 bit pattern).
    """
    pname = choose_parameter(model, parameter)
    tensor = flippable_tensors(model)[pname]
    if tensor.dtype != torch.float32:
        raise TypeError(f"bit flip expects float32 parameters, {pname} is {tensor.dtype}")
    flat_index = int(torch.randint(tensor.numel(), (1,), generator=generator))
    up = bool(torch.randint(2, (1,), generator=generator))
    flat = tensor.view(-1)
    old = flat[flat_index].clone()
    target = torch.tensor(float("inf") if up else float("-inf"), dtype=old.dtype, device=old.device)
    new = torch.nextafter(old, target)
    flat[flat_index] = new
    multi = [int(i) for i in torch.unravel_index(torch.tensor(flat_index), tensor.shape)]
    return {
        "parameter": pname,
        "flat_index": flat_index,
        "index": multi,
        "direction": "up" if up else "down",
        "old": float(old),
        "new": float(new),
        "old_bits": f"{_bits(old):08x}",
        "new_bits": f"{_bits(new):08x}",
    }


def _bits(x: torch.Tensor) -> int:
    return int(x.detach().cpu().reshape(1).view(torch.int32)[0]) & 0xFFFFFFFF
