import copy
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from runvar.config import DATASET_SHAPES, ConfigError, load_schema, resolve_setup, validate_config
from runvar.data import DATASETS
from runvar.io import (
    CorruptFileError,
    load_prediction_stack,
    load_predictions,
    save_json,
    save_predictions,
    write_atomic,
)

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


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_permissions_of_the_umask(tmp_path, umask, mode):
    """As a plain open(path, "w") would: readable by the group on a shared cluster."""
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "out.txt", lambda tmp: tmp.write_text("result\n"))
        save_json(tmp_path / "out.json", {"a": 1})
        save_predictions(tmp_path / "p.npz", np.zeros((2, 2), np.float32), np.zeros(2, np.int64))
        open(tmp_path / "plain.txt", "w").close()
    finally:
        os.umask(old)
    assert os.umask(old) == old  # the umask is what it was before
    for name in ("out.txt", "out.json", "p.npz", "plain.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.txt", "p.npz", "plain.txt"]


def test_failed_write_leaves_nothing(tmp_path):
    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        write_atomic(tmp_path / "out.txt", fail)
    assert list(tmp_path.iterdir()) == []


def test_misspelt_model_option_names_setup_option_and_accepted_options(config):
    config["setups"]["cnn1d"]["model"]["chanels"] = 32
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert (
        "setups.cnn1d.model: unknown option 'chanels' for model 'cnn1d'; "
        "accepted options: channels, conv, dropout, layers"
    ) in str(err.value)


def test_options_of_a_model_without_options(config):
    config["setups"]["linear"] = {"model": {"name": "linear", "hidden": [8]}}
    with pytest.raises(ConfigError, match=r"setups.linear.model: unknown option 'hidden' for model 'linear'; accepted options: \(none\)"):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize(
    "setup, option, value, message",
    [
        ("cnn1d", "channels", "wide", r"setups.cnn1d.model: model 'cnn1d' rejects option channels='wide' for dataset mnist1d \(input \(1, 40\), 10 classes\): .*channels"),
        ("cnn1d", "layers", 2.5, r"setups.cnn1d.model: model 'cnn1d' rejects option layers=2.5 .*'float' object cannot be interpreted as an integer"),
        ("cnn1d", "dropout", 1.5, r"setups.cnn1d.model: model 'cnn1d' rejects option dropout=1.5 .*dropout probability must be in \[0, 1\)"),
        ("mlp512", "hidden", 512, r"setups.mlp512.model: model 'mlp' with options \{'hidden': 512\} cannot be built .*not iterable"),
    ],
)
def test_model_option_of_wrong_type_or_value_is_a_config_error(config, setup, option, value, message):
    config["setups"].setdefault("mlp512", {"model": {"name": "mlp"}})
    config["setups"][setup]["model"][option] = value
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_model_that_does_not_fit_its_dataset_is_a_config_error(config):
    config["datasets"]["cifar10"] = {"root": "/nonexistent", "download": True}  # never read
    config["setups"]["cnn1d"]["dataset"] = "cifar10"
    with pytest.raises(ConfigError, match=r"setups.cnn1d.model: model 'cnn1d' with options .* cannot be built for dataset cifar10 \(input \(3, 32, 32\), 10 classes\): cnn1d needs input shape"):
        validate_config(config, SCHEMA)


def test_model_of_an_unregistered_dataset_is_only_checked_by_name(config):
    config["datasets"]["custom"] = {}
    config["setups"]["cnn1d"]["dataset"] = "custom"
    config["setups"]["cnn1d"]["model"]["channels"] = "wide"  # not built: the shape is unknown
    validate_config(config, SCHEMA)
    config["setups"]["cnn1d"]["model"]["chanels"] = 8
    with pytest.raises(ConfigError, match="unknown option 'chanels'"):
        validate_config(config, SCHEMA)


def test_every_registered_dataset_has_a_known_shape():
    assert set(DATASET_SHAPES) == set(DATASETS)


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "gpu.yaml", "convergence.yaml"])
def test_shipped_configs_validate(name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    resolved = validate_config(config, SCHEMA)
    assert set(resolved["setups"]) == set(config["setups"])


def test_full_config_adds_the_training_length_grids_to_the_quick_one():
    """`make study` holds every study; `make study-full` (config/full.yaml, which extends
    config/config.yaml) adds only the training-length grids and more onset epochs."""
    from runvar.config.files import read_config_file
    from runvar.studies import plan_studies

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    quick_resolved = validate_config(config, SCHEMA)
    quick = plan_studies(quick_resolved)
    assert {"sources", "depth", "architectures", "selection", "ensembles", "tta", "onset", "cka",
            "ablations", "language"} <= set(config["studies"]) and "synthetic" in config
    assert "shuffle+augment+cudnn" in config["studies"]["sources"]["variants"]
    # stand-ins without crops; snapshot ensembles and the onset train derived cnn1d setups
    assert quick["selection"].setups["sel.lenet.k8"]["augment"]["crop_padding"] == 0
    assert quick_resolved["setups"]["mlp512"]["augment"]["crop_padding"] == 0
    assert quick["reduction"].detail["ensembles"]["cnn1d"]["snapshot"]["setup"] == "cnn1d.epochs320.cycles5"
    assert {"cnn1d.epochs320.cycles5", "cnn1d.onset40"} <= set(quick["reduction"].setups)
    assert "ablation_epochs" not in quick["reduction"].detail
    full = validate_config(read_config_file(REPO / "config" / "full.yaml"), SCHEMA)
    plans = plan_studies(full)
    assert full["setups"] == quick_resolved["setups"]
    assert full["studies"]["selection"] == quick_resolved["studies"]["selection"]
    assert {"cnn1d.onset20", "cnn1d.onset80", "cnn1d.epochs320", "cnn1d.lr0.05"} <= set(plans["reduction"].setups)
    assert "results/tables/selection_accuracy.md" in plans["selection"].targets


@pytest.mark.slow  # a fresh process importing torch: ~2.5 s
def test_checking_paper_models_stays_cheap():
    """CIFAR ResNets are built on the meta device without their random init, whose meta kernels
    would import torch._dynamo and sympy (3 s of every snakemake start-up)."""
    code = (
        "import sys, yaml\n"
        "from runvar.config import load_schema, validate_config\n"
        f"validate_config(yaml.safe_load(open({str(REPO / 'config/paper.yaml')!r})), "
        f"load_schema({str(REPO / 'config/schema.yaml')!r}))\n"
        "print(sorted(m for m in ('sympy', 'torch._dynamo', 'torchvision') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


MODEL_FORMS = 'allowed: {name: <a registered model>, <its options>...} or {import: "package.module:factory", kwargs: {...}}'


@pytest.mark.parametrize(
    "model, problem",
    [
        ({"import": 3}, "setups.cnn1d.model.import: 3 is not of type 'string'"),
        ({"channels": 8}, "setups.cnn1d.model: needs exactly one of the keys ['import', 'name'], got none in {'channels': 8}"),
        ({"name": "cnn1d", "import": "pkg.mod:f"}, "setups.cnn1d.model: needs exactly one of the keys ['import', 'name'], got ['import', 'name'] in {'name': 'cnn1d', 'import': 'pkg.mod:f'}"),
        ({"import": "pkg.mod:f", "options": {}}, "setups.cnn1d.model: unknown key(s) ['options']; allowed keys: ['import', 'kwargs']"),
        ("cnn1d", "setups.cnn1d.model: 'cnn1d' is not of type 'object'"),
    ],
)
def test_malformed_model_block_names_setup_problem_and_both_forms(config, model, problem):
    config["setups"]["cnn1d"]["model"] = model
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert f"{problem}; {MODEL_FORMS}" in str(err.value)
