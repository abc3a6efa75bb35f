"""SD Table 6's snapshot rows: snapshot ensembles of `all` runs of {setup}.cycles{N}."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from runvar.config import ConfigError, load_schema, validate_config
from runvar.io import save_json, save_predictions
from runvar.metrics import variability
from runvar.reduction.ensembles import snapshot_ensemble_stack
from runvar.runs import variant_metrics
from runvar.sources.plan import plan
from runvar.studies import plan_studies

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config" / "schema.yaml")


def config_file(name: str) -> dict:
    return validate_config(yaml.safe_load((REPO / "config" / name).read_text()), SCHEMA)


def study_full_raw() -> dict:
    """config/full.yaml as `make study-full` runs it: over config/config.yaml, which it extends."""
    from runvar.config.files import read_config_file

    return read_config_file(REPO / "config" / "full.yaml")


def test_paper_architectures_have_a_snapshot_row_per_setup():
    config = config_file("paper.yaml")
    study = plan(config)
    rows = study.detail["snapshots"]["architectures"]
    assert list(rows) == config["studies"]["architectures"]["setups"]
    for base, spec in rows.items():
        assert spec == {"setup": f"{base}.cycles5", "variant": "all", "runs": 100}
        derived = study.setups[spec["setup"]]
        assert derived["schedule"]["cycles"] == 5 and derived["epochs"] == 500
        assert study.runs[f"{base}.cycles5/all"] == 100


def test_study_full_snapshot_row_reuses_the_ensembles_runs():
    config = validate_config(study_full_raw(), SCHEMA)
    plans = plan_studies(config)
    rows = plans["sources"].detail["snapshots"]["architectures"]
    assert rows == {"cnn1d": {"setup": "cnn1d.epochs320.cycles5", "variant": "all", "runs": 10}}
    # the same derived setup (and runs) as the ensembles study's snapshot runs: nothing new to train
    snapshot = plans["sources"].setups["cnn1d.epochs320.cycles5"]
    assert snapshot == plans["reduction"].setups["cnn1d.epochs320.cycles5"]
    assert (snapshot["epochs"], snapshot["schedule"]["cycles"]) == (320, 5)


def test_a_snapshot_row_without_epochs_keeps_its_setups_epochs_and_with_a_bad_count_is_refused():
    raw = study_full_raw()
    del raw["studies"]["architectures"]["snapshot"]["epochs"]
    del raw["studies"]["ensembles"]["epochs"]
    plans = plan_studies(validate_config(raw, SCHEMA))
    assert plans["sources"].detail["snapshots"]["architectures"]["cnn1d"]["setup"] == "cnn1d.cycles5"
    assert plans["sources"].setups["cnn1d.cycles5"]["epochs"] == 160
    raw["studies"]["ensembles"]["epochs"] = 322
    with pytest.raises(ConfigError, match=r"epochs \(322\) must be a multiple of cycles \(5\)"):
        plan_studies(validate_config(raw, SCHEMA))
    assert plans["reduction"].detail["ensembles"]["cnn1d"]["snapshot"]["runs"] == raw["studies"]["ensembles"]["runs"] == 40


@pytest.mark.parametrize("kept", ["ensembles", "architectures"])
def test_snapshot_epochs_set_in_one_study_are_the_other_studys_too(kept):
    """One key set, the other left out: both studies ensemble the one 320-epoch setup (before,
    the study that lacked the key trained a second, 160-epoch snapshot setup without a word)."""
    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if kept == "ensembles":
        del raw["studies"]["architectures"]["snapshot"]["epochs"]
    else:
        del raw["studies"]["ensembles"]["epochs"]
    plans = plan_studies(validate_config(raw, SCHEMA))
    assert plans["sources"].detail["snapshots"]["architectures"]["cnn1d"]["setup"] == "cnn1d.epochs320.cycles5"
    assert plans["reduction"].detail["ensembles"]["cnn1d"]["snapshot"]["setup"] == "cnn1d.epochs320.cycles5"
    assert "cnn1d.cycles5" not in plans["sources"].setups and "cnn1d.cycles5" not in plans["reduction"].setups


def test_snapshot_epochs_set_twice_differently_are_refused_naming_both_keys():
    raw = study_full_raw()
    raw["studies"]["architectures"]["snapshot"]["epochs"] = 160
    with pytest.raises(ConfigError, match=r"studies.ensembles.epochs = 320, studies.architectures.snapshot.epochs = 160: "
                                          r"the snapshot runs of cnn1d at 5 cycles are one setup"):
        plan_studies(validate_config(raw, SCHEMA))
    raw["studies"]["architectures"]["snapshot"]["cycles"] = 4   # another setup: no conflict
    plans = plan_studies(validate_config(raw, SCHEMA))
    assert plans["sources"].detail["snapshots"]["architectures"]["cnn1d"]["setup"] == "cnn1d.cycles4"


def test_snapshot_setups_must_be_in_the_block():
    raw = study_full_raw()
    raw["studies"]["architectures"]["snapshot"]["setups"] = ["linear"]
    with pytest.raises(ConfigError, match=r"studies.architectures.snapshot.setups: \['linear'\] not in the block's setups"):
        plan(validate_config(raw, SCHEMA))


def test_snapshot_row_is_the_variability_of_snapshot_ensembles(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=50)
    predictions, records, ensembles = [], [], []
    for run in range(1, 4):
        snapshots = rng.normal(size=(5, 50, 4)).astype(np.float32)
        path = tmp_path / f"seed{run}.npz"
        save_predictions(path, snapshots[-1], labels, snapshots)
        predictions.append(path)
        ensembles.append(snapshots.mean(axis=0, dtype=np.float64).astype(np.float32))
        record = tmp_path / f"seed{run}.json"
        save_json(record, {"setup": "net.cycles5", "variant": "all", "config_digest": "d", "code_digest": "c", "wall_seconds": 1.0,
                           "execution": {"cudnn_effective": False, "device": "cpu", "threads": 1}})
        records.append(record)
    row = variant_metrics("snapshot", predictions, records, resamples=200, seed=0, snapshot_of="net",
                          stack=snapshot_ensemble_stack(predictions))
    expected = variability(np.stack(ensembles), labels, resamples=200, seed=0)
    assert row["setup"] == "net" and row["variant"] == "snapshot" and row["trained_as"] == "net.cycles5/all"
    for key in ("accuracy_sd", "cross_entropy_sd", "pairwise_disagreement"):
        assert row[key] == pytest.approx(expected[key])
    final = variant_metrics("all", predictions, records, resamples=200, seed=0)
    assert final["accuracy_sd"] != pytest.approx(row["accuracy_sd"])  # not the last snapshot's
