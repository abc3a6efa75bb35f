"""SD Table 7 row by row: explicit (variant, lr, epochs, N) rows, the grid form still works."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from runvar.config import ConfigError, load_schema, validate_config
from runvar.config.files import read_config_file
from runvar.io import save_predictions
from runvar.metrics import variability
from runvar.reduction.rows import row_table_frame
from runvar.studies import plan_studies

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config" / "schema.yaml")

PUBLISHED = (
    [("all", 0.4, e, 20) for e in (50, 100, 250)] + [("all", 0.4, 500, 100), ("all", 0.4, 2000, 20)]
    + [(v, lr, e, 100) for v in ("shuffle", "init")
       for lr, e in ((0.4, 500), (0.2, 500), (0.2, 1000), (0.1, 500), (0.1, 2000))]
    + [("all", 0.4, 200, 100), ("bitflip", 0.4, 200, 100), ("snapshot-all", 0.4, 200, 100)]
)


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def lr_epochs(config: dict) -> list[dict]:
    return plan_studies(validate_config(config, SCHEMA))["reduction"].detail["ablation_lr_epochs"]["resnet14"]


def test_paper_config_has_the_published_rows():
    rows = lr_epochs(load("paper.yaml"))
    assert [(r["label"].split("/")[0], r["lr"], r["epochs"], r["runs"]) for r in rows] == PUBLISHED
    by_label = {r["label"]: r for r in rows}
    assert by_label["all/0.4/500"]["setup"] == "resnet14"  # the base recipe: the sources study's runs
    assert by_label["shuffle/0.2/1000"]["setup"] == "resnet14.lr0.2.epochs1000"
    snapshot = by_label["snapshot-all/0.4/200"]
    assert snapshot["setup"] == "resnet14.epochs200.cycles5" and snapshot["variant"] == "all" and snapshot["snapshot"]
    # rows the old grid trained and the paper does not have are gone
    assert "all/0.1/2000" not in by_label and "shuffle/0.4/2000" not in by_label


def test_full_config_grid_keeps_working():
    config = read_config_file(REPO / "config" / "full.yaml")  # it extends config.yaml
    rows = plan_studies(validate_config(config, SCHEMA))["reduction"].detail["ablation_lr_epochs"]["cnn1d"]
    assert [(r["label"], r["runs"]) for r in rows] == [
        ("all/0.05/160", 10), ("all/0.05/320", 10), ("all/0.1/160", 10), ("all/0.1/320", 10),
        ("snapshot-all/0.05/160", 10), ("snapshot-all/0.05/320", 10), ("snapshot-all/0.1/160", 10),
        ("snapshot-all/0.1/320", 10)]
    assert rows[2]["setup"] == "cnn1d" and rows[6]["setup"] == "cnn1d.cycles5"
    assert [r["snapshot"] for r in rows] == [False] * 4 + [True] * 4


@pytest.mark.parametrize("block, message", [
    ({"rows": [{"variant": "all", "lr": 0.1, "epochs": 10}], "lr": [0.1]}, "give either rows or the grid"),
    ({"variants": ["all"], "lr": [0.1]}, r"needs rows, or all of variants, lr and epochs \(found \['variants', 'lr'\]\)"),
    ({"rows": [{"variant": "snapshot-all", "lr": 0.1, "epochs": 12}]}, r"rows\[0\]: snapshot-all needs epochs divisible by 5"),
    ({"rows": [{"variant": "al", "lr": 0.1, "epochs": 10}]}, "unknown variant 'al'"),
    ({"rows": [{"variant": "all", "lr": 0.1, "epochs": 10, "runs": 500}]}, r"rows\[0\].runs: 500 runs asked for"),
])
def test_bad_rows_are_named(block, message):
    config = load("config.yaml")
    config["studies"]["ablations"]["lr_epochs"] = block
    with pytest.raises(ConfigError, match=message):
        plan_studies(validate_config(config, SCHEMA))


def test_snapshot_row_ensembles_cycle_ends(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=40)
    paths, ensembles, finals = [], [], []
    for run in range(3):
        snaps = rng.normal(size=(5, 40, 3)).astype(np.float32)
        paths.append(tmp_path / f"{run}.npz")
        save_predictions(paths[-1], snaps[-1], labels, snaps)
        ensembles.append(snaps.mean(axis=0, dtype=np.float64).astype(np.float32))
        finals.append(snaps[-1])
    specs = [{"label": "snapshot-all/0.4/200", "runs": 3, "snapshot": True},
             {"label": "all/0.4/200", "runs": 3, "snapshot": False}]
    frame = row_table_frame(specs, [paths, paths], {"resamples": 200, "seed": 0}).set_index("setting")
    expected = variability(np.stack(ensembles), labels, resamples=200, seed=0)
    assert frame.loc["snapshot-all/0.4/200", "accuracy_sd"] == pytest.approx(expected["accuracy_sd"])
    final = variability(np.stack(finals), labels, resamples=200, seed=0)
    assert frame.loc["all/0.4/200", "cross_entropy_sd"] == pytest.approx(final["cross_entropy_sd"])
