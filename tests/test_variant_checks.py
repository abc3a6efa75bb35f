"""No degenerate rows: a variant whose source the setup cannot use is rejected at config time."""

import copy
from pathlib import Path

import pytest
import yaml

from runvar.config import ConfigError, load_schema, validate_config
from runvar.config import unusable_sources

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config" / "schema.yaml")


def config_file(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def study_full() -> dict:
    """config/full.yaml over the quick config, which it extends (`make study-full`)."""
    from runvar.config.files import read_config_file
    return read_config_file(REPO / "config" / "full.yaml")


def test_resnet_without_dropout_cannot_vary_stochastic():
    config = config_file("paper.yaml")
    config["studies"]["onset"]["variants"] = ["shuffle", "stochastic"]
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert ("studies.onset.variants: variant 'stochastic' of setup 'resnet14' varies 'stochastic', "
            "but model 'resnet14' has no dropout or other stochastic layer") in str(err.value)
    assert len(str(err.value).splitlines()) == 2  # one problem: shuffle is fine


def test_setup_without_augmentation_cannot_vary_augment():
    config = study_full()
    config["setups"]["mlp512"]["augment"] = {"crop_padding": 0, "flip": False}
    config["studies"]["depth"]["variants"] = ["init", "shuffle+augment", "all"]
    with pytest.raises(ConfigError, match=(
            r"studies.depth.variants: variant 'shuffle\+augment' of setup 'mlp512' varies 'augment', "
            r"but its augment block sets no crop_padding and no flip")):
        validate_config(config, SCHEMA)


def test_nested_blocks_and_single_variant_keys_are_checked():
    config = config_file("config.yaml")
    config["setups"]["cnn1d"]["model"]["dropout"] = 0.0
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    for where in ("studies.sources.variants", "studies.cka.variants"):
        assert f"{where}: variant 'stochastic' of setup 'cnn1d'" in message
    assert "'all'" not in message  # `all` varies whatever the setup has


def test_all_is_fine_without_dropout_or_augmentation():
    config = study_full()
    config["setups"]["linear"]["augment"] = {"crop_padding": 0}
    assert unusable_sources(validate_config(config, SCHEMA)["setups"]["linear"]).keys() == {"augment", "stochastic"}
    assert unusable_sources(validate_config(config, SCHEMA)["setups"]["cnn1d"]) == {}


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "gpu.yaml", "convergence.yaml", "full.yaml"])
def test_shipped_configs_have_no_degenerate_rows(name):
    from runvar.config.files import read_config_file
    config = read_config_file(REPO / "config" / name)  # full.yaml with the file it extends
    validate_config(copy.deepcopy(config), SCHEMA)
