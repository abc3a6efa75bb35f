"""runvar.stats.pairwise: chunked pairwise metrics equal the per-pair reference, from arrays and files."""

import itertools

import numpy as np
import pytest
from scipy.special import log_softmax
from scipy.stats import rankdata, spearmanr

from runvar.stats import pairwise
from runvar.stats.pairwise import NpyStack, doubled_ranks, pairwise_matrices


def reference(logits: np.ndarray, labels: np.ndarray) -> dict[tuple[int, int], dict[str, float]]:
    """The per-pair definitions, one pair at a time."""
    out = {}
    rows = np.arange(len(labels))
    for i, j in itertools.combinations(range(len(logits)), 2):
        ensemble = (logits[i].astype(np.float64) + logits[j]) / 2
        out[i, j] = {
            "spearman": spearmanr(logits[i].ravel(), logits[j].ravel()).statistic,
            "disagreement": np.mean(logits[i].argmax(1) != logits[j].argmax(1)),
            "ensemble_accuracy": np.mean(ensemble.argmax(1) == labels),
            "ensemble_cross_entropy": -np.mean(log_softmax(ensemble, axis=1)[rows, labels]),
        }
    return out


def assert_matches_reference(result: pairwise.PairwiseMatrices, logits: np.ndarray, labels: np.ndarray) -> None:
    for (i, j), values in reference(logits, labels).items():
        for name, value in values.items():
            assert getattr(result, name)[i, j] == pytest.approx(value, rel=1e-12, abs=1e-300), (name, i, j)
    rows = np.arange(len(labels))
    for r, run in enumerate(logits):
        assert result.accuracy[r] == np.mean(run.argmax(1) == labels)
        expected = -np.mean(log_softmax(run.astype(np.float64), axis=1)[rows, labels])
        assert result.cross_entropy[r] == pytest.approx(expected, rel=1e-12)


@pytest.fixture
def hard_stack() -> tuple[np.ndarray, np.ndarray]:
    """Runs with tied logits, an identical pair, exact ties between ensemble logits, and logits
    so far apart that the product form of the ensemble's log-sum-exp underflows."""
    rng = np.random.default_rng(3)
    runs, n, c = 6, 120, 4
    logits = (rng.normal(size=(n, c))[None] + 0.7 * rng.normal(size=(runs, n, c))).astype(np.float32)
    logits[1, :20] = np.round(logits[1, :20])
    logits[2] = logits[3]
    labels = rng.integers(0, c, n)
    # the ensemble of runs 0 and 4 ties the label with another class on example 5
    other = (labels[5] + 1) % c
    logits[0, 5] = logits[4, 5] = -5.0
    logits[0, 5, labels[5]], logits[0, 5, other] = 1.0, 3.0
    logits[4, 5, labels[5]], logits[4, 5, other] = 3.0, 1.0
    logits[5, 7] = 0.0
    logits[5, 7, 0] = 2000.0
    logits[0, 7] = 0.0
    logits[0, 7, 1] = 2000.0
    return logits, labels


def test_matches_the_per_pair_reference(hard_stack):
    logits, labels = hard_stack
    assert_matches_reference(pairwise_matrices(logits, labels), logits, labels)


def test_chunks_and_spilled_ranks_give_the_same_numbers(hard_stack, monkeypatch, tmp_path):
    logits, labels = hard_stack
    whole = pairwise_matrices(logits, labels)
    monkeypatch.setattr(pairwise, "CHUNK_ELEMENTS", 50)
    monkeypatch.setattr(pairwise, "ENSEMBLE_BLOCK_ELEMENTS", 30)
    monkeypatch.setattr(pairwise, "PAIR_BLOCK_ELEMENTS", 80)
    monkeypatch.setattr(pairwise, "RANKS_IN_MEMORY_BYTES", 0)
    np.save(tmp_path / "stack.npy", logits)
    for r, run in enumerate(logits):
        np.save(tmp_path / f"run{r}.npy", run)
    sources = [logits, NpyStack(tmp_path / "stack.npy"),
               NpyStack([tmp_path / f"run{r}.npy" for r in range(len(logits))])]
    for source in sources:
        chunked = pairwise_matrices(source, labels, workdir=tmp_path)
        for name in ("accuracy", "cross_entropy", "disagreement", "spearman",
                     "ensemble_accuracy", "ensemble_cross_entropy"):
            np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("runvar-ranks")) == []


def test_doubled_ranks_are_twice_scipy_average_ranks():
    values = np.array([3.0, 1.0, 3.0, 2.0, 3.0, -0.0, 0.0], dtype=np.float32)
    np.testing.assert_array_equal(doubled_ranks(values), 2 * rankdata(values))
    # float32 (sorted as integer keys) across signs, subnormals and infinities; float64 too
    tiny = np.finfo(np.float32).smallest_subnormal
    values = np.array([-np.inf, 2.5, -tiny, tiny, 0.0, -0.0, -2.5, np.inf, -2.5, tiny, -1e30], dtype=np.float32)
    np.testing.assert_array_equal(doubled_ranks(values), 2 * rankdata(values))
    np.testing.assert_array_equal(doubled_ranks(values.astype(np.float64)), 2 * rankdata(values))


def test_bad_stacks_are_named(hard_stack, tmp_path):
    logits, labels = hard_stack
    with pytest.raises(ValueError, match="at least 2 runs"):
        pairwise_matrices(logits[:1], labels)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        pairwise_matrices(logits, labels + 4)
    bad = logits.copy()
    bad[2, 9, 1] = np.nan
    with pytest.raises(ValueError, match="run 2 contain NaN"):
        pairwise_matrices(bad, labels)
    flat = logits.copy()
    flat[1] = 1.0
    with pytest.raises(ValueError, match="constant logits"):
        pairwise_matrices(flat, labels)
    np.save(tmp_path / "a.npy", logits[0])
    np.save(tmp_path / "b.npy", logits[1, :10])
    with pytest.raises(ValueError, match="b.npy: logits"):
        NpyStack([tmp_path / "a.npy", tmp_path / "b.npy"])


def test_examples_decided_for_all_pairs_and_padded_candidates(monkeypatch):
    """Examples right for every pair (one run wrong), wrong for every pair, and blocks of
    examples with different numbers of candidate classes (padded) match the reference."""
    rng = np.random.default_rng(5)
    runs, n, c = 7, 300, 6
    labels = rng.integers(0, c, n)
    logits = rng.normal(size=(runs, n, c)).astype(np.float32)
    logits[:, :100, :] *= 0.1
    logits[:, np.arange(100), labels[:100]] += 3.0  # right in every run ...
    logits[0, np.arange(50), (labels[:50] + 1) % c] += 3.5  # ... but run 0, by less than the others' margins
    logits[:, np.arange(100, 150), (labels[100:150] + 2) % c] += 8.0  # wrong in every pair
    monkeypatch.setattr(pairwise, "ENSEMBLE_BLOCK_ELEMENTS", 7 * 5 * 9)
    assert_matches_reference(pairwise_matrices(logits, labels), logits, labels)
