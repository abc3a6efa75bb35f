"""A model defined here and a dataset in an .npz file, trained through snakemake; the runvar
command line on its predictions matches the workflow's metrics rows."""

import copy
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from torch import nn

from runvar.cli import main
from runvar.config import ConfigError, load_schema, validate_config
from runvar.models import SeededDropout
from runvar.seeds import trained_variant

REPO = Path(__file__).resolve().parents[1]
MODEL = f"{__name__}:TinyNet"  # tests.test_custom_model_workflow: importable from the repo root


class TinyNet(nn.Module):
    """A user's model: its dropout is runvar's SeededDropout, so the stochastic source drives it."""

    def __init__(self, input_shape, num_classes, hidden=16, dropout=0.3):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), hidden), nn.ReLU(),
                                  SeededDropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.body(x)


def write_blobs(path, n_train=240, n_test=90, classes=3, seed=0, **override):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(classes, 1, 12))
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = rng.integers(0, classes, n)
        arrays[f"x_{split}"] = (centres[y] + rng.normal(size=(n, 1, 12))).astype(np.float32)
        arrays[f"y_{split}"] = y
    arrays.update(override)
    np.savez(path, **arrays)


def config_for(data_path):
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    config["setups"] = {"mine": {"dataset": {"npz": str(data_path)},
                                 "model": {"import": MODEL, "kwargs": {"hidden": 12, "dropout": 0.3}}}}
    config["studies"]["sources"].update(setups=["mine"], variants=["none", "init", "stochastic"])
    config["setup_defaults"]["epochs"] = 3
    return config


@pytest.mark.parametrize("change, message", [
    ({"model": {"import": "no_such_package.models:Net"}}, "cannot import 'no_such_package.models'"),
    ({"model": {"import": f"{__name__}:Missing"}}, "has no callable 'Missing'"),
    ({"dataset": {"npz": "missing.npz"}}, "setups.mine.dataset.npz: missing.npz does not exist"),
    ({"dataset": "BAD_LABELS"}, "y_test has label 7, never seen in y_train"),
    ({"dataset": "BAD_DTYPE"}, "x_train must be float32 of shape (N, channels, ...), got int64"),
])
def test_bad_models_and_datasets_are_named_at_config_time(tmp_path, change, message):
    schema = load_schema(REPO / "config" / "schema.yaml")
    write_blobs(tmp_path / "ok.npz")
    config = config_for(tmp_path / "ok.npz")
    validate_config(config, schema)  # the good one passes
    bad = copy.deepcopy(config)
    if change.get("dataset") == "BAD_LABELS":
        write_blobs(tmp_path / "bad.npz", y_test=np.full(90, 7))
        change = {"dataset": {"npz": str(tmp_path / "bad.npz")}}
    elif change.get("dataset") == "BAD_DTYPE":
        write_blobs(tmp_path / "bad.npz", x_train=np.zeros((240, 1, 12), dtype=np.int64))
        change = {"dataset": {"npz": str(tmp_path / "bad.npz")}}
    bad["setups"]["mine"].update(change)
    with pytest.raises(ConfigError, match="invalid config") as err:
        validate_config(bad, schema)
    assert message in str(err.value)



def test_dataset_file_is_read_once_per_version(tmp_path, monkeypatch):
    """The config is read by every snakemake invocation: a dataset file's checksum is computed
    once, kept by (path, size, mtime), computed again when the file changes, and still checked
    when the data are prepared."""
    from runvar.data import npz_files

    monkeypatch.setenv("RUNVAR_CACHE_DIR", str(tmp_path / "cache"))
    reads = []
    read = npz_files.read_npz_dataset
    monkeypatch.setattr(npz_files, "read_npz_dataset", lambda path: reads.append(path) or read(path))
    schema = load_schema(REPO / "config" / "schema.yaml")
    write_blobs(tmp_path / "data.npz")
    config = config_for(tmp_path / "data.npz")
    checksums = [validate_config(config, schema)["setups"]["mine"]["dataset_options"]["checksum"]
                 for _ in range(3)]
    assert len(reads) == 1 and len(set(checksums)) == 1
    write_blobs(tmp_path / "data.npz", seed=1)
    os.utime(tmp_path / "data.npz", ns=(1, 1))  # a new version, whatever the clock's resolution
    changed = validate_config(config, schema)["setups"]["mine"]["dataset_options"]["checksum"]
    assert len(reads) == 2 and changed != checksums[0]
    with pytest.raises(ValueError, match="changed since the config was read"):
        npz_files.prepare_npz(str(tmp_path / "data.npz"), checksums[0])

def cli_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.workflow
def test_custom_model_and_npz_dataset_through_snakemake(tmp_path, capsys, run_snakemake):
    workdir = tmp_path / "study"
    workdir.mkdir()
    write_blobs(workdir / "blobs.npz")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config_for(workdir / "blobs.npz")))
    targets = [f"results/metrics/mine/{v}.json" for v in ("none", "init", "stochastic")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = run_snakemake(workdir, "--cores", "1", *targets, env=env, check=False)
    assert out.returncode == 0, out.stderr[-5000:]

    # run 1 of init and of stochastic is none's run 1 (runvar.seeds.trained_variant)
    runs = {v: [workdir / f"results/runs/mine/{trained_variant(v, r, 'cpu')}/seed{r}" for r in (1, 2, 3)]
            for v in ("none", "init", "stochastic")}
    assert runs["init"][0] == runs["none"][0] and runs["init"][1].parent.name == "init"
    record = json.loads((runs["init"][1] / "run.json").read_text())
    assert record["setup_resolved"]["model"]["import"] == MODEL
    assert record["setup_resolved"]["dataset_options"]["checksum"] == record["dataset_checksum"]
    rows = {v: json.loads((workdir / t).read_text()) for v, t in zip(runs, targets)}
    assert rows["none"]["bitwise_identical"] and rows["none"]["accuracy_sd"] == 0
    # dropout masks come from the stochastic source only: varying it alone changes the runs
    assert not rows["stochastic"]["bitwise_identical"] and rows["stochastic"]["pairwise_disagreement"] > 0
    assert rows["init"]["accuracy_mean"] > 60  # the blobs are learnable

    plateau = workdir / "results/plateau/mine.json"  # the recipe's plateau check, carried into each row
    assert rows["init"]["plateau_recipe"] == "mine"
    for variant, row in rows.items():
        files = [str(d / "predictions.npz") for d in runs[variant]]
        cli = cli_json(capsys, "metrics", *files, "--format", "json", "--resamples", "1000", "--variant", variant,
                       "--plateau", str(plateau))
        assert set(cli) == set(row)
        for key, value in row.items():
            if isinstance(value, float):
                assert cli[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            elif key not in ("per_run", "pairs"):
                assert cli[key] == value, key
        np.testing.assert_allclose(cli["pairs"]["pairwise_spearman"], row["pairs"]["pairwise_spearman"], rtol=1e-9)

    files = {v: [str(d / "predictions.npz") for d in runs[v]] for v in runs}
    result = cli_json(capsys, "compare", "--a", *files["init"], "--b", *files["stochastic"], "--format", "json",
                      "--resamples", "500")
    assert result["a"]["accuracy_mean"] == pytest.approx(rows["init"]["accuracy_mean"], rel=1e-12)
    assert result["b"]["disagreement_within"] == pytest.approx(rows["stochastic"]["pairwise_disagreement"], rel=1e-12)
    budget = cli_json(capsys, "budget", "--row", str(workdir / targets[1]), "--format", "json")
    assert budget["runs"] == 3 and budget["runs_needed"] >= 2
