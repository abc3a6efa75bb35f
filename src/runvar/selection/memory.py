"""What a weight-selection model stores (SM): parameter, candidate and byte counts per
(model, k), against learned weights, as a table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from ..models import build_model
from ..models.weight_selection import selection_layers
from ..tables import markdown_table


def selection_memory(model: nn.Module) -> dict[str, int]:
    """What ``model`` stores, measured from its tensors.

    - ``trainable_parameters``: elements the optimizer updates (scores, or learned weights);
    - ``fixed_candidates``: candidate weights held as buffers (never updated);
    - ``connections``: weights the forward pass uses (one per connection);
    - ``state_bytes``: bytes of every parameter and buffer (what a checkpoint holds);
    - ``compact_bytes``: bytes of the trained network stored compactly: ceil(log2 k) bits
      per selected connection (candidates are rebuilt from the init seed, as Slot Machines
      note) plus every other parameter in full (all of them for learned weights).
    """
    layers = selection_layers(model).values()
    scores = {id(layer.scores) for layer in layers}
    others = [p for p in model.parameters() if id(p) not in scores]
    selected = [(layer.candidates.numel() // layer.k, layer.k) for layer in layers]
    index_bits = sum(n * math.ceil(math.log2(k)) for n, k in selected)
    tensors = list(model.parameters()) + list(model.buffers())
    return {
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "fixed_candidates": sum(layer.candidates.numel() for layer in layers),
        "connections": sum(n for n, _ in selected) + sum(p.numel() for p in others),
        "state_bytes": sum(t.numel() * t.element_size() for t in tensors),
        "compact_bytes": math.ceil(index_bits / 8) + sum(p.numel() * p.element_size() for p in others),
    }


def memory_table(
    models: Iterable[str],
    ks: Iterable[int],
    input_shape: tuple[int, ...],
    num_classes: int = 10,
) -> list[dict[str, Any]]:
    """:func:`selection_memory` of each model with learned weights and with each k."""
    ks = list(ks)
    rows = []
    for name in models:
        variants: list[dict[str, Any]] = [{"mode": "learned"}] + [{"mode": "select", "k": k} for k in ks]
        for options in variants:
            with torch.device("meta"):
                model = build_model(name, input_shape, num_classes, 0, **options)
            rows.append({"model": name, "k": options.get("k", "learned"), **selection_memory(model)})
    return rows


def memory_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """:func:`memory_table` rows as a frame, ``k`` as text."""
    frame = pd.DataFrame(list(rows))
    frame["k"] = frame["k"].astype(str)
    return frame


def memory_markdown(frame: pd.DataFrame, title: str) -> str:
    """Parameter and memory counts per (model, k) as Markdown."""
    header = ["Model", "k", "Trainable", "Fixed candidates", "Connections", "State (KiB)", "Compact (KiB)"]
    body = [
        [r["model"], r["k"], f"{r['trainable_parameters']:,}", f"{r['fixed_candidates']:,}",
         f"{r['connections']:,}", f"{r['state_bytes'] / 1024:,.1f}", f"{r['compact_bytes'] / 1024:,.1f}"]
        for _, r in frame.iterrows()
    ]
    notes = (
        "\nTrainable: elements the optimizer updates (k scores per connection, or the learned "
        "weights). Fixed candidates: k random weights per connection, never updated. State: "
        "float32 parameters and buffers (what a checkpoint holds). Compact: ceil(log2 k) bits per "
        "selected connection, the candidates being rebuilt from the init seed (learned: every "
        "weight in float32).\n"
    )
    return f"## {title}\n\n" + markdown_table(header, body) + notes
