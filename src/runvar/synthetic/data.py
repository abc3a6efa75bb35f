"""The two synthetic data models of Snapp & Shamir (docs/protocol.md, "Synthetic irreproducibility").

Both have d = 32 binary features and a label y in {-1, +1} with P(y | x) = sigmoid(y * s(x)):

* **linear**: two sets of 16 features, feature j of a set on with probability 6 / (j pi)^2,
  s(x) = x . theta with each theta_i ~ N(mu, 1), mu drawn uniformly from {-2, 0, 2};
* **quadratic**: eight blocks of 4 features, feature j of a block on with probability
  90 / (j pi)^4, s(x) = x^T Theta x with Theta block-diagonal of lower-triangular 4 x 4 blocks
  whose 10 entries each come from the same mixture.

Examples stream in chunks: every example consumes 33 uniforms of its generator (32 feature
coins, one label coin), so a sequence is the same however it is cut into chunks, and the
paper's 2^26 examples never need to be in memory at once. Labels are stored as 0/1
(1 meaning y = +1) together with the true log-odds, kept for evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

NUM_FEATURES = 32
MIXTURE_MEANS = (-2.0, 0.0, 2.0)
LINEAR_SET_SIZE = 16
QUADRATIC_BLOCK_SIZE = 4
DATA_KINDS = ("linear", "quadratic")
#: Examples drawn per numpy call: bounds the temporary uniforms to 8 MiB x 33.
_SAMPLE_BLOCK = 1 << 15


def linear_feature_probs() -> np.ndarray:
    """P(feature on) for the linear model: 6 / (j pi)^2, j = 1..16, for each of the two sets."""
    j = np.arange(1, LINEAR_SET_SIZE + 1)
    return np.tile(6.0 / (j * np.pi) ** 2, NUM_FEATURES // LINEAR_SET_SIZE)


def quadratic_feature_probs() -> np.ndarray:
    """P(feature on) for the quadratic model: 90 / (j pi)^4, j = 1..4, for each of the 8 blocks."""
    j = np.arange(1, QUADRATIC_BLOCK_SIZE + 1)
    return np.tile(90.0 / (j * np.pi) ** 4, NUM_FEATURES // QUADRATIC_BLOCK_SIZE)


def mixture_draws(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values, each from N(mu, 1) with mu picked uniformly from {-2, 0, 2}."""
    means = rng.choice(np.asarray(MIXTURE_MEANS), size=n)
    return rng.normal(means, 1.0)


@dataclass(frozen=True)
class Examples:
    """A chunk of examples: features (n, 32) uint8, labels (n,) uint8 (1 = positive), true log-odds."""

    x: np.ndarray
    y: np.ndarray
    logit: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @property
    def p_true(self) -> np.ndarray:
        """True P(y = +1 | x) of every example."""
        return expit(self.logit)



@dataclass(frozen=True)
class DataModel:
    """A true data model: feature probabilities and log-odds weights.

    ``weights`` is theta (32,) for the linear model and the 8 lower-triangular diagonal
    blocks L_b (8, 4, 4) of Theta for the quadratic one (:meth:`theta_matrix` gives Theta).
    """

    kind: str
    feature_probs: np.ndarray
    weights: np.ndarray

    def theta_matrix(self) -> np.ndarray:
        """The quadratic model's block-diagonal Theta (32, 32)."""
        if self.kind != "quadratic":
            raise ValueError(f"the {self.kind} data model has a weight vector, not a matrix")
        theta = np.zeros((NUM_FEATURES, NUM_FEATURES))
        for b, block in enumerate(self.weights):
            span = slice(b * QUADRATIC_BLOCK_SIZE, (b + 1) * QUADRATIC_BLOCK_SIZE)
            theta[span, span] = block
        return theta

    def logits(self, x: np.ndarray) -> np.ndarray:
        """True log-odds s(x) of label +1 for binary features ``x`` (n, 32), float64.

        einsum rather than BLAS: with 32 features its plain loops are faster, and use one thread.
        """
        if self.kind == "linear":
            return np.einsum("ni,i->n", x, self.weights)
        xb = np.asarray(x).reshape(len(x), -1, QUADRATIC_BLOCK_SIZE)
        return np.einsum("nbi,bij,nbj->n", xb, self.weights, xb)

    def sample(self, n: int, rng: np.random.Generator) -> Examples:
        """The next ``n`` examples of ``rng``'s sequence."""
        xs, ys, logits = [], [], []
        for start in range(0, n, _SAMPLE_BLOCK):
            u = rng.random((min(_SAMPLE_BLOCK, n - start), NUM_FEATURES + 1))
            x = (u[:, :NUM_FEATURES] < self.feature_probs).astype(np.uint8)
            logit = self.logits(x)
            xs.append(x)
            ys.append((u[:, NUM_FEATURES] < expit(logit)).astype(np.uint8))
            logits.append(logit)
        if not xs:
            return Examples(np.zeros((0, NUM_FEATURES), np.uint8), np.zeros(0, np.uint8), np.zeros(0))
        return Examples(x=np.concatenate(xs), y=np.concatenate(ys), logit=np.concatenate(logits))

    def stream(self, total: int, chunk: int, rng: np.random.Generator) -> Iterator[Examples]:
        """``total`` examples of ``rng``'s sequence in chunks of ``chunk`` (the last may be short)."""
        for start in range(0, total, chunk):
            yield self.sample(min(chunk, total - start), rng)


def make_data_model(kind: str, rng: np.random.Generator) -> DataModel:
    """Draw the true weights of data model ``kind`` ('linear' or 'quadratic') from ``rng``."""
    if kind == "linear":
        return DataModel(kind, linear_feature_probs(), mixture_draws(NUM_FEATURES, rng))
    if kind == "quadratic":
        block = QUADRATIC_BLOCK_SIZE
        rows, cols = np.tril_indices(block)
        blocks = np.zeros((NUM_FEATURES // block, block, block))
        for b in range(len(blocks)):
            blocks[b, rows, cols] = mixture_draws(len(rows), rng)
        return DataModel(kind, quadratic_feature_probs(), blocks)
    raise ValueError(f"unknown data model {kind!r}; valid data models: {', '.join(DATA_KINDS)}")
