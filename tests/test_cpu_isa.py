"""execution.cpu_isa pins the CPU kernels: runs with the same ISA are bitwise equal, and differ
from runs with torch's own (higher) choice. Every run is its own process: the pin must be in the
environment before torch is imported."""

import json
import subprocess
import sys

import pytest

from runvar.execution import CAPABILITY_ORDER, CpuIsaError, ISA_ENVIRONMENT, pin

RUN = r"""
import hashlib, json, sys
from runvar.execution import pin
isa = None if sys.argv[1] == "unpinned" else sys.argv[1]
pin(isa)
import torch
from runvar.data import load_dataset
from runvar.seeds import run_seeds
from runvar.train import train_run
from tests.conftest import TINY_SETUP
setup = dict(TINY_SETUP, epochs=3, model={"name": "cnn1d", "channels": 32, "layers": 3, "dropout": 0.2})
setup["execution"] = dict(setup["execution"], **({"cpu_isa": isa} if isa else {}))
result = train_run(setup, load_dataset(sys.argv[2]), run_seeds("none", 1), log=lambda _: None)
digest = hashlib.sha256(result.logits.tobytes())
for value in result.state_dict.values():
    digest.update(value.numpy().tobytes())
print(json.dumps({"sha": digest.hexdigest(), "hardware": result.record["hardware"]}))
"""


def run(isa: str, data_path) -> dict:
    out = subprocess.run([sys.executable, "-c", RUN, isa, str(data_path)], capture_output=True, text=True,
                         timeout=300, cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    from runvar.data import prepare_dataset

    path = tmp_path_factory.mktemp("isa") / "mnist1d.npz"
    prepare_dataset("mnist1d", path, num_samples=600, train_split=0.8, seed=7)
    return path


@pytest.fixture(scope="module")
def unpinned(data_path):
    return run("unpinned", data_path)


@pytest.mark.slow  # five training processes: ~18 s
@pytest.mark.parametrize("isa", ["default", "avx2"])
def test_same_isa_same_bits_and_differs_from_higher_kernels(isa, data_path, unpinned):
    first, second = run(isa, data_path), run(isa, data_path)
    assert first["sha"] == second["sha"]
    assert first["hardware"]["cpu_isa_environment"] == ISA_ENVIRONMENT[isa]
    expected = "DEFAULT" if isa == "default" else isa.upper()
    assert first["hardware"]["torch_cpu_capability"] == expected
    machine = unpinned["hardware"]["torch_cpu_capability"]
    assert unpinned["hardware"]["cpu_isa_environment"] == {}
    if CAPABILITY_ORDER.index(machine) <= CAPABILITY_ORDER.index(expected):
        pytest.skip(f"this machine's best kernels are {machine}: nothing above {expected} to differ from")
    assert first["sha"] != unpinned["sha"]


@pytest.mark.slow  # a training process
def test_record_names_the_hardware(unpinned):
    hardware = unpinned["hardware"]
    assert hardware["cpu_model"] and hardware["torch_cpu_capability"] in CAPABILITY_ORDER


def test_pin_after_torch_import_is_refused():
    import torch  # noqa: F401  (imported in this process already)

    with pytest.raises(CpuIsaError, match="must be pinned before torch is imported"):
        pin("avx512" if __import__("os").environ.get("ATEN_CPU_CAPABILITY") != "avx512" else "default")
    with pytest.raises(CpuIsaError, match="unknown execution.cpu_isa 'sse'; valid: default, avx2, avx512"):
        pin("sse")


def test_none_mismatch_names_the_hardware_difference(tmp_path):
    import numpy as np

    from runvar.io import save_json, save_predictions
    from runvar.runs import DeterminismError, variant_metrics

    labels = np.arange(6) % 3
    paths, records = [], []
    for run, (cpu, capability) in enumerate([("EPYC 9654", "AVX512"), ("EPYC 7763", "AVX2")], start=1):
        paths.append(tmp_path / f"{run}.npz")
        save_predictions(paths[-1], np.eye(3, dtype=np.float32)[labels] * run, labels)
        records.append(tmp_path / f"{run}.json")
        save_json(records[-1], {"setup": "s", "variant": "none", "config_digest": "d", "wall_seconds": 1.0,
                                "execution": {"cudnn_effective": False, "device": "cpu", "threads": 1},
                                "hardware": {"cpu_model": cpu, "torch_cpu_capability": capability},
                                "versions": {"torch": "2.14.1"}})
    with pytest.raises(DeterminismError) as err:
        variant_metrics("none", paths, records)
    message = str(err.value)
    assert ("Their records differ in hardware.cpu_model: 'EPYC 9654' / 'EPYC 7763'; "
            "hardware.torch_cpu_capability: 'AVX512' / 'AVX2'.") in message
    assert "versions.torch" not in message
