"""Linear CKA (Kornblith et al. 2019) between runs, per layer (SD Fig. 1).

For centred features X (n examples x d) and Y of two runs,
``CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``. All R(R-1)/2 pairs come from one
matrix product, in whichever form is smaller:

* feature form: the runs' features side by side, Z = [X_1 .. X_R] (n x Rd); block (r, s) of
  Z^T Z is X_r^T X_s, so the numerators are the blocks' squared Frobenius norms (memory (Rd)^2);
* Gram form: ||Y^T X||_F^2 = <X X^T, Y Y^T>_F, so the numerators are the inner products of
  the runs' flattened n x n Gram matrices (memory R n^2; used when d is large).

Layers (:func:`cka_layers`): CIFAR ResNets give the first conv, each stage's output, the
pooled features and the logits, as in SD Fig. 1. Sequential models (``cnn1d``, ``mlp``,
``linear``, ``hidden_conv``) give the first conv's output, each ReLU's output (the
stages; for ``cnn1d`` the last one is also the flattened feature vector the classifier reads,
there being no pooling layer) and the logits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..models.resnet import CifarResNet
from ..plots import plt
from ..runs import execution_device, load_trained_models
from ..tables import markdown_table

#: Above this many feature columns in total (R x d), the Gram form is used.
FEATURE_FORM_MAX_COLUMNS = 4096


def cka_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Named layers whose outputs CKA compares, in network order."""
    if isinstance(model, CifarResNet):
        layers = {"conv1": model.stem[0]}
        layers.update({f"stage{i + 1}": stage for i, stage in enumerate(model.stages)})
        layers.update(avgpool=model.pool, logits=model.fc)
        return layers
    if isinstance(model, nn.Sequential) and isinstance(model[-1], nn.Linear):
        layers = {}
        convs = [m for m in model if isinstance(m, (nn.Conv1d, nn.Conv2d))]
        if convs:
            layers["conv1"] = convs[0]
        relus = [m for m in model if isinstance(m, nn.ReLU)]
        layers.update({f"stage{i + 1}": m for i, m in enumerate(relus)})
        layers["logits"] = model[-1]
        return layers
    raise ValueError(
        f"CKA layers are defined for CIFAR ResNets and sequential models ending in a linear "
        f"layer (cnn1d, mlp, linear, hidden_conv); got {type(model).__name__}"
    )


@torch.no_grad()
def layer_features(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """(n, d) float64 outputs of every :func:`cka_layers` layer on ``x``, via forward hooks."""
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        module.register_forward_hook(
            lambda _m, _i, out, name=name: captured.__setitem__(name, out.detach().reshape(len(x), -1).double().cpu())
        )
        for name, module in cka_layers(model).items()
    ]
    try:
        model.eval()
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return captured


def _centred(features: Sequence[torch.Tensor] | np.ndarray) -> torch.Tensor:
    stack = torch.stack([torch.as_tensor(np.asarray(f) if not torch.is_tensor(f) else f, dtype=torch.float64)
                         for f in features])
    return stack - stack.mean(dim=1, keepdim=True)


def pairwise_linear_cka(features: Sequence[torch.Tensor] | np.ndarray, form: str = "auto") -> np.ndarray:
    """(R, R) linear CKA between the features (R x (n, d)) of every pair of runs.

    ``form``: ``"feature"``, ``"gram"`` or ``"auto"`` (feature form while R x d is at most
    :data:`FEATURE_FORM_MAX_COLUMNS`). Both give the same numbers up to rounding.
    """
    x = _centred(features)
    runs, n, d = x.shape
    if form == "auto":
        form = "feature" if runs * d <= FEATURE_FORM_MAX_COLUMNS else "gram"
    if form == "feature":
        z = x.permute(1, 0, 2).reshape(n, runs * d)
        cross = (z.T @ z).reshape(runs, d, runs, d)
        numer = cross.pow(2).sum(dim=(1, 3))
    elif form == "gram":
        grams = torch.stack([xr @ xr.T for xr in x]).reshape(runs, n * n)
        numer = grams @ grams.T
    else:
        raise ValueError(f"form must be 'feature', 'gram' or 'auto', got {form!r}")
    norms = numer.diagonal().sqrt()  # ||X_r^T X_r||_F
    if torch.any(norms == 0):
        raise ValueError("a run has constant features at this layer; CKA is undefined")
    return (numer / torch.outer(norms, norms)).numpy()


def mean_pairwise(matrix: np.ndarray) -> tuple[float, float]:
    """Mean and SD over the pairs i < j of an (R, R) matrix."""
    i, j = np.triu_indices(matrix.shape[0], k=1)
    values = matrix[i, j]
    return float(values.mean()), float(values.std(ddof=0))


def layer_cka(per_run: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, dict[str, float]]:
    """Mean and SD over run pairs of the linear CKA at each layer, from :func:`layer_features`
    of every run: ``{layer: {"mean", "sd", "pairs"}}`` in layer order."""
    if len(per_run) < 2:
        raise ValueError(f"CKA between runs needs at least 2 runs, got {len(per_run)}")
    out = {}
    for layer in per_run[0]:
        mean, sd = mean_pairwise(pairwise_linear_cka([feats[layer] for feats in per_run]))
        out[layer] = {"mean": mean, "sd": sd, "pairs": len(per_run) * (len(per_run) - 1) // 2}
    return out


def fixed_subset(num_examples: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` test examples drawn without replacement from a seeded generator."""
    if size >= num_examples:
        return np.arange(num_examples)
    return np.sort(np.random.default_rng(seed).choice(num_examples, size=size, replace=False))


def cka_frame(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> pd.DataFrame:
    """Long table (variant, layer, mean, sd, pairs) from ``{variant: layer_cka(...)}``."""
    return pd.DataFrame(
        [{"variant": variant, "layer": layer, **values}
         for variant, layers in results.items() for layer, values in layers.items()]
    )


def cka_markdown(frame: pd.DataFrame, title: str) -> str:
    """Mean CKA over run pairs as a variant x layer Markdown table (± SD over pairs)."""
    layers = list(dict.fromkeys(frame["layer"]))
    body = []
    for variant, part in frame.groupby("variant", sort=False):
        cells = part.set_index("layer")
        body.append([variant] + [f"{cells.loc[l, 'mean']:.4f} ± {cells.loc[l, 'sd']:.4f}" for l in layers])
    note = (f"\nLinear CKA between every pair of runs ({int(frame['pairs'].iloc[0])} pairs per variant) "
            "on a fixed subset of test examples; mean ± SD over pairs.\n")
    return f"## {title}\n\n" + markdown_table(["Variant"] + layers, body) + note


def cka_heatmap(frame: pd.DataFrame, title: str) -> plt.Figure:
    """SD Fig. 1: mean CKA per (variant, layer), annotated."""
    table = frame.pivot(index="variant", columns="layer", values="mean")
    table = table.loc[list(dict.fromkeys(frame["variant"])), list(dict.fromkeys(frame["layer"]))]
    fig, ax = plt.subplots(figsize=(1.2 * table.shape[1] + 2, 0.5 * table.shape[0] + 1.5))
    image = ax.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=7,
                color="white" if value < table.to_numpy().mean() else "black")
    fig.colorbar(image, ax=ax, label="mean linear CKA")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def runs_layer_cka(
    setup: Mapping, x: torch.Tensor, num_classes: int, model_paths: Sequence[str | os.PathLike[str]]
) -> dict[str, dict[str, float]]:
    """:func:`layer_cka` of saved runs of ``setup`` (their ``model.pt``) on inputs ``x``."""
    device = execution_device(setup)
    per_run = []
    for path in model_paths:
        model, _ = load_trained_models(setup, tuple(x.shape[1:]), num_classes, path, device)
        per_run.append(layer_features(model, x.to(device)))
    return layer_cka(per_run)
