"""Every Python example and every `runvar ...` command in README.md and docs/ runs, from the
directory of a tiny finished study (so the paths they name are the paths a study writes).

Examples are the fenced ```python blocks, and the `runvar <subcommand> ...` lines of fenced
shell blocks and inline code. One that cannot run against the tiny study says so, with the
reason, in a comment: ``# not run by tests: <reason>`` on the command's line, or as the first
line of a Python block; this test lists it as skipped with that reason. Snakemake commands are
run by tests/test_documented_commands.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runvar.io import load_prediction_stack

from .conftest import tiny_study_base

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SKIP_MARK = "not run by tests:"
RUNVAR = re.compile(r"runvar (?:metrics|compare|budget)\b.*")

# The tiny study the examples run against: setup `cnn1d` (the quick study's name) at toy size.
STUDY = {
    "train": {"seeds_per_job": 3},
    "bootstrap": {"resamples": 200, "seed": 0},
    "plateau": {"runs": 2},
    **tiny_study_base(),
    "setups": {"cnn1d": {"model": {"name": "cnn1d", "channels": 8, "layers": 2, "dropout": 0.2}}},
    "studies": {"sources": {"setups": ["cnn1d"], "variants": ["init", "all", "bitflip"], "runs": 3}},
}
TARGETS = [f"results/metrics/cnn1d/{v}.json" for v in ("init", "all", "bitflip")] + ["results/plateau/cnn1d.json"]


def _documents() -> list[Path]:
    return sorted([REPO / "README.md", *REPO.glob("docs/**/*.md")])


def examples_in(text: str) -> list[tuple[str, str]]:
    """(kind, code) of the Python blocks and `runvar` command lines in one markdown text."""
    found, block, lang = [], None, None
    for line in text.splitlines():
        fence = re.match(r"\s*```(\w*)", line)
        if fence and block is None:
            block, lang = [], fence.group(1)
            continue
        if fence:
            if lang == "python":
                found.append(("python", "\n".join(block)))
            elif lang in ("bash", "sh", "shell", "console", ""):
                code = "\n".join(block).replace("\\\n", " ")
                found += [("shell", c.strip()) for c in code.splitlines() if RUNVAR.match(c.strip())]
            block = None
            continue
        if block is not None:
            block.append(line)
        else:
            # inline code: a whole command, with arguments (not `runvar metrics` naming the subcommand)
            found += [("shell", c.strip()) for c in re.findall(r"`([^`]+)`", line)
                      if RUNVAR.fullmatch(c.strip()) and len(c.split()) > 2]
    return found


def documented_examples() -> list[tuple[str, str, str]]:
    unique = {}
    for path in _documents():
        for kind, code in examples_in(path.read_text()):
            unique.setdefault((kind, code), str(path.relative_to(REPO)))
    return [(where, kind, code) for (kind, code), where in unique.items()]


EXAMPLES = documented_examples()


def _skip_reason(kind: str, code: str) -> str | None:
    first = code.strip().splitlines()[0] if code.strip() else ""
    marked = first if kind == "python" else code
    if SKIP_MARK in marked:
        return marked.split(SKIP_MARK, 1)[1].strip()
    return None


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory, run_snakemake) -> Path:
    """A finished tiny study, plus `logits.npy` / `labels.npy` for the examples of your own logits."""
    workdir = tmp_path_factory.mktemp("doc-examples")
    run_snakemake(workdir, "--cores", "2", *TARGETS, config=STUDY, timeout=900)
    logits, labels = load_prediction_stack(sorted(workdir.glob("results/runs/cnn1d/init/seed*/predictions.npz")))
    np.save(workdir / "logits.npy", logits)
    np.save(workdir / "labels.npy", labels)
    return workdir


def test_the_docs_have_examples_of_each_kind():
    kinds = {(where, kind) for where, kind, _ in EXAMPLES}
    assert ("README.md", "python") in kinds and ("README.md", "shell") in kinds
    assert ("docs/library.md", "python") in kinds and ("docs/library.md", "shell") in kinds
    commands = " ".join(code for _, kind, code in EXAMPLES if kind == "shell")
    for sub in ("runvar metrics", "runvar compare", "runvar budget"):
        assert sub in commands


def test_examples_are_found_in_markdown():
    text = ("```python\nprint(1)\n```\n"
            "```bash\nrunvar metrics a.npz \\\n  b.npz\nsnakemake -n\n```\n"
            "Inline: `runvar budget --row results/metrics/x/init.json` and `runvar metrics`.\n")
    assert examples_in(text) == [("python", "print(1)"), ("shell", "runvar metrics a.npz    b.npz"),
                                 ("shell", "runvar budget --row results/metrics/x/init.json")]


@pytest.mark.workflow
@pytest.mark.parametrize("where, kind, code", EXAMPLES, ids=[f"{w}:{c.splitlines()[0]}" for w, _, c in EXAMPLES])
def test_documented_example_runs_on_the_tiny_study(where, kind, code, tiny_study):
    reason = _skip_reason(kind, code)
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    if kind == "python":
        done = subprocess.run([sys.executable, "-c", code], cwd=tiny_study, env=env, capture_output=True,
                              text=True, timeout=300)
    else:
        done = subprocess.run(["bash", "-c", code], cwd=tiny_study, env=env, capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0, f"{where}: example failed:\n{code}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip() or kind == "python", f"{where}: `{code}` printed nothing"


@pytest.mark.workflow
def test_the_documented_row_command_gives_the_rows_numbers_exactly(tiny_study):
    """The README's `runvar metrics --row cnn1d/init`, verbatim (with the tiny study's bootstrap
    settings and JSON out), reproduces results/metrics/cnn1d/init.json, run 1 (the `none` run 1)
    included; the variant folder's glob alone lacks run 1, and says so."""
    readme = [c for _, c in examples_in((REPO / "README.md").read_text())]
    command = next(c for c in readme if c.startswith("runvar metrics --row cnn1d/init"))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command + " --format json --resamples 200 --seed 0"], cwd=tiny_study,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    saved = json.loads((tiny_study / "results/metrics/cnn1d/init.json").read_text())
    assert row["runs"] == saved["runs"] == STUDY["studies"]["sources"]["runs"]
    for key in ("accuracy_sd", "pairwise_disagreement", "pairwise_spearman", "accuracy_sd_sd", "cross_entropy_sd"):
        assert row[key] == saved[key], key
    glob = subprocess.run(["bash", "-c", "runvar metrics results/runs/cnn1d/init/seed*/predictions.npz"],
                          cwd=tiny_study, env=env, capture_output=True, text=True, timeout=300)
    assert glob.returncode == 0 and "run 1 of cnn1d/init is the `none` run 1" in glob.stderr
