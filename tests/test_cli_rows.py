"""The `runvar` command on a workflow's results folder: a row's runs found as the workflow finds
them (`--row SETUP/VARIANT`), the row's variant from every run's record (not the first file's),
and every bad input (runs of two variants in either order, of two setups, a truncated file, a
file of another kind, one run, no run) one message naming the files, exit status 2, never a
traceback, and no advice to remove a run."""

import json

import numpy as np
import pytest

from runvar.cli import main
from runvar.execution import code_digest, versions
from runvar.io import save_json, save_predictions
from runvar.runs import variant_row
from runvar.seeds import trained_variant

RUNS = 4
COMMANDS = ("metrics", "compare", "budget")


def _record(setup, variant, run, **changes):
    record = {"setup": setup, "variant": variant, "run": run, "config_digest": f"digest-{setup}",
              "code_digest": code_digest(), "versions": versions(), "wall_seconds": 1.0,
              "execution": {"cudnn_effective": False, "device": "cpu", "threads": 1},
              "hardware": {"torch_cpu_capability": "AVX2", "cpu_isa_environment": {}}}
    return {**record, **changes}


@pytest.fixture
def results(tmp_path):
    """A results folder as the workflow leaves it: setups `cnn` and `lin`, rows none (3 runs,
    identical), init (run 1 is the `none` run 1) and all, R = 4, with the init row's metrics."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 60)
    base = rng.normal(size=(60, 4)).astype(np.float32)
    root = tmp_path / "results"
    for setup in ("cnn", "lin"):
        for variant, runs in (("none", 3), ("init", RUNS), ("all", RUNS)):
            for run in range(1, runs + 1):
                trained = trained_variant(variant, run, "cpu")
                run_dir = root / "runs" / setup / trained / f"seed{run}"
                if run_dir.exists():
                    continue
                logits = base if trained == "none" else base + rng.normal(size=base.shape).astype(np.float32)
                save_predictions(run_dir / "predictions.npz", logits, labels)
                save_json(run_dir / "run.json", _record(setup, trained, run))
    files = [root / f"runs/cnn/{trained_variant('init', r, 'cpu')}/seed{r}/predictions.npz" for r in range(1, RUNS + 1)]
    logits = np.stack([np.load(f)["logits"] for f in files])
    records = [json.loads((f.parent / "run.json").read_text()) for f in files]
    row = variant_row("init", logits, labels, records, files, resamples=200)
    save_json(root / "metrics/cnn/init.json", row)
    return root


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def runs_of(results, setup, variant, seeds):
    return [results / f"runs/{setup}/{variant}/seed{s}/predictions.npz" for s in seeds]


def test_row_finds_the_runs_as_the_workflow_does_and_gives_its_numbers(results, capsys):
    status, out, err = cli(capsys, "metrics", "--row", "cnn/init", "--results", results, "--resamples", "200",
                           "--format", "json")
    assert status == 0, err
    row, saved = json.loads(out), json.loads((results / "metrics/cnn/init.json").read_text())
    assert row["runs"] == RUNS and row["variant"] == "init" and row["run1_from"] == "none"
    for key in ("accuracy_sd", "accuracy_sd_ci95", "pairwise_disagreement", "pairwise_spearman", "cross_entropy_sd"):
        assert row[key] == saved[key], key
    # the same row from the files in any order: the none run 1 first, last, or the glob's order
    init = runs_of(results, "cnn", "init", range(2, RUNS + 1))
    none1 = runs_of(results, "cnn", "none", [1])
    for files in (none1 + init, init + none1, init[::-1] + none1):
        status, out, err = cli(capsys, "metrics", *files, "--resamples", "200", "--format", "json")
        assert status == 0, err
        assert {k: json.loads(out)[k] for k in saved if k != "train_seconds_mean"} == \
            {k: saved[k] for k in saved if k != "train_seconds_mean"}


def test_the_variant_folder_alone_says_it_lacks_the_none_run_one(results, capsys):
    status, out, err = cli(capsys, "metrics", *runs_of(results, "cnn", "init", range(2, RUNS + 1)))
    assert status == 0 and f"| runs | {RUNS - 1} |" in out
    assert err == ("runvar metrics: note: run 1 of cnn/init is the `none` run 1 (runs/cnn/none/seed1), not given: "
                   f"these {RUNS - 1} runs are not the workflow's row; `runvar metrics --row cnn/init` finds all\n")
    status, out, err = cli(capsys, "metrics", *runs_of(results, "cnn", "all", range(2, RUNS + 1)))
    assert status == 0 and err == ""  # run 1 of `all` is its own: nothing missing to say


def test_row_names_what_is_missing(results, capsys):
    (results / "runs/cnn/init/seed3/predictions.npz").unlink()
    status, _, err = cli(capsys, "metrics", "--row", "cnn/init", "--results", results)
    assert status == 2 and "Traceback" not in err
    assert err.strip() == (f"runvar metrics: error: --row cnn/init: 1 of its {RUNS} runs missing: "
                           f"{results}/runs/cnn/init/seed3/predictions.npz (run 3)")
    status, _, err = cli(capsys, "metrics", "--row", "cnn/cosmic", "--results", results)
    assert status == 2 and "expected SETUP/VARIANT with VARIANT one of none, init" in err


def _argv(command, files, results):
    """The command fed ``files`` as its runs (compare: as set B, beside a good set A)."""
    if command == "compare":
        return ["compare", "--a", *runs_of(results, "lin", "all", range(1, RUNS + 1)), "--b", *files]
    return [command, *files]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", ["bitflip_none_first", "bitflip_none_last", "two_variants", "two_variants_reversed",
                                  "two_setups", "two_setups_reversed", "same_run_twice", "truncated",
                                  "other_kind_npz", "other_kind_json", "one_run", "empty"])
def test_bad_inputs_are_one_message_naming_the_files(results, capsys, command, case):
    cnn_all = runs_of(results, "cnn", "all", range(1, RUNS + 1))
    init = runs_of(results, "cnn", "init", range(2, RUNS + 1))
    none = runs_of(results, "cnn", "none", range(1, 4))
    expected = {
        # the none run 1 belongs to the rows of init, shuffle, augment and stochastic only
        "bitflip_none_first": (none[:1] + cnn_all, "runs of 2 variants (all: cnn/all/seed1, cnn/all/seed2, "
                                                    "cnn/all/seed3, cnn/all/seed4; none (run 1): cnn/none/seed1)"),
        "bitflip_none_last": (cnn_all + none[:1], "runs of 2 variants (all: cnn/all/seed1"),
        "two_variants": (none + init, "runs of 2 variants (none: cnn/none/seed2, cnn/none/seed3; init: cnn/init/seed2"),
        "two_variants_reversed": (init + none, "runs of 2 variants (init: cnn/init/seed2, cnn/init/seed3, "
                                               "cnn/init/seed4; none: cnn/none/seed2, cnn/none/seed3)"),
        "two_setups": (cnn_all + runs_of(results, "lin", "all", [2]),
                       "runs of 2 setups (cnn: cnn/all/seed1, cnn/all/seed2, cnn/all/seed3, cnn/all/seed4; "
                       "lin: lin/all/seed2)"),
        # in run order, whatever the order given
        "two_setups_reversed": (runs_of(results, "lin", "all", [2]) + cnn_all, "runs of 2 setups (cnn: cnn/all/seed1"),
        "same_run_twice": (cnn_all + cnn_all[:1], "given more than once"),
        "truncated": (cnn_all, f"{cnn_all[2]} is truncated or corrupt"),
        "other_kind_npz": (cnn_all, f"{cnn_all[1]} lacks array 'logits'"),
        "other_kind_json": (cnn_all[:2] + [cnn_all[2].parent / "run.json"],
                            "expected .npz prediction files or .npy logits, got .json, .npz"),
        "one_run": (cnn_all[:1], "need at least 2 runs, got 1"),
        "empty": ([], ""),
    }
    files, message = expected[case]
    if case == "truncated":
        files[2].write_bytes(files[2].read_bytes()[:100])
    if case == "other_kind_npz":
        np.savez(files[1], x_train=np.zeros(3))
    status, out, err = cli(capsys, *_argv(command, files, results))
    assert status == 2 and out == "" and "Traceback" not in err, err
    assert message in err, err
    if case == "empty":
        assert "error:" in err
    else:
        assert err.startswith(f"runvar {command}: error: ") and err.count("\n") == 1, err
        assert "input error" in err or case not in ("two_setups", "two_variants"), err
    assert "rm -r" not in err


@pytest.mark.parametrize("command", COMMANDS)
def test_unlike_runs_are_the_users_input_and_pool_only_knowingly(results, capsys, command):
    files = runs_of(results, "cnn", "all", range(1, RUNS + 1))
    record = files[3].parent / "run.json"
    save_json(record, {**json.loads(record.read_text()), "code_digest": "0123456789ab" * 5})
    status, out, err = cli(capsys, *_argv(command, files, results))
    assert status == 2 and "Traceback" not in err
    assert "cnn/all (" in err and "would pool runs that are not alike" in err
    assert f"code_digest: {code_digest()[:12]!r} in cnn/all/seed1, cnn/all/seed2, cnn/all/seed3; " \
           "'0123456789ab' in cnn/all/seed4" in err
    assert "rm -r" not in err and "pass --allow-pooling" in err and "is an input error" in err
    status, out, err = cli(capsys, *_argv(command, files, results), "--allow-pooling", "--format", "json")
    assert status == 0, err
    if command == "metrics":
        assert list(json.loads(out)["pooled_unlike"]) == ["code_digest"]


def test_two_setups_pool_only_knowingly(results, capsys):
    files = runs_of(results, "cnn", "all", range(1, RUNS + 1)) + runs_of(results, "lin", "all", [2])
    status, out, err = cli(capsys, "metrics", *files, "--allow-pooling", "--format", "json")
    assert status == 0, err
    row = json.loads(out)
    assert row["runs"] == RUNS + 1 and "config_digest" in row["pooled_unlike"]


def test_budget_row_names_what_a_metrics_row_is(results, capsys):
    status, _, err = cli(capsys, "budget", "--row", "cnn/init")
    assert status == 2 and err == ("runvar budget: error: cnn/init does not exist (a metrics row is a file "
                                   "results/metrics/SETUP/VARIANT.json)\n")
    status, out, err = cli(capsys, "budget", "--row", results / "metrics/cnn/init.json")
    assert status == 0 and "| runs | 4 |" in out, err
