import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from runvar.config import ConfigError, load_schema, resolve_setup, validate_config
from runvar.io import CorruptFileError, load_prediction_stack, load_predictions, save_predictions

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config" / "schema.yaml")


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_default_config_is_valid_and_resolves_setups(config):
    resolved = validate_config(config, SCHEMA)
    setup = resolved["setups"]["cnn1d"]
    assert setup["epochs"] == config["setups"]["cnn1d"]["epochs"] != config["setup_defaults"]["epochs"]
    assert setup["batch_size"] == config["setup_defaults"]["batch_size"]
    assert setup["model"]["name"] == "cnn1d"
    assert setup["dataset_options"] == config["datasets"]["mnist1d"]


def test_setup_overrides_merge_deeply(config):
    config["setups"]["cnn1d"]["optimizer"] = {"lr": 0.5}
    setup = resolve_setup(config, "cnn1d")
    assert setup["optimizer"]["lr"] == 0.5
    assert setup["optimizer"]["momentum"] == config["setup_defaults"]["optimizer"]["momentum"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["setups"]["cnn1d"].update(epochz=3), r"setups.cnn1d: unknown key\(s\) \['epochz'\]; allowed keys: \[.*'epochs'"),
        (lambda c: c["setups"]["cnn1d"].update(epochs=0), r"setups.cnn1d.epochs: 0 is less than the minimum of 1"),
        (lambda c: c["setups"]["cnn1d"]["model"].update(name="resnet9000"), r"unknown model 'resnet9000'; valid models: \[.*'cnn1d'"),
        (lambda c: c["setups"]["cnn1d"].update(dataset="cifar11"), r"'cifar11' is not defined under datasets"),
        (lambda c: c["studies"]["sources"]["variants"].append("dropout"), r"unknown variant 'dropout'; valid variants: \['none'"),
        (lambda c: c["studies"]["sources"]["setups"].append("nosuch"), r"unknown setup 'nosuch'"),
        (lambda c: c["setup_defaults"]["execution"].update(device="tpu"), r"setup_defaults.execution.device: 'tpu' does not match"),
        (lambda c: c.update(studys={}), r"\(top level\): unknown key\(s\) \['studys'\]"),
    ],
)
def test_bad_config_names_key_value_and_allowed(config, mutate, message):
    bad = copy.deepcopy(config)
    mutate(bad)
    with pytest.raises(ConfigError, match=message):
        validate_config(bad, SCHEMA)


def test_predictions_round_trip(tmp_path):
    logits = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    labels = np.arange(20) % 4
    save_predictions(tmp_path / "p.npz", logits, labels)
    got_logits, got_labels = load_predictions(tmp_path / "p.npz")
    assert got_logits.tobytes() == logits.tobytes() and (got_labels == labels).all()
    assert list(tmp_path.iterdir()) == [tmp_path / "p.npz"]  # no temp file left behind


def test_truncated_predictions_give_clear_error(tmp_path):
    path = tmp_path / "predictions.npz"
    save_predictions(path, np.zeros((10, 3), np.float32), np.zeros(10, np.int64))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match=r"predictions.npz is truncated or corrupt.*rerun"):
        load_predictions(path)


def test_wrong_content_gives_clear_error(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, logits=np.zeros((3, 2), np.float32))
    with pytest.raises(CorruptFileError, match="lacks array 'labels'"):
        load_predictions(path)
    np.savez(path, logits=np.full((3, 2), np.nan, np.float32), labels=np.zeros(3, np.int64))
    with pytest.raises(CorruptFileError, match="NaN"):
        load_predictions(path)
    np.savez(path, logits=np.zeros((3, 2), np.float32), labels=np.array([0, 1, 5]))
    with pytest.raises(CorruptFileError, match=r"labels must lie in \[0, 2\)"):
        load_predictions(path)


def test_stack_rejects_mismatched_labels(tmp_path):
    save_predictions(tmp_path / "a.npz", np.zeros((3, 2), np.float32), np.array([0, 1, 1]))
    save_predictions(tmp_path / "b.npz", np.zeros((3, 2), np.float32), np.array([0, 1, 0]))
    with pytest.raises(CorruptFileError, match="labels differ"):
        load_prediction_stack([tmp_path / "a.npz", tmp_path / "b.npz"])
