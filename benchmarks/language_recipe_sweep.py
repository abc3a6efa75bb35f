"""The recipe sweep behind config/config.yaml's language setup (not a speed benchmark).

For each candidate recipe (overrides of the default config's language setup) and its epochs E,
trains runs 1..R of `all` (``--runs``, default 10: the workflow's check) at E and at 2E epochs on
the offline pydoc corpus and prints the mean final validation PPL at both, its relative change
with its SE paired by run and the check's decision as the workflow makes it (the plateau rule:
< 1%, by two one-sided tests), the test PPL and the CPU seconds of one run at E. Recipes are
chosen by the plateau and the cost, never by the verdicts they give. One process, one torch thread:

    .venv/bin/python benchmarks/language_recipe_sweep.py [--runs 10] 'epochs=6' 'epochs=8,train_tokens=20000'

Each argument is comma-separated key=value overrides (keys: epochs, batch_size, bptt, lr,
schedule, clip, train_tokens, vocab_size, and model keys embedding, hidden, layers, dropout, dropouth, dropouti,
dropoute, wdrop).
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from runvar.language.config import resolve_block  # noqa: E402
from runvar.language.corpus import pydoc_corpus  # noqa: E402
from runvar.language.train import train_language_run  # noqa: E402
from runvar.plateau import decide_change  # noqa: E402
from runvar.seeds import run_seeds  # noqa: E402

MODEL_KEYS = ("embedding", "hidden", "layers", "dropout", "dropouth", "dropouti", "dropoute", "wdrop")


def default_setup() -> tuple[dict, dict, float]:
    """The default config's language setup, its corpus options and its check's threshold (%)."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    setups = resolve_block(config["studies"]["language"], config["datasets"])
    max_change = float(config["studies"]["language"].get("plateau", {}).get("max_change_pct", 1.0))
    return next(iter(setups.values())), config["datasets"].get("pydoc", {}), max_change


def parse(arg: str, base: dict, corpus_options: dict) -> tuple[dict, dict]:
    setup, options = copy.deepcopy(base), dict(corpus_options)
    for item in filter(None, arg.split(",")):
        key, value = item.split("=")
        number = yaml.safe_load(value)  # 8 -> int, 0.1 -> float, cosine -> str
        if key in MODEL_KEYS:
            setup["model"][key] = number
        elif key == "vocab_size":
            options["vocab_size"] = number
        else:
            setup[key] = number
    return setup, options


def finals(setup: dict, corpus, runs: int) -> tuple[np.ndarray, float, float]:
    """Runs 1..``runs`` of `all`: each one's final validation PPL; the mean test PPL and CPU s per run."""
    valid, test, cpu = [], [], []
    for run in range(1, runs + 1):
        start = time.process_time()
        result = train_language_run(setup, corpus, run_seeds("all", run), log=lambda line: None)
        cpu.append(time.process_time() - start)
        valid.append(result.record["valid_ppl"])
        test.append(result.record["test_ppl"])
    return np.array(valid), float(np.mean(test)), float(np.mean(cpu))


def main(argv: list[str]) -> None:
    runs = 10
    if argv[:1] == ["--runs"]:
        runs, argv = int(argv[1]), argv[2:]
    base, corpus_options, max_change = default_setup()
    print(f"runs 1-{runs} of `all`; change and its SE (paired by run) in % of the PPL at E; the {max_change:g}% "
          "rule decided")
    print("| recipe | E | valid PPL at E | at 2E | change (%) | SE (%) | check | test PPL at E | CPU s per run at E |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arg in argv or [""]:
        setup, options = parse(arg, base, corpus_options)
        corpus = pydoc_corpus(options.get("vocab_size"))
        valid, test, cpu = finals(setup, corpus, runs)
        valid2, _, _ = finals({**setup, "epochs": 2 * int(setup["epochs"])}, corpus, runs)
        c = decide_change(valid, valid2, max_change, relative=True)
        print(f"| {arg or 'config'} | {setup['epochs']} | {valid.mean():.2f} | {valid2.mean():.2f} | {c['change']:+.2f} | "
              f"{c['change_se']:.2f} | {c['decision']} | {test:.2f} | {cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
