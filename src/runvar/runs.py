"""Runs on disk: train and save one run directory; read a variant's runs into metrics.

A run directory ``results/runs/{setup}/{variant}/seed{r}/`` holds ``predictions.npz`` (test
logits, labels, and snapshot logits for cyclic schedules), ``run.json``, ``history.csv`` and
``model.pt`` (``{"state_dict", "snapshots"}``), each written atomically. While training,
``checkpoint.pt`` holds the resumable state; it is removed once the run is complete.
:func:`load_trained_models` rebuilds a finished run's final and snapshot models from ``model.pt``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import digest
from .data import Dataset
from .execution import (
    WORKFLOW_ADVICE, PoolingAdvice, check_alike, code_record, configure, differences, execution_of, resolve_device,
    run_names, seed_global_generators, unlike_message,
)
from .io import load_json, load_prediction_stack, save_json, save_predictions, write_atomic
from .metrics import BOOTSTRAP_RESAMPLES, all_identical, variability
from .models import build_from_block
from .seeds import RunSeeds, run_seeds, seed_shift
from .train import RunResult, can_stack, train_run, train_runs

RUN_FILES = ("predictions.npz", "run.json", "history.csv", "model.pt")


class DeterminismError(RuntimeError):
    """Runs that must be bitwise identical (variant ``none``) are not: the harness leaks randomness."""


def train_and_save(
    setup_name: str,
    setup: Mapping[str, Any],
    variant: str,
    run: int,
    data: Dataset,
    out_dir: str | os.PathLike[str],
    log: Callable[[str], None] = print,
    start: dict[str, Any] | None = None,
    states: OnsetStates | None = None,
) -> dict[str, Any]:
    """Train run ``run`` of ``variant`` and write its run directory; returns the run record.
    The global generators are seeded from the OS's entropy first (a leak from them shows).
    ``start`` and ``states``: as for :func:`train_and_save_runs`."""
    global_seed = seed_global_generators()
    seeds = _seeds_logged(setup_name, setup, variant, run, log)
    out = Path(out_dir)
    checkpoint = out / "checkpoint.pt"
    result = train_run(dict(setup), data, seeds, log=log, checkpoint=checkpoint, start=start,
                       save_states_at=states.epochs if states else ())
    record = _save_run(setup_name, setup, variant, run, result, out, global_seed, states)
    checkpoint.unlink(missing_ok=True)
    return record


@dataclass(frozen=True)
class OnsetStates:
    """Where the `none` run 1 keeps its training states for onset runs, and at which epochs."""

    path: Path
    epochs: tuple[int, ...]


def load_onset_start(path: str | os.PathLike[str], epoch: int) -> dict[str, Any]:
    """The state at the end of ``epoch`` in a `none` run 1's states file (:class:`OnsetStates`)."""
    states = torch.load(path, map_location="cpu", weights_only=False)
    if epoch not in states:
        raise ValueError(f"{path} holds the states at the ends of epochs {sorted(states)}, not of epoch {epoch}: "
                         "rerun the `none` run 1 of the onset's base setup")
    return states[epoch]


def save_onset_start(
    setup_name: str,
    setup: Mapping[str, Any],
    epoch: int,
    data: Dataset,
    path: str | os.PathLike[str],
    reference: str | os.PathLike[str],
    log: Callable[[str], None] = print,
) -> None:
    """Train the `none` run 1 of ``setup`` again, keeping its training state at the end of
    ``epoch`` in ``path`` (read by :func:`load_onset_start`), where onset runs of switch-on epoch
    ``epoch`` start. The run is trained whole (its schedule spans every epoch), and its test
    predictions must be bitwise those of the `none` run 1 in ``reference`` (its
    predictions.npz): the state is then the one that run passed through, else
    :class:`DeterminismError`."""
    seed_global_generators()
    seeds = _seeds_logged(setup_name, setup, "none", 1, log)
    result = train_run(dict(setup), data, seeds, log=log, save_states_at=(epoch,))
    expected, _ = load_prediction_stack([reference])
    if result.logits.tobytes() != expected[0].tobytes():
        raise DeterminismError(
            f"{setup_name}/none run 1 trained again for its state at epoch {epoch} gave other predictions than "
            f"{reference}: some randomness is not controlled by the per-source generators, or {reference} was "
            "trained by other code or on other hardware")
    write_atomic(path, lambda tmp: torch.save(result.states, tmp))


def train_and_save_runs(
    setup_name: str,
    setup: Mapping[str, Any],
    variant: str,
    runs: Sequence[int],
    data: Dataset,
    out_dirs: Sequence[str | os.PathLike[str]],
    log: Callable[[str], None] = print,
    stack: int = 1,
    start: dict[str, Any] | None = None,
    states: OnsetStates | None = None,
) -> list[dict[str, Any]]:
    """Train runs ``runs`` of ``variant`` into ``out_dirs``: up to ``stack`` at a time as one
    stacked model where :func:`~runvar.train.can_stack` allows it (bitwise the same runs), else
    one at a time with checkpoints (:func:`train_and_save`). Each stack is saved as it ends.
    The global generators are seeded from the OS's entropy first (a leak from them shows).
    Onset runs start from ``start`` (:func:`load_onset_start`); the `none` run 1 writes its
    training states at the epochs of ``states`` to its path (empty: no onset starts there)."""
    if len(runs) != len(out_dirs):
        raise ValueError(f"{len(runs)} runs but {len(out_dirs)} run directories")
    if stack <= 1 or not can_stack(dict(setup)):
        return [train_and_save(setup_name, setup, variant, run, data, out, log, start, states)
                for run, out in zip(runs, out_dirs)]
    global_seed = seed_global_generators()
    seeds = [_seeds_logged(setup_name, setup, variant, run, log) for run in runs]
    results = train_runs(dict(setup), data, seeds, log=log, stack=stack, start=start,
                         save_states_at=states.epochs if states else ())
    # a stack's runs are saved as the stack ends, before the next one trains
    return [_save_run(setup_name, setup, variant, run, result, Path(out), global_seed, states)
            for run, out, result in zip(runs, out_dirs, results)]


def setup_run_seeds(setup: Mapping[str, Any], variant: str, run: int) -> RunSeeds:
    """The seeds of run ``run`` of ``variant`` of ``setup`` as the workflow trains it: from the
    setup's onset epoch, shifted by its ``seed_base`` and the config's ``seeds.offset``."""
    return run_seeds(variant, run, int(setup.get("onset_epoch", 0)), seed_shift(setup))


def _seeds_logged(setup_name: str, setup: Mapping[str, Any], variant: str, run: int,
                  log: Callable[[str], None]) -> RunSeeds:
    seeds = setup_run_seeds(setup, variant, run)
    log(f"== {setup_name}/{variant} run {run}: seeds {seeds.as_dict()}")
    return seeds


def _save_run(setup_name: str, setup: Mapping[str, Any], variant: str, run: int, result: RunResult,
              out: Path, global_seed: int, states: OnsetStates | None = None) -> dict[str, Any]:
    record = {
        "setup": setup_name,
        "variant": variant,
        "run": run,
        "config_digest": digest(setup),
        **code_record(),
        "global_generators_seed": global_seed,
        "setup_resolved": setup,
        **result.record,
    }
    weights = {"state_dict": result.state_dict, "snapshots": result.snapshot_states}
    if states is not None and run == 1:  # the `none` run 1 (train_runs refuses any other)
        write_atomic(states.path, lambda tmp: torch.save(result.states, tmp))
    write_atomic(out / "model.pt", lambda tmp: torch.save(weights, tmp))
    _write_history(out / "history.csv", result.history)
    save_json(out / "run.json", record)
    save_predictions(out / "predictions.npz", result.logits, result.labels, result.snapshot_logits)
    return record


def _write_history(path: Path, history: Sequence[Mapping[str, float]]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)

    write_atomic(path, write)


def variant_metrics(
    variant: str,
    prediction_paths: Sequence[str | os.PathLike[str]],
    record_paths: Sequence[str | os.PathLike[str]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    snapshot_of: str | None = None,
    stack: tuple[np.ndarray, np.ndarray] | None = None,
    allow_pooling: bool = False,
) -> dict[str, Any]:
    """The metrics row of one (setup, variant) from its runs' files (see :func:`variant_row`).

    ``stack`` gives the runs' (logits, labels) already computed from the prediction files
    (e.g. snapshot ensembles); by default, each file's final logits. With ``snapshot_of`` (a
    base setup) the row is (``snapshot_of``, ``variant``), with ``trained_as`` naming the runs'
    own setup and variant (SD Table 6's snapshot rows).
    """
    logits, labels = stack if stack is not None else load_prediction_stack(list(prediction_paths))
    records = [load_json(p) for p in record_paths]
    return variant_row(variant, logits, labels, records, prediction_paths, resamples, seed, snapshot_of,
                       allow_pooling)


def variant_row(
    variant: str,
    logits: np.ndarray,
    labels: np.ndarray,
    records: Sequence[Mapping[str, Any]],
    prediction_paths: Sequence[str | os.PathLike[str]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    snapshot_of: str | None = None,
    allow_pooling: bool = False,
    advice: PoolingAdvice = WORKFLOW_ADVICE,
) -> dict[str, Any]:
    """The metrics row of one (setup, variant): :func:`runvar.metrics.variability` of its runs'
    (R, N, C) logits with what their run records say about how they ran.

    For ``none`` every run must be bitwise identical, else :class:`DeterminismError`. Runs that
    are not alike (:func:`runvar.execution.check_alike`: config, code, libraries, threads, CPU
    kernels) are refused with :class:`runvar.execution.ProvenanceError`, unless
    ``allow_pooling`` (the config's ``provenance.allow_pooling``): then the row pools them and
    says so in ``pooled_unlike``. ``advice``: what a refusal advises (the workflow's, or the
    command line's, :class:`runvar.execution.PoolingAdvice`).
    """
    identical = all_identical(logits)
    run_dirs = [Path(p).parent for p in prediction_paths]
    row_name = f"The metrics row of {records[0].get('setup') if records else '?'}/{variant}"
    if variant == "none" and not identical:
        unlike = differences(records, run_names(run_dirs))
        raise DeterminismError(
            f"variant 'none' gave different predictions across {len(logits)} runs with identical "
            "seeds: some randomness is not controlled by the per-source generators, or the runs "
            f"ran on different hardware or software. {provenance_differences(records)} "
            f"(runs: {', '.join(str(p) for p in prediction_paths)})"
            + (f"\n{unlike_message(records, run_dirs, unlike, row_name, advice)}" if unlike else "")
        )
    pooled = check_alike(records, run_dirs, allow_pooling, row_name, advice)
    row = variability(logits, labels, resamples=resamples, seed=seed)
    row.update(
        setup=records[0]["setup"] if records else None,
        variant=variant,
        bitwise_identical=identical,
        cudnn_effective=any(r["execution"]["cudnn_effective"] for r in records),
        devices=sorted({r["execution"]["device"] for r in records}),
        threads=sorted({r["execution"]["threads"] for r in records}),
        config_digests=sorted({r["config_digest"] for r in records}),
        train_seconds_mean=sum(r["wall_seconds"] for r in records) / len(records),
    )
    if pooled:
        row["pooled_unlike"] = pooled
    trained = [r["variant"] for r in records]  # runvar.seeds.trained_variant, run by run
    if snapshot_of is not None:
        row.update(setup=snapshot_of, trained_as=f"{row['setup']}/{sorted(set(trained))[0]}")
        return row
    later = set(trained[1:]) or set(trained)
    if later != {variant}:  # a cuDNN variant on CPU reuses its twin's runs
        row["trained_as"] = sorted(later)[0]
    if trained and trained[0] == "none" != variant and "none" not in later:  # every seed 1: the none run
        row["run1_from"] = "none"
    return row


def provenance_differences(records: Sequence[Mapping[str, Any]]) -> str:
    """The hardware, software and execution entries in which the run records differ, as a
    sentence (bits depend on the CPU kernels, GPU, driver, library versions and threads).

    >>> provenance_differences([{"hardware": {"cpu_model": "A"}}, {"hardware": {"cpu_model": "B"}}])
    "Their records differ in hardware.cpu_model: 'A' / 'B'."
    """
    found = []
    for section in ("hardware", "versions", "execution"):
        keys = sorted({key for r in records for key in (r.get(section) or {})})
        for key in keys:
            values = list(dict.fromkeys(repr((r.get(section) or {}).get(key)) for r in records))
            if len(values) > 1:
                found.append(f"{section}.{key}: {' / '.join(values)}")
    if not found:
        return "Their records show no hardware, software or execution difference."
    return "Their records differ in " + "; ".join(found) + "."


def load_metrics_rows(paths: Sequence[str | os.PathLike[str]]) -> dict[str, dict]:
    """Metrics rows keyed by variant, in the order given."""
    rows = {}
    for path in paths:
        row = load_json(path)
        rows[row["variant"]] = row
    return rows


def load_trained_models(
    setup: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int,
    model_path: str | os.PathLike[str], device: torch.device | str = "cpu",
) -> tuple[nn.Module, list[nn.Module]]:
    """The final model and the snapshot models of a run, rebuilt from its ``model.pt``."""
    saved = torch.load(model_path, map_location="cpu", weights_only=True)
    def rebuild(state: Mapping[str, torch.Tensor]) -> nn.Module:
        model = build_from_block(setup["model"], input_shape, num_classes, 1)
        model.load_state_dict(state)
        return model.to(device).eval()

    return rebuild(saved["state_dict"]), [rebuild(s) for s in saved.get("snapshots", [])]


def execution_device(setup: Mapping[str, Any]) -> torch.device:
    """Set the setup's execution mode (threads, deterministic kernels) for evaluation; its device."""
    execution = execution_of(setup)
    device = resolve_device(execution["device"])
    configure(device, int(execution["threads"]), False)
    return device
