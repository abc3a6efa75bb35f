"""Unchecked is not converged: a row without a plateau check makes its claims `inconclusive:
convergence not checked`, unless the config switches the check off for its setup (then the
claims table says so beside each verdict). And the claims notes say what the intervals assume."""

import copy
from pathlib import Path

import pytest
import yaml

from runvar.claims import CHECK_OFF_NOTE, INTERVAL_NOTE, NOT_CHECKED, NOT_CONVERGED, claims_markdown
from runvar.config import ConfigError, load_schema, validate_config
from runvar.reduction.claims import claim_reduction
from runvar.plateau import with_plateau
from runvar.sources.claims import sources_claims
from runvar.studies import plan_studies
from tests.test_claims_tables import sources_rows

REPO = Path(__file__).resolve().parents[1]


def unchecked(rows, off=False):
    """The rows as variant_metrics writes them without a plateau check."""
    return {variant: with_plateau({k: v for k, v in row.items() if k != "converged"}, None, off=off)
            for variant, row in rows.items()}


def test_an_unchecked_setup_claims_are_inconclusive_never_supported_or_not():
    for scale in (1.0, 0.1):  # supported and not supported with a check
        claims, tests = sources_claims(unchecked(sources_rows(bitflip_scale=scale)), resamples=300)
        assert [c["verdict"] for c in claims] == [NOT_CHECKED, NOT_CHECKED]
        assert {t["verdict"] for t in tests} == {NOT_CHECKED}
    assert NOT_CHECKED == "inconclusive: convergence not checked"


def test_one_unchecked_row_is_enough_and_not_converged_wins():
    rows = sources_rows()
    rows["bitflip"] = unchecked({"bitflip": rows["bitflip"]})["bitflip"]
    claims, tests = sources_claims(rows, resamples=300)
    assert claims[0]["verdict"] == "supported" and claims[1]["verdict"] == NOT_CHECKED
    rows["all"]["converged"] = False  # claim 2 has tests of bitflip / all (not converged) and / init
    claims, tests = sources_claims(rows, resamples=300)
    assert [c["verdict"] for c in claims] == [NOT_CONVERGED, NOT_CONVERGED]
    assert {t["verdict"] for t in tests if t["test"] == "bitflip / init"} == {NOT_CHECKED}


def test_reduction_claims_gate_on_unchecked_rows_too():
    rows = unchecked(sources_rows())
    claims, tests = claim_reduction(rows["all"], {"Snapshot": rows["init"]}, resamples=200)
    assert claims[0]["verdict"] == NOT_CHECKED and tests[0]["verdict"] == NOT_CHECKED


def test_check_switched_off_keeps_verdicts_and_says_so_beside_each():
    claims, tests = sources_claims(unchecked(sources_rows(), off=True), resamples=300)
    assert [c["verdict"] for c in claims] == ["supported" + CHECK_OFF_NOTE] * 2
    assert {t["verdict"] for t in tests} == {"supported (convergence check off)"}
    text = claims_markdown("Claims: cnn", claims, tests)
    assert "| **supported (convergence check off)** | 4 supported (convergence check off) of 4 tests |" in text
    assert text.count("| supported (convergence check off) (") == len(tests)  # each test row, its runs beside


def test_claims_notes_say_the_intervals_are_conservative_for_related_rows():
    claims, tests = sources_claims(sources_rows(), resamples=200)
    for notes in ("", "\nStatistic: a ratio.\n"):
        text = claims_markdown("Claims: cnn", claims, tests, notes)
        assert text.endswith(notes + INTERVAL_NOTE if notes else "\n" + INTERVAL_NOTE)
    assert "share seeds by design" in INTERVAL_NOTE and "independently" in INTERVAL_NOTE
    assert ("the intervals of ratios of positively related rows are conservative (wider than a paired "
            "bootstrap's)") in " ".join(INTERVAL_NOTE.split())


def tiny_config(**extra):
    raw = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    return validate_config({**raw, **extra}, load_schema(REPO / "config" / "schema.yaml"))


def test_convergence_check_off_trains_no_check_for_that_setup():
    config = tiny_config()
    checked = plan_studies(config)["plateau"].detail["doubled"]
    assert {"tiny_cnn", "tiny_mlp"} <= set(checked)
    config = tiny_config(convergence_check={"off": ["tiny_mlp"]})  # the schema knows the key
    plans = plan_studies(config)
    assert "tiny_mlp" not in plans["plateau"].detail["doubled"] and "tiny_cnn" in plans["plateau"].detail["doubled"]
    assert all("tiny_mlp" not in plan.recipes for plan in plans.values())
    bad = copy.deepcopy(config)
    bad["convergence_check"] = {"off": ["tiny_rnn"]}
    with pytest.raises(ConfigError, match=r"convergence_check.off: \['tiny_rnn'\] are not setups whose rows a "
                                          r"table uses; valid: \['tiny_cnn', 'tiny_mlp'\]"):
        plan_studies(bad)
