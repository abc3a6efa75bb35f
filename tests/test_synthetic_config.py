"""The synthetic config blocks, their schema, and the library's named errors on bad settings."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from runvar.synthetic import SyntheticConfigError, resolve_block, resolve_setting

CONFIG = Path(__file__).resolve().parents[1] / "config"


def load(name):
    return yaml.safe_load((CONFIG / name).read_text())


@pytest.fixture(scope="module")
def schema():
    return load("schema.yaml")["properties"]["synthetic"]


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_config_blocks_validate_and_resolve(schema, name):
    document = load(name)
    jsonschema.validate(document["synthetic"], schema)
    settings = resolve_block(document["synthetic"])
    assert set(document["synthetic"]["figures"]) == {"fig2_simple", "fig6_tower", "fig8_wide", "fig10_quadratic"}
    assert all(s["pairs"] == 16 and s["batch_size"] == 32 for s in settings.values())
    assert {s["activation"] for s in settings.values()} == {"identity", "relu", "smelu", "swish"}
    assert settings["tower_relu"]["hidden"] == [16, 8, 4, 2]


def test_quick_and_paper_scales():
    quick = resolve_block(load("config.yaml")["synthetic"])
    paper = resolve_block(load("paper.yaml")["synthetic"])
    assert {s["log2_examples"] for s in quick.values()} == {16}
    assert {s["log2_examples"] for s in paper.values()} == {26}
    assert {s["log2_eval_examples"] for s in paper.values()} == {16}
    assert paper["quad_relu"]["hidden"] == [1024, 512]
    assert paper["wide_relu"]["hidden"] == [1000] and paper["wide_relu"]["embedding_dim"] == 2
    assert max(max(s["log2_z"]) for s in paper.values()) == 20
    assert paper["quad_relu_tl"]["warm_start"]["lr"] > paper["quad_relu_tl"]["lr"]


@pytest.mark.parametrize("bad, message", [
    ({"settings": {"a": {"model": "linear", "lrr": 0.1}}}, "'lrr' was unexpected"),
    ({"settings": {"a": {"model": "mlp", "activation": "tanh"}}}, "'tanh' is not one of"),
    ({"settings": {"a": {"model": "resnet"}}}, "'resnet' is not one of"),
    ({"settings": {"a": {"model": "linear", "optimizer": "adam"}}}, "'adam' is not one of"),
    ({"settings": {"a": {"model": "linear"}}, "figure": {}}, "'figure' was unexpected"),
])
def test_schema_names_the_wrong_key_or_value(schema, bad, message):
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize("setting, message", [
    ({"model": "linear", "lrr": 0.1}, r"key = 'lrr' is not allowed; valid keys: data, model"),
    ({"model": "mlp", "hidden": [2], "activation": "tanh"}, r"activation = 'tanh' .* identity, relu, smelu, swish"),
    ({"model": "mlp", "hidden": [2], "activation": "smelu"}, r"beta = None .* number > 0"),
    ({"model": "mlp", "hidden": [2], "activation": "relu", "beta": 1.0}, r"beta = 1.0 .* takes no beta"),
    ({"model": "mlp"}, r"hidden = \[\] .* at least one hidden width"),
    ({"model": "linear", "hidden": [3]}, r"model 'linear' has no hidden layer"),
    ({"model": "linear", "log2_examples": 10, "log2_z": [0, 6]}, r"log2_z = 6 .* must divide"),
    ({"model": "linear", "init": ["same", "twin"]}, r"init = 'twin' .* same, different"),
    ({"model": "linear", "optimizer": "adam"}, r"optimizer = 'adam' .* adagrad, sgd"),
    ({"model": "linear", "lr": 0}, r"lr = 0 .* number > 0"),
    ({"model": "linear", "init": ["different"], "warm_start": {"lr": 0.1}}, r"init = \['different'\] .* warm-started"),
    ({"model": "linear", "warm_start": {"rate": 0.1}}, r"warm_start: key = 'rate'"),
    ({"model": "linear", "pairs": 4, "pairs_per_group": 5}, r"pairs_per_group = 5 .* <= 4"),
])
def test_library_errors_name_the_setting_key_value_and_what_is_allowed(setting, message):
    with pytest.raises(SyntheticConfigError, match=message) as err:
        resolve_setting(setting, name="mine")
    assert "synthetic setting 'mine'" in str(err.value)


def test_block_errors_name_unknown_figure_settings_and_keys():
    with pytest.raises(SyntheticConfigError, match=r"figure 'f': settings = 'b' .* valid setting names: a"):
        resolve_block({"settings": {"a": {"model": "linear"}}, "figures": {"f": {"settings": ["b"]}}})
    with pytest.raises(SyntheticConfigError, match=r"synthetic: key = 'setting' .* defaults, settings"):
        resolve_block({"setting": {}})
    with pytest.raises(SyntheticConfigError, match=r"synthetic defaults .*key = 'colour'"):
        resolve_block({"defaults": {"colour": 1}, "settings": {"a": {"model": "linear"}}})


def test_resolution_layers_library_defaults_block_defaults_and_the_setting():
    s = resolve_setting({"model": "mlp", "hidden": [2], "activation": "relu", "lr": 1.0},
                        defaults={"pairs": 8, "lr": 0.5})
    assert (s["pairs"], s["lr"], s["optimizer"], s["initial_accumulator"]) == (8, 1.0, "adagrad", 0.1)
    assert s["label"] == "ReLU 2, AdaGrad 1"
    assert resolve_setting({"model": "embedding", "hidden": [1000], "activation": "smelu", "beta": 0.5,
                            "optimizer": "sgd", "lr": 0.01})["label"] == "SmeLU(0.5) 1000 emb, SGD 0.01"
