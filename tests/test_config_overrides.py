"""Config values given on the command line (``snakemake --config``) arrive as strings and are
read as YAML where the schema (or a model's or dataset's signature) wants no string."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from runvar.config import ConfigError, coerce_overrides, load_schema, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config" / "schema.yaml")
DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def with_overrides(configfile: str, *entries: str) -> dict:
    """The config snakemake hands the Snakefile: the file, then ``--config`` entries merged in."""
    config = yaml.safe_load((REPO / "config" / configfile).read_text())
    update_config(config, parse_config(list(entries)))
    return config


def test_snakemake_hands_nested_values_over_as_strings():
    # what the rest of this file relies on (snakemake 9.27.1 reads the value with YAML's
    # BaseLoader: the mapping is parsed, every scalar in it stays a string)
    assert parse_config(["studies={sources: {runs: 12}}"]) == {"studies": {"sources": {"runs": "12"}}}
    assert parse_config(["train={seeds_per_job: 5}"]) == {"train": {"seeds_per_job": "5"}}
    raw = with_overrides("config.yaml", "studies={sources: {runs: 12}}")
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(raw))
    assert [(list(e.absolute_path), e.message) for e in errors] == [
        (["studies", "sources", "runs"], "'12' is not of type 'integer'")]


def test_runs_and_seeds_per_job_are_read_as_integers():
    config = with_overrides("config.yaml", "studies={sources: {runs: 12}}", "train={seeds_per_job: 5}")
    resolved = validate_config(config, SCHEMA)
    assert resolved["studies"]["sources"]["runs"] == 12
    assert resolved["train"]["seeds_per_job"] == 5
    # the rest of the block comes from the config file, untouched
    assert resolved["studies"]["sources"]["variants"][0] == "none"
    assert config["studies"]["sources"]["runs"] == "12"  # the caller's config is not changed


def test_numbers_booleans_and_lists_where_the_schema_wants_them():
    config = with_overrides(
        "config.yaml",
        "setups={cnn1d: {epochs: 60, optimizer: {lr: 1e-3, nesterov: false, momentum: 0.5}}}",
        "studies={ensembles: {sizes: [1, 2, 4]}}",
        "bootstrap={seed: 3}",
    )
    resolved = validate_config(config, SCHEMA)
    cnn = resolved["setups"]["cnn1d"]
    assert cnn["epochs"] == 60 and cnn["optimizer"]["lr"] == 0.001
    assert cnn["optimizer"]["nesterov"] is False and cnn["optimizer"]["momentum"] == 0.5
    assert resolved["studies"]["ensembles"]["sizes"] == [1, 2, 4]
    assert resolved["bootstrap"]["seed"] == 3


def test_strings_the_schema_wants_stay_strings():
    config = with_overrides(
        "config.yaml",
        "setups={2024: {model: {name: linear}}}",
        "studies={depth: {setups: [cnn1d, 2024], variants: [init], runs: 2, over_time: [2024]}}",
        "setup_defaults={bitflip: {parameter: 0}}",
    )
    resolved = validate_config(config, SCHEMA)
    assert "2024" in resolved["setups"] and resolved["studies"]["depth"]["setups"] == ["cnn1d", "2024"]
    assert resolved["setups"]["cnn1d"]["bitflip"]["parameter"] == "0"  # a parameter name


def test_model_and_dataset_options_follow_their_signatures():
    config = with_overrides(
        "paper.yaml",
        "datasets={cifar10: {root: 2024, download: false}}",
        "setups={mlp512: {model: {hidden: [64, 32]}}}",
    )
    resolved = validate_config(config, SCHEMA)
    # "false" would be true: a cluster without network would try to download
    assert resolved["datasets"]["cifar10"] == {"root": "2024", "download": False}
    assert resolved["setups"]["resnet14"]["dataset_options"]["download"] is False
    assert resolved["setups"]["mlp512"]["model"]["hidden"] == [64, 32]
    config = with_overrides("config.yaml", "setups={cnn1d: {model: {channels: 64, dropout: 0.5}}}")
    assert validate_config(config, SCHEMA)["setups"]["cnn1d"]["model"] == {
        "name": "cnn1d", "channels": 64, "layers": 3, "dropout": 0.5, "conv": "gemm"}


def test_a_block_given_as_one_string_is_read_as_a_mapping():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["train"] = "{seeds_per_job: 5}"
    assert validate_config(config, SCHEMA)["train"] == {"seeds_per_job": 5}
    assert coerce_overrides({"studies": "{sources: {setups: [a], variants: [init], runs: 12}}"}, SCHEMA) == {
        "studies": {"sources": {"setups": ["a"], "variants": ["init"], "runs": 12}}}


@pytest.mark.parametrize(
    "entry, message",
    [
        ("studies={sources: {runs: twelve}}", r"studies.sources.runs: 'twelve' is not of type 'integer'"),
        ("studies={sources: {runs: 1.5}}", r"studies.sources.runs: '1.5' is not of type 'integer'"),
        ("train={seeds_per_job: 0}", r"train.seeds_per_job: 0 is less than the minimum of 1"),
        ("train={seeds_per_job: [5]}", r"train.seeds_per_job: \['5'\] is not of type 'integer'"),
        ("setups={cnn1d: {model: {channels: wide}}}", r"setups.cnn1d.model: model 'cnn1d' rejects option channels='wide'"),
    ],
)
def test_what_still_does_not_fit_is_rejected(entry, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(with_overrides("config.yaml", entry), SCHEMA)


def test_coercion_leaves_valid_configs_alone():
    for name in ("config.yaml", "paper.yaml", "gpu.yaml"):
        config = yaml.safe_load((REPO / "config" / name).read_text())
        assert coerce_overrides(config, SCHEMA) == config


def dry_run(run_snakemake, workdir: Path, *entries: str) -> subprocess.CompletedProcess:
    """A dry run of the real workflow with the default config (copied into ``workdir``, a
    temporary directory: the repository's results/ play no part) and ``--config`` entries."""
    shutil.copy(REPO / "config" / "config.yaml", workdir / "config.yaml")
    args = ["-n"]
    for entry in entries:
        args += ["--config", entry]
    return run_snakemake(workdir, *args, check=False, timeout=300)


@pytest.mark.workflow
def test_dry_run_with_more_runs(run_snakemake, tmp_path):
    assert DEFAULT["studies"]["sources"]["runs"] < 12  # seed 12 comes from the override alone
    out = dry_run(run_snakemake, tmp_path, "studies={sources: {runs: 12}}")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "results/runs/cnn1d/bitflip/seed12/predictions.npz" in out.stdout


@pytest.mark.workflow
def test_dry_run_with_seeds_per_job(run_snakemake, tmp_path):
    default = DEFAULT["train"]["seeds_per_job"]
    assert default != 3  # the jobs below exist only if the override is read
    out = dry_run(run_snakemake, tmp_path, "train={seeds_per_job: 3}")
    assert out.returncode == 0, out.stderr[-3000:]
    chunks = {(int(a), int(b)) for a, b in re.findall(r"\btrain_seeds_(\d+)_(\d+)\b", out.stdout)}
    assert (1, 3) in chunks and (4, 6) in chunks, sorted(chunks)
    assert all(last - first < 3 for first, last in chunks), sorted(chunks)  # no job of the default's size
    assert (1, default) not in chunks


@pytest.mark.workflow
def test_a_row_trains_its_own_runs_only(run_snakemake, tmp_path):
    """The single-source rows and `all` take 40 runs (studies.sources.runs_by_variant), the other
    rows 10: a row whose run 1 is the `none` run trains seeds 2..R, none beyond (no seed 11 for
    the 10-run shuffle+augment row, no seed 41 for the 40-run rows, whatever the 5-seed chunks)."""
    sources = DEFAULT["studies"]["sources"]
    runs, by_variant = sources["runs"], sources["runs_by_variant"]
    assert runs == 10 and set(by_variant) == {"init", "shuffle", "augment", "stochastic", "all"}
    assert set(by_variant.values()) == {40}
    out = dry_run(run_snakemake, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    planned = set(re.findall(r"results/runs/cnn1d/([\w+]+)/seed(\d+)/predictions\.npz", out.stdout))
    for variant in ("init", "shuffle", "augment", "stochastic", "shuffle+augment"):
        expected = by_variant.get(variant, runs)
        assert {int(seed) for v, seed in planned if v == variant} == set(range(2, expected + 1)), variant
    assert {int(seed) for v, seed in planned if v == "all"} == set(range(1, by_variant["all"] + 1))


@pytest.mark.workflow
def test_dry_run_with_a_wrong_value_fails_naming_it(run_snakemake, tmp_path):
    out = dry_run(run_snakemake, tmp_path, "studies={sources: {runs: twelve}}")
    assert out.returncode != 0
    assert "studies.sources.runs: 'twelve' is not of type 'integer'" in out.stdout + out.stderr


@pytest.mark.workflow
def test_a_synthetic_override_reaches_the_job(run_snakemake, tmp_path):
    # the synthetic rules plan from the validated config, where "8" has become 8: one setting's
    # job (at toy sizes, also overrides) trains 8 pairs, and its result says so
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config.yaml")
    target = "results/synthetic/settings/linear.json"
    out = run_snakemake(tmp_path, "--cores", "1", target, "--config",
                        "synthetic={defaults: {pairs: 8, log2_examples: 8, log2_eval_examples: 6, log2_z: [0]}}",
                        check=False, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    result = json.loads((tmp_path / target).read_text())
    assert result["setting"]["pairs"] == 8 and result["setting"]["log2_examples"] == 8
    assert result["models_trained"] == 8 * 2 * len(result["setting"]["init"])  # 8 pairs of 2 models per init mode


@pytest.mark.workflow
def test_dry_run_without_an_execution_block_uses_the_defaults(run_snakemake, tmp_path):
    # the plateau check's inputs, the training jobs' threads and the CPU twin of cudnn variants
    # all read the execution mode: without a block they fall back to runvar.execution's defaults
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    del config["setup_defaults"]["execution"]
    out = run_snakemake(tmp_path, "-n", "--replace-workflow-config", config=config, check=False, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "plateau_check" in out.stdout + out.stderr


@pytest.mark.workflow
def test_a_larger_check_for_some_recipes_plans_their_runs_only(run_snakemake, tmp_path):
    """The quick config's plateau.runs_by_setup gives the selection arms' checks 40 runs at E and
    2E while the other recipes' checks keep plateau.runs (10); a pattern naming one arm gives the
    40 to that arm's check alone. The arms' rows train 160 runs at E, the check reads runs 1-40."""
    assert DEFAULT["plateau"]["runs_by_setup"] == {"sel.lenet.*": 40}
    assert DEFAULT["studies"]["selection"]["runs"] == 160

    def planned_seeds(out):
        planned = set(re.findall(r"results/runs/([\w.+-]+)/all/seed(\d+)/history\.csv", out.stdout))
        return lambda setup: {int(s) for name, s in planned if name == setup}

    out = dry_run(run_snakemake, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    seeds = planned_seeds(out)
    assert seeds("sel.lenet.k8") == seeds("sel.lenet.learned") == set(range(1, 161))
    assert seeds("sel.lenet.k8.epochs400") == set(range(1, 41))
    assert seeds("sel.lenet.learned.epochs200") == seeds("sel.lenet.k16.epochs400") == set(range(1, 41))
    assert seeds("cnn1d.epochs320") == seeds("linear.epochs800") == set(range(1, 11))

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["plateau"]["runs_by_setup"] = {"sel.lenet.k2": 40}
    out = run_snakemake(tmp_path, "-n", "--replace-workflow-config", config=config, check=False, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    seeds = planned_seeds(out)
    assert seeds("sel.lenet.k2.epochs400") == set(range(1, 41))
    assert seeds("sel.lenet.k8.epochs400") == seeds("sel.lenet.learned.epochs200") == set(range(1, 11))
