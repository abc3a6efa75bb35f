"""Train nothing twice: run 1 of a variant that varies only seeded sources has every seed 1,
so it is the `none` run 1: the workflow trains it once and every such row reuses it."""

import re

import pytest
import yaml

from runvar.seeds import run_seeds, trained_variant
from runvar.train import train_run

from .conftest import REPO


@pytest.mark.parametrize("variant", ["init", "shuffle", "augment", "stochastic", "shuffle+augment"])
def test_run_one_of_a_seeded_variant_is_bitwise_the_none_run(variant, tiny_setup, tiny_data):
    assert trained_variant(variant, 1, "cpu") == "none" and trained_variant(variant, 2, "cpu") == variant
    none = train_run(tiny_setup, tiny_data, run_seeds("none", 1), log=lambda line: None)
    first = train_run(tiny_setup, tiny_data, run_seeds(variant, 1), log=lambda line: None)
    assert first.logits.dtype == none.logits.dtype and first.logits.tobytes() == none.logits.tobytes()


def test_a_bitflip_or_cudnn_run_one_is_its_own(tiny_setup):
    assert trained_variant("bitflip", 1, "cpu") == "bitflip"
    assert trained_variant("shuffle+cudnn", 1, "cuda") == "shuffle+cudnn"  # GPU kernels differ
    assert trained_variant("all", 1, "cpu") == "all"


@pytest.mark.workflow
def test_the_workflow_plans_no_run_one_of_a_seeded_variant(run_snakemake, tmp_path):
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    out = run_snakemake(tmp_path, "-n", config=config).stdout
    planned = set(re.findall(r"results/runs/([^/\s]+)/([a-z+]+)/seed(\d+)/predictions\.npz", out))
    assert {("tiny_cnn", "none", "1"), ("tiny_cnn", "init", "2")} <= planned, out[-3000:]
    assert not {(s, v, r) for s, v, r in planned if r == "1" and v in {"init", "shuffle", "stochastic"}}
    # the rows read none's run 1
    assert ("tiny_cnn", "init", "1") not in planned


def test_a_row_that_is_no_variant_keeps_its_name():
    """`snapshot` rows (SD Table 6) are made from another setup's runs; asking which variant
    trains them must not fail while snakemake weighs the rules that could make them."""
    assert trained_variant("snapshot", 1, "cpu") == "snapshot"
