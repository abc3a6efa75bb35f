"""A row pools only runs that are alike: run.json names the code that trained it, and the metrics
rows (images and language) refuse runs of other code, libraries, threads or CPU kernels with one
message naming the runs, what differs and how to retrain the stale ones."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from runvar.config import ConfigError, load_schema, validate_config
from runvar.execution import (
    PACKAGE_DIR, ProvenanceError, allow_pooling_of, code_digest, git_describe, seed_global_generators, versions,
)
from runvar.io import save_json, save_npz, save_predictions
from runvar.runs import train_and_save, variant_metrics

REPO = Path(__file__).resolve().parents[1]


def test_code_digest_hashes_every_source_file_with_its_path(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    (package / "notes.txt").write_text("not source")
    first = code_digest.__wrapped__(package)
    (package / "notes.txt").write_text("changed, still not source")
    assert code_digest.__wrapped__(package) == first
    (package / "sub" / "b.py").write_text("y = 3\n")
    changed = code_digest.__wrapped__(package)
    assert changed != first
    (package / "sub" / "b.py").rename(package / "b.py")  # same contents, another path
    assert code_digest.__wrapped__(package) != changed
    assert len(code_digest()) == 64 and code_digest() == code_digest.__wrapped__(PACKAGE_DIR)


def test_git_describe_of_the_checkout_and_none_outside_git(tmp_path):
    assert git_describe.__wrapped__(tmp_path) is None  # not a repository: no error, no value
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "rev-parse"]).returncode:
        pytest.skip("the package is not in a git checkout here")
    expected = subprocess.run(["git", "-C", str(PACKAGE_DIR), "describe", "--always", "--dirty"],
                              capture_output=True, text=True).stdout.strip()
    assert git_describe.__wrapped__(PACKAGE_DIR) == expected


def test_global_generators_start_from_os_entropy():
    import random

    import torch

    draws = []
    for _ in range(2):
        seed_global_generators()
        draws.append((torch.rand(3).tolist(), np.random.rand(), random.random()))
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1] and draws[0][2] != draws[1][2]


def test_run_json_names_the_code_that_trained_it(tiny_data, tiny_setup, tmp_path):
    tiny_setup["epochs"] = 1
    record = train_and_save("tiny", tiny_setup, "init", 1, tiny_data, tmp_path / "seed1", log=lambda _: None)
    saved = json.loads((tmp_path / "seed1" / "run.json").read_text())
    assert saved["code_digest"] == record["code_digest"] == code_digest()
    assert saved["git_describe"] == git_describe()
    assert isinstance(saved["global_generators_seed"], int)


def _record(run, **changes):
    record = {"setup": "net", "variant": "init", "run": run, "config_digest": "d", "code_digest": code_digest(),
              "git_describe": "abc", "wall_seconds": 1.0, "versions": versions(), "corpus_checksum": "c",
              "execution": {"cudnn_effective": False, "device": "cpu", "threads": 1},
              "hardware": {"cpu_model": "EPYC", "torch_cpu_capability": "AVX2", "cpu_isa_environment": {}}}
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if value is None:
            (record[section].pop(name) if name else record.pop(section))
        elif name:
            record[section] = {**record[section], name: value}
        else:
            record[section] = value
    return record


def _image_row(tmp_path, records, variant="init"):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=20)
    predictions, paths = [], []
    for record in records:
        run_dir = tmp_path / "results/runs/net" / variant / f"seed{record['run']}"
        run_dir.mkdir(parents=True)
        save_predictions(run_dir / "predictions.npz", rng.normal(size=(20, 3)).astype(np.float32), labels)
        save_json(run_dir / "run.json", record)
        predictions.append(run_dir / "predictions.npz")
        paths.append(run_dir / "run.json")
    return predictions, paths


def test_a_row_of_two_code_digests_is_refused_naming_runs_and_the_retrain_command(tmp_path):
    records = [_record(1), _record(2), _record(3, code_digest="0123456789abcdef" * 4)]
    predictions, paths = _image_row(tmp_path, records)
    with pytest.raises(ProvenanceError) as err:
        variant_metrics("init", predictions, paths, resamples=50)
    message = str(err.value)
    assert "The metrics row of net/init would pool runs that are not alike" in message
    assert f"code_digest: {code_digest()[:12]!r} in net/init/seed1, net/init/seed2; '0123456789ab' in net/init/seed3" in message
    stale = tmp_path / "results/runs/net/init/seed3"
    assert f"rm -r {stale} && snakemake --cores all" in message  # only the stale run is retrained
    assert "provenance.allow_pooling: true" in message
    assert "config_digest" not in message and "versions." not in message


def test_runs_from_before_provenance_are_refused_even_when_all_lack_it(tmp_path):
    records = [_record(1, code_digest=None), _record(2, code_digest=None)]
    predictions, paths = _image_row(tmp_path, records)
    with pytest.raises(ProvenanceError, match="predate provenance") as err:
        variant_metrics("init", predictions, paths, resamples=50)
    assert "missing (trained before run.json recorded its code) in net/init/seed1, net/init/seed2" in str(err.value)
    run_dirs = " ".join(str(p.parent) for p in predictions)
    assert f"rm -r {run_dirs} && snakemake --cores all" in str(err.value)


@pytest.mark.parametrize("change, shown", [
    ({"config_digest": "other"}, "config_digest: 'd' in net/init/seed1; 'other' in net/init/seed2"),
    ({"versions.torch": "0.0.1"}, "versions.torch: "),
    ({"execution.threads": 4}, "execution.threads: 1 in net/init/seed1; 4 in net/init/seed2"),
    ({"hardware.torch_cpu_capability": "AVX512"}, "hardware.torch_cpu_capability: 'AVX2' in net/init/seed1; 'AVX512' in net/init/seed2"),
    ({"hardware.cpu_isa_environment": {"ATEN_CPU_CAPABILITY": "avx2"}}, "hardware.cpu_isa_environment: {} in net/init/seed1"),
])
def test_config_libraries_threads_and_kernels_must_agree(tmp_path, change, shown):
    predictions, paths = _image_row(tmp_path, [_record(1), _record(2, **change)])
    with pytest.raises(ProvenanceError) as err:
        variant_metrics("init", predictions, paths, resamples=50)
    assert shown in str(err.value)
    assert ("execution.cpu_isa" in str(err.value)) == any(k.startswith("hardware.") for k in change)
    # only a run of other code or libraries is stale; no other run is advised away
    if "versions.torch" in change:
        assert f"rm -r {predictions[1].parent} && snakemake" in str(err.value)
    else:
        assert "rm -r" not in str(err.value) and "none is stale" in str(err.value)


def test_a_row_differing_only_in_cpu_model_or_host_is_alike(tmp_path):
    other = _record(2, **{"hardware.cpu_model": "Xeon", "versions.host": "node7", "git_describe": "def-dirty"})
    predictions, paths = _image_row(tmp_path, [_record(1), other])
    row = variant_metrics("init", predictions, paths, resamples=50)
    assert "pooled_unlike" not in row


def test_allow_pooling_pools_and_the_row_says_so(tmp_path):
    records = [_record(1), _record(2, code_digest=None, **{"execution.threads": 2})]
    predictions, paths = _image_row(tmp_path, records)
    row = variant_metrics("init", predictions, paths, resamples=50, allow_pooling=True)
    assert row["pooled_unlike"]["code_digest"]["missing (trained before run.json recorded its code)"] == ["net/init/seed2"]
    assert row["pooled_unlike"]["execution.threads"] == {"1": ["net/init/seed1"], "2": ["net/init/seed2"]}


def test_none_rows_that_differ_name_the_difference_in_the_determinism_error(tmp_path):
    from runvar.runs import DeterminismError

    records = [_record(1, variant="none"), _record(2, variant="none", code_digest="f" * 64)]
    predictions, paths = _image_row(tmp_path, records, variant="none")
    with pytest.raises(DeterminismError, match="code_digest: .* in net/none/seed1; 'ffffffffffff' in net/none/seed2"):
        variant_metrics("none", predictions, paths, resamples=50)


def test_language_rows_refuse_runs_of_other_code(tmp_path):
    from runvar.language.runs import variant_metrics as language_metrics

    predictions, paths = [], []
    for run, digest in ((1, code_digest()), (2, "e" * 64)):
        run_dir = tmp_path / f"results/runs/net/init/seed{run}"
        run_dir.mkdir(parents=True)
        save_npz(run_dir / "predictions.npz", target_logprob=np.array([-1.0, -2.0 * run], np.float32),
                 argmax=np.zeros(2, np.int32))
        save_json(run_dir / "run.json", _record(run, code_digest=digest))
        predictions.append(run_dir / "predictions.npz")
        paths.append(run_dir / "run.json")
    with pytest.raises(ProvenanceError, match="language metrics row of net/init .*\n  code_digest: .* in net/init/seed1; "
                                              "'eeeeeeeeeeee' in net/init/seed2") as err:
        language_metrics("init", predictions, paths, resamples=50)
    assert f"rm -r {tmp_path / 'results/runs/net/init/seed2'} && snakemake" in str(err.value)
    row = language_metrics("init", predictions, paths, resamples=50, allow_pooling=True)
    assert list(row["pooled_unlike"]) == ["code_digest"]


def test_allow_pooling_is_a_boolean_in_the_config():
    schema = load_schema(REPO / "config" / "schema.yaml")
    assert schema["properties"]["provenance"]["properties"]["allow_pooling"]["default"] is False
    assert allow_pooling_of({}) is False and allow_pooling_of({"provenance": {"allow_pooling": True}}) is True
    with pytest.raises(ValueError, match="provenance.allow_pooling must be true or false, got 'yes'"):
        allow_pooling_of({"provenance": {"allow_pooling": "yes"}})
    config = {"datasets": {"mnist1d": {}}, "setups": {"s": {"dataset": "mnist1d", "model": {"name": "mlp"}}},
              "studies": {}, "provenance": {"allow_pooling": 3}}
    with pytest.raises(ConfigError, match="provenance.allow_pooling: 3 is not of type 'boolean'"):
        validate_config(config, schema)
