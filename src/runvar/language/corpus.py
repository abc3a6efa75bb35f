"""Language-modelling corpora: the offline default (CPython's pydoc topics) and Penn Treebank.

Both become one prepared file (:func:`save_corpus`): the train / valid / test token ids, the
vocabulary and a SHA-256 checksum of both, which every run records. Token streams follow
Merity et al.'s ``data.py``: every line's words then ``<eos>``.

- ``pydoc``: the English text of ``pydoc_data.topics`` (ships with every CPython), lowercased
  and split into words, numbers and single punctuation marks; lines are cut into blocks of
  :data:`BLOCK_LINES` lines, and of every ten blocks the 9th goes to valid and the 10th to
  test (deterministic, and the three splits cover the same topics). The vocabulary is the
  ``vocab_size`` most frequent training words (ties alphabetical) plus ``<unk>`` and ``<eos>``.
- ``ptb``: Mikolov's preprocessed files ``ptb.{train,valid,test}.txt`` under a directory the
  config names; the vocabulary is every word of the three files in order of appearance, as
  Merity's code builds it. Missing or malformed files raise :class:`CorpusError` naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io import CorruptFileError, load_npz, save_npz

if TYPE_CHECKING:
    import torch

SPLITS = ("train", "valid", "test")
EOS, UNK = "<eos>", "<unk>"
BLOCK_LINES = 100
#: Mikolov's PTB: vocabulary size (with <eos>) and the least tokens a genuine file has.
PTB_VOCAB = 10_000
PTB_MIN_TOKENS = {"train": 800_000, "valid": 60_000, "test": 70_000}
_WORD = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")


class CorpusError(ValueError):
    """A corpus file that is missing or not in the expected format."""


@dataclass(frozen=True)
class Corpus:
    """Token ids of the three splits, the vocabulary (id -> word) and the checksum."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    vocab: list[str]
    checksum: str

    def split(self, name: str) -> np.ndarray:
        return getattr(self, name)


def _checksum(splits: Mapping[str, np.ndarray], vocab: Sequence[str]) -> str:
    h = hashlib.sha256()
    for name in SPLITS:
        h.update(np.ascontiguousarray(splits[name], dtype=np.int32).tobytes())
    h.update("\n".join(vocab).encode())
    return h.hexdigest()


def _make(splits: Mapping[str, Sequence[str]], vocab: list[str]) -> Corpus:
    index = {w: i for i, w in enumerate(vocab)}
    unk = index.get(UNK)
    ids = {n: np.array([index.get(w, unk) for w in splits[n]], dtype=np.int32) for n in SPLITS}
    return Corpus(**ids, vocab=vocab, checksum=_checksum(ids, vocab))


def tokenize_line(line: str) -> list[str]:
    """Lowercased words, numbers and single punctuation marks of one line of prose."""
    return _WORD.findall(line.lower())


def pydoc_corpus(vocab_size: int | None = None) -> Corpus:
    """The pydoc-topics corpus; ``vocab_size`` caps the vocabulary (None: every training word)."""
    from pydoc_data.topics import topics

    words: dict[str, list[str]] = {n: [] for n in SPLITS}
    lines = [tokenize_line(line) for key in sorted(topics) for line in topics[key].splitlines()]
    lines = [line for line in lines if line]
    for number, line in enumerate(lines):
        block = (number // BLOCK_LINES) % 10
        words["valid" if block == 8 else "test" if block == 9 else "train"] += line + [EOS]
    counts = Counter(w for w in words["train"] if w != EOS)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))[:vocab_size]
    return _make(words, [EOS, UNK, *sorted(ranked)])


def _read_ptb_file(path: Path, split: str) -> list[str]:
    if not path.is_file():
        raise CorpusError(f"PTB file {path} is missing: expected Mikolov's preprocessed Penn Treebank "
                          f"split {split!r} (ptb.{split}.txt, one sentence per line, words separated by spaces)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(f"PTB file {path} is not UTF-8 text ({err}): expected Mikolov's preprocessed "
                          "Penn Treebank (lowercase words separated by spaces, <unk> for rare words)") from None
    words: list[str] = []
    for line in text.splitlines():
        words += line.split() + [EOS]
    if len(words) < PTB_MIN_TOKENS[split]:
        raise CorpusError(f"PTB file {path} has {len(words):,} tokens (with <eos>): expected Mikolov's "
                          f"ptb.{split}.txt with at least {PTB_MIN_TOKENS[split]:,} (about 929k / 73k / 82k "
                          "for train / valid / test); is it truncated?")
    return words


def ptb_corpus(root: str | os.PathLike[str]) -> Corpus:
    """Penn Treebank from ``root``; :class:`CorpusError` names a missing or malformed file."""
    root = Path(root)
    words = {split: _read_ptb_file(root / f"ptb.{split}.txt", split) for split in SPLITS}
    vocab = list(dict.fromkeys(w for split in SPLITS for w in words[split]))
    if UNK not in vocab:
        raise CorpusError(f"PTB files under {root} contain no {UNK} token: expected Mikolov's preprocessed "
                          "split, where words outside the 10k vocabulary are <unk>")
    train_vocab = set(words["train"])
    for split in ("valid", "test"):
        unseen = sorted(set(words[split]) - train_vocab)
        if unseen:
            raise CorpusError(f"PTB file {root / f'ptb.{split}.txt'} has {len(unseen)} words not in "
                              f"ptb.train.txt (e.g. {', '.join(map(repr, unseen[:3]))}): expected Mikolov's "
                              "split, whose valid and test words are all in the training vocabulary")
    if len(vocab) > PTB_VOCAB:
        raise CorpusError(f"PTB files under {root} have {len(vocab):,} word types (with <eos>): expected "
                          f"Mikolov's {PTB_VOCAB:,}-word vocabulary")
    return _make(words, vocab)


def check_ptb_files(root: str | os.PathLike[str]) -> list[str]:
    """Problems visible without reading the files: missing ``ptb.*.txt`` under ``root``."""
    return [f"PTB file {Path(root) / f'ptb.{s}.txt'} is missing" for s in SPLITS
            if not (Path(root) / f"ptb.{s}.txt").is_file()]


def build_corpus(name: str, options: Mapping) -> Corpus:
    """The corpus ``name`` (``pydoc`` or ``ptb``) from its config options."""
    if name == "pydoc":
        return pydoc_corpus(options.get("vocab_size"))
    if name == "ptb":
        if "root" not in options:
            raise CorpusError("corpus 'ptb' needs datasets: {ptb: {root: DIR}}, DIR holding ptb.train.txt, "
                              "ptb.valid.txt and ptb.test.txt (Mikolov's preprocessed Penn Treebank)")
        return ptb_corpus(options["root"])
    raise CorpusError(f"unknown corpus {name!r}; valid corpora: pydoc, ptb")


def save_corpus(path: str | os.PathLike[str], corpus: Corpus) -> None:
    save_npz(path, train=corpus.train, valid=corpus.valid, test=corpus.test,
             vocab=np.array(corpus.vocab), checksum=np.array(corpus.checksum))


def load_corpus(path: str | os.PathLike[str]) -> Corpus:
    """A prepared corpus; :class:`runvar.io.CorruptFileError` when its checksum does not match."""
    arrays = load_npz(path, {"train": 1, "valid": 1, "test": 1, "vocab": 1, "checksum": 0})
    splits = {n: arrays[n].astype(np.int32) for n in SPLITS}
    vocab = [str(w) for w in arrays["vocab"]]
    checksum = str(arrays["checksum"])
    if _checksum(splits, vocab) != checksum:
        raise CorruptFileError(f"{path}: token ids do not match the stored checksum; delete it and rerun")
    return Corpus(**splits, vocab=vocab, checksum=checksum)


def batchify(tokens: np.ndarray | Iterable[int], batch_size: int) -> "torch.Tensor":
    """Merity's ``batchify``: the stream trimmed to a multiple of ``batch_size`` and laid out
    as ``batch_size`` columns, shape (steps, batch_size), int64.

    >>> batchify(np.arange(7), 2).T.tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    import torch  # here, not at the top: the corpus job needs no torch (seconds of start-up)

    data = torch.as_tensor(np.asarray(tokens), dtype=torch.int64)
    steps = data.numel() // batch_size
    return data[: steps * batch_size].view(batch_size, steps).t().contiguous()


def get_batch(source: "torch.Tensor", i: int, seq_len: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Inputs ``source[i:i+L]`` and next-token targets ``source[i+1:i+1+L]``, L clipped at the end."""
    seq_len = min(seq_len, len(source) - 1 - i)
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len]
