"""The training process keeps the memory a step frees (runvar.allocator): a stacked step's
activations stop coming back as fresh, faulted-in pages every step, and nothing computed changes."""

import json
import subprocess
import sys

import pytest

from runvar.allocator import keep_freed_memory

STEPS = """
import json, resource, sys, torch
from runvar.allocator import keep_freed_memory
from runvar.models import build_from_block
from runvar.models.stacked import stack_models
from runvar.train import _step, make_optimizer
torch.set_num_threads(1)
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
block = {"name": "cnn1d", "channels": 32, "layers": 3, "dropout": 0.2, "conv": "gemm"}
stack = stack_models(block, [build_from_block(block, (1, 40), 10, seed) for seed in range(1, 6)]).train()
optimizer = make_optimizer(stack.runs, {"lr": 0.1, "momentum": 0.9})
data = torch.Generator().manual_seed(0)
x, y = torch.randn(5, 128, 1, 40, generator=data), torch.randint(0, 10, (5, 128), generator=data)
generators = [torch.Generator().manual_seed(r) for r in range(5)]
def step():
    return _step(stack, optimizer, 0.1, list(x), list(y), True, generators)
for _ in range(10):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    outs, _ = step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
print(json.dumps({"kept": kept, "faults": faults, "logits": torch.stack(outs).detach().numpy().tobytes().hex()}))
"""


def _steps(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_step_memory_is_reused_without_page_faults_and_the_bits_stay():
    default, kept = _steps("default"), _steps("keep")
    assert kept["kept"] is True
    assert default["faults"] > 100  # a stacked cnn1d step's activations: fresh pages every step
    assert kept["faults"] < default["faults"] / 2
    assert kept["logits"] == default["logits"]  # where the memory comes from changes no bit


def test_keeping_freed_memory_is_idempotent():
    assert keep_freed_memory() == keep_freed_memory()
