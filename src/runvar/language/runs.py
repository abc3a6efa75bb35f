"""Language-model runs on disk: train and save run directories; read a variant's runs back.

A run directory ``results/language/runs/{setup}/{variant}/seed{r}/`` holds
``predictions.npz`` (per test position: ``target_logprob`` float32 and ``argmax`` int32),
``run.json`` (seeds, bit flip, PPLs, execution) and ``history.csv`` (per-epoch training CE and
validation PPL), each written atomically.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import digest
from ..io import load_json, load_npz, save_json, save_npz, write_atomic
from ..metrics import BOOTSTRAP_RESAMPLES
from ..execution import check_alike, code_record, differences, run_names, seed_global_generators, unlike_message
from ..seeds import run_seeds, seed_shift
from .corpus import Corpus
from .metrics import language_variability
from .train import train_language_run

RUN_FILES = ("predictions.npz", "run.json", "history.csv")


def train_and_save(setup_name: str, setup: Mapping[str, Any], variant: str, run: int, corpus: Corpus,
                   out_dir: str | os.PathLike[str], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train run ``run`` of ``variant`` and write its run directory; returns the run record.
    The global generators are seeded from the OS's entropy first (a leak from them shows)."""
    import torch

    from ..execution import hardware, versions

    global_seed = seed_global_generators()
    seeds = run_seeds(variant, run, shift=seed_shift(setup))
    log(f"== {setup_name}/{variant} run {run}: seeds {seeds.as_dict()}")
    result = train_language_run(setup, corpus, seeds, log=log)
    out = Path(out_dir)
    record = {"setup": setup_name, "variant": variant, "run": run, "config_digest": digest(dict(setup)),
              **code_record(), "global_generators_seed": global_seed, "setup_resolved": dict(setup),
              "versions": versions(), "hardware": hardware(torch.device(result.record["execution"]["device"])),
              **result.record}

    def write_history(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(result.history[0]))
            writer.writeheader()
            writer.writerows(result.history)

    write_atomic(out / "history.csv", write_history)
    save_json(out / "run.json", record)
    save_npz(out / "predictions.npz", target_logprob=result.target_logprob, argmax=result.argmax)
    log(f"   test PPL {record['test_ppl']:.3f}, valid PPL {record['valid_ppl']:.3f}, "
        f"{record['wall_seconds']:.1f} s")
    return record


def load_prediction_stack(paths: Sequence[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(R, N) target log-probabilities and argmax tokens of the runs' ``predictions.npz``."""
    arrays = [load_npz(p, {"target_logprob": 1, "argmax": 1}) for p in paths]
    lengths = {len(a["target_logprob"]) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"runs have different numbers of test positions {sorted(lengths)}: {', '.join(map(str, paths))}")
    return np.stack([a["target_logprob"] for a in arrays]), np.stack([a["argmax"] for a in arrays])


def variant_metrics(variant: str, prediction_paths: Sequence[str | os.PathLike[str]],
                    record_paths: Sequence[str | os.PathLike[str]], resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = 0, allow_pooling: bool = False) -> dict[str, Any]:
    """The metrics row of one (setup, variant); :class:`runvar.runs.DeterminismError` when the
    runs of ``none`` are not bitwise identical (or their PPL SD is not exactly 0), and
    :class:`runvar.execution.ProvenanceError` when the runs are not alike (as the image rows,
    :func:`runvar.runs.variant_row`; ``allow_pooling`` pools them into ``pooled_unlike``)."""
    records = [load_json(p) for p in record_paths]
    run_dirs = [Path(p).parent for p in prediction_paths]
    row_name = f"The language metrics row of {records[0].get('setup') if records else '?'}/{variant}"
    logprob, argmax = load_prediction_stack(prediction_paths)
    identical = all(np.array_equal(lp.view(np.int32), logprob[0].view(np.int32)) for lp in logprob[1:]) and all(
        np.array_equal(a, argmax[0]) for a in argmax[1:])
    row = language_variability(logprob, argmax, resamples, seed)
    if variant == "none" and not (identical and row["ppl_sd"] == 0.0):
        from ..runs import DeterminismError  # imported here: runvar.runs costs seconds per job

        unlike = differences(records, run_names(run_dirs))
        raise DeterminismError(
            f"variant 'none' gave different predictions across {len(logprob)} runs with identical seeds "
            f"(PPL SD {row['ppl_sd']:.3g}): some randomness is not controlled by the per-source generators "
            f"(runs: {', '.join(str(p) for p in prediction_paths)})"
            + (f"\n{unlike_message(records, run_dirs, unlike, row_name)}" if unlike else ""))
    pooled = check_alike(records, run_dirs, allow_pooling, row_name)
    row.update(setup=records[0]["setup"], variant=variant, bitwise_identical=identical,
               devices=sorted({r["execution"]["device"] for r in records}),
               threads=sorted({r["execution"]["threads"] for r in records}),
               config_digests=sorted({r["config_digest"] for r in records}),
               corpus_checksums=sorted({r["corpus_checksum"] for r in records}),
               train_seconds_mean=sum(r["wall_seconds"] for r in records) / len(records))
    if pooled:
        row["pooled_unlike"] = pooled
    return row
