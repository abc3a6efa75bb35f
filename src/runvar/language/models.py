"""Word-level language models in pure torch: a QRNN (Bradbury et al. 2016) and an LSTM, both
with tied embedding / decoder weights and Merity et al.'s AWD regularisers.

Every random draw (the embedding-dropout mask, the locked dropout masks on the inputs, between
layers and on the outputs, the weight-drop masks) takes the run's ``stochastic`` generator, and
:meth:`LanguageModel.reset_parameters` draws every initial weight from the ``init`` generator,
so no draw touches torch's global RNG.

QRNN layer as in Merity's ``torchqrnn`` (output gate, no zoneout): a masked convolution of width
``window`` over time (the previous step's input is carried across batches) gives Z, F, O;
``fo``-pooling ``c_t = f_t * c_{t-1} + (1 - f_t) * z_t`` and ``h_t = o_t * c_t``. Weight drop
applies to the hidden-to-hidden weights: the LSTM's ``weight_hh``; the QRNN has none, so (as in
Merity's code) it applies to the gate convolution's weights.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .config import MODEL_KINDS
Hidden = list[tuple[torch.Tensor, torch.Tensor]]


def fo_pool(z: torch.Tensor, f_logit: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """``c_t = f_t c_{t-1} + (1 - f_t) z_t`` with ``f = sigmoid(f_logit)``, without a loop over
    time steps: a doubling (Hillis-Steele) scan of the affine maps ``c -> a c + b``. After the
    pass with offset k each step holds the composition of the 2k maps ending there, so
    ceil(log2 T) passes of whole-tensor products suffice; only products of gates in (0, 1) are
    formed (no division, nothing to overflow), and the result matches the step loop to float
    rounding (:func:`fo_pool_loop`).

    ``z``, ``f_logit``: (T, B, H); ``c0``: (B, H). Returns ``c`` of shape (T, B, H).
    """
    a = torch.sigmoid(f_logit)
    b = torch.sigmoid(-f_logit) * z  # (1 - f) z
    b = torch.cat([torch.addcmul(b[:1], a[:1], c0.unsqueeze(0)), b[1:]])
    k = 1
    while k < z.shape[0]:
        b = torch.cat([b[:k], torch.addcmul(b[k:], a[k:], b[:-k])])
        a = torch.cat([a[:k], a[k:] * a[:-k]])
        k *= 2
    return b


def fo_pool_loop(z: torch.Tensor, f_logit: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """The same recurrence one time step at a time (the reference :func:`fo_pool` is tested on)."""
    f = torch.sigmoid(f_logit)
    c, outputs = c0, []
    for t in range(z.shape[0]):
        c = f[t] * c + (1 - f[t]) * z[t]
        outputs.append(c)
    return torch.stack(outputs)


def dropout_mask(shape: tuple[int, ...], p: float, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted-dropout mask (entries 0 or 1/(1-p)) drawn from ``generator``."""
    keep = torch.full(shape, 1.0 - p, dtype=like.dtype, device=like.device)
    return torch.bernoulli(keep, generator=generator).div_(1.0 - p)


def locked_dropout(x: torch.Tensor, p: float, training: bool, generator: torch.Generator | None) -> torch.Tensor:
    """Variational dropout: one mask per sequence and feature, shared over time steps."""
    if not training or p == 0:
        return x
    return x * dropout_mask((1, *x.shape[1:]), p, x, generator)


class QRNNLayer(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, window: int, wdrop: float) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.window, self.wdrop = input_size, hidden_size, window, wdrop
        self.linear = nn.Linear(window * input_size, 3 * hidden_size)

    def init_hidden(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(last c, last input step): the input is carried for the width-2 convolution."""
        weight = self.linear.weight
        return weight.new_zeros(batch, self.hidden_size), weight.new_zeros(1, batch, self.input_size)

    def forward(self, x: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor],
                generator: torch.Generator | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        c0, prev_x = hidden
        source = x if self.window == 1 else torch.cat([x, torch.cat([prev_x, x[:-1]])], 2)
        weight = self.linear.weight
        if self.training and self.wdrop:
            weight = weight * dropout_mask(tuple(weight.shape), self.wdrop, weight, generator)
        z, f_logit, o = F.linear(source, weight, self.linear.bias).chunk(3, dim=2)
        c = fo_pool(torch.tanh(z), f_logit, c0)
        return torch.sigmoid(o) * c, (c[-1], x[-1:])


class LSTMLayer(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, window: int, wdrop: float) -> None:
        super().__init__()
        self.hidden_size, self.wdrop = hidden_size, wdrop
        self.lstm = nn.LSTM(input_size, hidden_size)

    def init_hidden(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = self.lstm.weight_hh_l0.new_zeros(1, batch, self.hidden_size)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor],
                generator: torch.Generator | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if not (self.training and self.wdrop):
            out, state = self.lstm(x, hidden)
            return out, state
        params = dict(self.lstm.named_parameters())
        weight = params["weight_hh_l0"]
        params["weight_hh_l0"] = weight * dropout_mask(tuple(weight.shape), self.wdrop, weight, generator)
        out, state = functional_call(self.lstm, params, (x, hidden))
        return out, state


class LanguageModel(nn.Module):
    """Embedding -> ``layers`` recurrent layers -> tied decoder, with the AWD regularisers.

    The last layer's width is ``embedding`` (so the decoder can share the embedding matrix);
    the others' is ``hidden``. The QRNN's first layer has a convolution of width 2, the others 1.
    """

    def __init__(self, kind: str, vocab: int, embedding: int, hidden: int, layers: int,
                 dropout: float = 0.4, dropouth: float = 0.3, dropouti: float = 0.65,
                 dropoute: float = 0.1, wdrop: float = 0.5) -> None:
        super().__init__()
        if kind not in MODEL_KINDS:
            raise ValueError(f"unknown language model {kind!r}; valid: {', '.join(MODEL_KINDS)}")
        self.kind = kind
        self.dropout, self.dropouth, self.dropouti, self.dropoute = dropout, dropouth, dropouti, dropoute
        self.encoder = nn.Embedding(vocab, embedding)
        layer = QRNNLayer if kind == "qrnn" else LSTMLayer
        sizes = [embedding] + [hidden] * (layers - 1) + [embedding]
        self.layers = nn.ModuleList(
            layer(sizes[i], sizes[i + 1], 2 if (kind == "qrnn" and i == 0) else 1, wdrop) for i in range(layers)
        )
        self.decoder = nn.Linear(embedding, vocab)
        self.decoder.weight = self.encoder.weight

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator) -> None:
        """Merity's init, every draw from ``generator``: embedding U(-0.1, 0.1), decoder bias 0;
        QRNN gates U(+-1/sqrt(fan_in)) as torch's Linear; LSTM U(+-1/sqrt(hidden)) as torch's LSTM."""
        self.encoder.weight.uniform_(-0.1, 0.1, generator=generator)
        self.decoder.bias.zero_()
        for layer in self.layers:
            if isinstance(layer, QRNNLayer):
                bound = 1.0 / math.sqrt(layer.linear.in_features)
            else:
                bound = 1.0 / math.sqrt(layer.hidden_size)
            for p in layer.parameters():
                p.uniform_(-bound, bound, generator=generator)

    def init_hidden(self, batch: int) -> Hidden:
        return [layer.init_hidden(batch) for layer in self.layers]

    def forward(self, tokens: torch.Tensor, hidden: Hidden, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, Hidden, list[torch.Tensor], list[torch.Tensor]]:
        """Logits (T, B, vocab), the new hidden state, and each layer's output before and after
        its dropout (for the AR / TAR penalties)."""
        weight = self.encoder.weight
        if self.training and self.dropoute:
            weight = weight * dropout_mask((weight.shape[0], 1), self.dropoute, weight, generator)
        x = locked_dropout(F.embedding(tokens, weight), self.dropouti, self.training, generator)
        raw, dropped, new_hidden = [], [], []
        for i, layer in enumerate(self.layers):
            x, state = layer(x, hidden[i], generator)
            new_hidden.append(state)
            raw.append(x)
            p = self.dropouth if i < len(self.layers) - 1 else self.dropout
            x = locked_dropout(x, p, self.training, generator)
            dropped.append(x)
        return self.decoder(x), new_hidden, raw, dropped


def detach_hidden(hidden: Hidden) -> Hidden:
    """Truncated BPTT: the state carries over batches, its gradient does not."""
    return [tuple(t.detach() for t in state) for state in hidden]  # type: ignore[misc]


def build_language_model(options: dict[str, Any], vocab: int) -> LanguageModel:
    """A model from a setup's ``model`` block (kind, embedding, hidden, layers, dropouts, wdrop)."""
    return LanguageModel(vocab=vocab, **options)
