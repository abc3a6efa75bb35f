"""Replication (``make replicate``): two draws' verdicts compared on hand-made summaries whose
answer is known, and the seed offset that makes a replicate shifts every seed and nothing else."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from runvar.config import load_schema, validate_config
from runvar.config.files import read_config_file
from runvar.io import save_json
from runvar.replication import (END, START, DrawLabel, Row, arm_distance, claim_test_distance, compare,
                                contradicts, count_line, counts, cpu_model, main, margin_distance, markers,
                                parse_margin, plateau_distance, replication_markdown, seed_offset)
from runvar.seeds import SEEDED_SOURCES, VARIANTS, run_seeds

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "config" / "schema.yaml")


# --- Hand-made summaries ---------------------------------------------------------------------------

def claim(claim_no: int, verdict: str) -> dict:
    return {"level": "claim", "claim": claim_no, "test": f"claim {claim_no} text", "measure": None,
            "statistic": None, "ci95_low": None, "ci95_high": None, "margin": None, "verdict": verdict}


def a_test(claim_no: int, test: str, measure: str, stat: float, low: float, high: float,
                margin: str, verdict: str) -> dict:
    return {"level": "test", "claim": claim_no, "test": test, "measure": measure, "statistic": stat,
            "ci95_low": low, "ci95_high": high, "margin": margin, "verdict": verdict}


def arm(k: str, reduction: float | None, low: float | None, high: float | None, verdict: str | None) -> dict:
    return {"model": "lenet", "k": k, "sd_reduction": reduction, "sd_reduction_ci95_low": low,
            "sd_reduction_ci95_high": high, "verdict": verdict, "converged": True}


def plateau(setup: str, change: float, se: float, converged: bool, decision: str | None = None) -> dict:
    record = {"setup": setup, "variant": "all", "change": change, "change_se": se, "max_change": 0.3,
              "converged": converged}
    return record if decision is None else {**record, "decision": decision}


def first_draw() -> dict:
    return {
        "setup": "cnn1d",
        "sources_claims": [
            claim(1, "supported"), claim(2, "mixed"),
            a_test(1, "init / all", "accuracy SD", 1.0, 0.7, 1.4, "[0.5, 2]", "supported"),
            a_test(2, "bitflip / all", "accuracy SD", 1.0, 0.5, 2.0, ">= 0.5", "supported"),
            a_test(2, "bitflip / all", "1 - Spearman", 0.9, 0.6, 1.3, ">= 0.5", "supported"),
        ],
        "reduction_claims": [
            claim(3, "supported"),
            a_test(3, "Snapshot ensemble vs single model", "variability reduction (%)", 15.0, 5.0, 25.0,
                        "> 0", "supported"),
        ],
        "language_claims": [claim(1, "inconclusive")],
        "selection": [arm("2", 0.3, 0.1, 0.5, "consistent"), arm("4", 0.3, 0.1, 0.5, "consistent"),
                      arm("learned", None, None, None, None)],
        "plateau": [plateau("cnn1d", 0.1, 0.05, True), plateau("sel.lenet.k2", 0.2, 0.2, True, "undecided")],
        "language": [{"variant": "init", "converged": True, "plateau_change_pct": 0.5},
                     {"variant": "all", "converged": True, "plateau_change_pct": 0.5, "plateau_change_se_pct": 0.25,
                      "plateau_max_change_pct": 1.0}],
    }


def second_draw() -> dict:
    """The first draw with known changes: the bitflip accuracy test undecided, the Spearman test
    opposite (a contradiction), claim 2 not supported (a claim-level disagreement), SM k = 4
    inconclusive, cnn1d off its plateau (a contradiction), the LeNet check decided."""
    second = copy.deepcopy(first_draw())
    claims = second["sources_claims"]
    claims[1]["verdict"] = "not supported"
    claims[3].update(statistic=0.8, ci95_low=0.4, ci95_high=1.6, verdict="inconclusive")
    claims[4].update(statistic=0.3, ci95_low=0.2, ci95_high=0.45, verdict="not supported")
    second["selection"][1] = arm("4", 0.2, -0.05, 0.45, "inconclusive")
    second["plateau"] = [plateau("cnn1d", 0.35, 0.1, False), plateau("sel.lenet.k2", 0.05, 0.05, True,
                                                                     "on the plateau")]
    second["language"] = [{**r, "plateau_decision": "on the plateau"} for r in second["language"]]
    return second


def by_name(rows: list[Row]) -> dict[str, Row]:
    return {r.name: r for r in rows}


# --- Agreement, contradiction, counts --------------------------------------------------------------

def test_one_row_per_verdict_and_the_counts():
    rows = compare(first_draw(), second_draw())
    # 4 claims, 4 claim tests, 2 SM arms (learned weights have no verdict), 2 image + 1 language plateau checks
    assert [r.kind for r in rows] == ["claim"] * 4 + ["claim test"] * 4 + ["SM arm"] * 2 + ["plateau check"] * 3
    assert counts(rows) == {"verdicts": 13, "agree": 7, "same_outcome": 7, "contradict": 2, "claims": 4,
                            "claims_agree": 3}
    disagreeing = {r.name for r in rows if not r.agree}
    assert disagreeing == {"sources claim 2", "sources claim 2: bitflip / all, accuracy SD",
                           "sources claim 2: bitflip / all, 1 - Spearman", "lenet k = 4",
                           "cnn1d (all)", "sel.lenet.k2 (all)"}


def test_contradictions_are_decided_and_opposite():
    rows = by_name(compare(first_draw(), second_draw()))
    assert rows["sources claim 2: bitflip / all, 1 - Spearman"].contradict
    assert rows["cnn1d (all)"].contradict  # converged in one, not in the other: on vs not on the plateau
    for name in ("sources claim 2", "sources claim 2: bitflip / all, accuracy SD", "lenet k = 4",
                 "sel.lenet.k2 (all)"):
        assert not rows[name].agree and not rows[name].contradict, name
    assert contradicts("consistent", "below") and contradicts("above", "consistent")
    assert contradicts("supported (convergence check off)", "not supported")
    assert not contradicts("mixed", "not supported") and not contradicts("inconclusive: not converged", "supported")
    assert not contradicts("undecided", "on the plateau")


def test_inconclusive_for_another_reason_is_the_same_outcome_not_agreement():
    second = second_draw()
    second["selection"][0] = arm("2", 0.3, 0.1, 0.5, "inconclusive: not converged")
    first = first_draw()
    first["selection"][0] = arm("2", 0.3, 0.1, 0.5, "inconclusive: plateau undecided")
    rows = compare(first, second)
    k2 = by_name(rows)["lenet k = 2"]
    assert not k2.agree and k2.same_outcome and not k2.contradict
    assert not by_name(rows)["lenet k = 4"].same_outcome  # consistent vs inconclusive
    c = counts(rows)
    assert (c["agree"], c["same_outcome"]) == (6, 7)
    assert "6 of 13 verdicts agree (46%), 7 of 13 (54%) reach the same outcome" in count_line(rows)
    line = next(x for x in replication_markdown(rows, [DrawLabel(0, "A", "d"), DrawLabel(1000, "B", "d")]).splitlines()
                if "lenet k = 2" in x)
    assert [cell.strip() for cell in line.split("|")][5] == "outcome (another reason)"


def test_a_claim_level_disagreement_is_counted_and_shown():
    rows = compare(first_draw(), second_draw())
    row = by_name(rows)["sources claim 2"]
    assert (row.first, row.second, row.agree) == ("mixed", "not supported", False)
    assert "claim-level verdicts agreeing: 3 of 4" in count_line(rows)


def test_the_plateau_decision_is_used_when_present_else_converged():
    rows = by_name(compare(first_draw(), second_draw()))
    assert (rows["sel.lenet.k2 (all)"].first, rows["sel.lenet.k2 (all)"].second) == ("undecided", "on the plateau")
    assert (rows["cnn1d (all)"].first, rows["cnn1d (all)"].second) == ("on the plateau", "not on the plateau")
    language = rows["language (valid PPL, %)"]
    assert language.agree and language.first == "on the plateau"


def test_identical_draws_agree_everywhere_and_a_missing_verdict_does_not():
    rows = compare(first_draw(), first_draw())
    assert counts(rows) == {"verdicts": 13, "agree": 13, "same_outcome": 13, "contradict": 0, "claims": 4,
                            "claims_agree": 4}
    second = first_draw()
    del second["reduction_claims"]
    rows = by_name(compare(first_draw(), second))
    assert rows["reduction claim 3"].second is None and not rows["reduction claim 3"].agree
    assert not rows["reduction claim 3"].contradict


# --- Distances from the margin in SE, against hand-computed numbers ---------------------------------

def test_the_distance_of_a_ratio_test_is_on_the_log_scale():
    rows = by_name(compare(first_draw(), second_draw()))
    row = rows["sources claim 2: bitflip / all, accuracy SD"]
    # first: ln 1 - ln 0.5 = 0.6931 over SE (ln 2 - ln 0.5) / 3.92 = 0.3537: 1.96
    assert row.first_distance_se == pytest.approx(1.96)
    # second: (ln 0.8 - ln 0.5) = 0.4700 over SE (ln 1.6 - ln 0.4) / 3.92 = 1.3863 / 3.92 = 0.3536: 1.329
    assert row.second_distance_se == pytest.approx(1.32902, abs=1e-5)
    # an equivalence test: the nearer of its edges; 1.0 in [0.7, 1.4] against [0.5, 2]
    record = first_draw()["sources_claims"][2]
    assert claim_test_distance(record) == pytest.approx(math.log(2) / (math.log(2) / 3.92))


def test_the_distance_of_a_linear_test_of_an_sm_arm_and_of_a_plateau_check():
    # "> 0" on a reduction: 15 / ((25 - 5) / 3.92) = 2.94
    assert claim_test_distance(first_draw()["reduction_claims"][1]) == pytest.approx(2.94)
    # SM k = 4, consistent in the first draw (its interval's lower end over no reduction) and
    # inconclusive in the second: both measured from that edge, ratio SD_k / SD_learned 1, on the
    # log scale: 0.7 [0.5, 0.9]: ln(1 / 0.7) / (ln(0.9 / 0.5) / 3.92) = 0.3567 / 0.1499 = 2.379;
    # 0.8 [0.55, 1.05]: ln(1 / 0.8) / (ln(1.05 / 0.55) / 3.92) = 0.2231 / 0.1650 = 1.353
    rows = by_name(compare(first_draw(), second_draw()))
    assert rows["lenet k = 4"].first_distance_se == pytest.approx(2.379, abs=1e-3)
    assert rows["lenet k = 4"].second_distance_se == pytest.approx(1.353, abs=1e-3)
    # a *below* verdict turns on 25% (ratio 0.75), not on no reduction: a ratio of 1.0 [0.8, 1.25]
    # is ln(1 / 0.75) / (ln(1.25 / 0.8) / 3.92) = 2.53 SE from it, though it sits on 0% itself
    no_reduction = {"sd_reduction": 0.0, "sd_reduction_ci95_low": -0.25, "sd_reduction_ci95_high": 0.2}
    assert arm_distance(no_reduction, "below") == pytest.approx(2.527, abs=1e-3)
    assert arm_distance(no_reduction) == pytest.approx(0.0)  # the nearest edge
    second = second_draw()
    second["selection"][1] = arm("4", 0.0, -0.25, 0.2, "below")
    row = by_name(compare(first_draw(), second))["lenet k = 4"]  # consistent vs below: each its own edge
    assert row.contradict and row.second_distance_se == pytest.approx(2.527, abs=1e-3)
    # plateau: (0.3 - 0.1) / 0.05 = 4 under the threshold; (0.3 - 0.35) / 0.1 = -0.5 over it
    assert rows["cnn1d (all)"].first_distance_se == pytest.approx(4.0)
    assert rows["cnn1d (all)"].second_distance_se == pytest.approx(-0.5)
    # the language check against its 1% rule: (1 - 0.5) / 0.25
    assert rows["language (valid PPL, %)"].first_distance_se == pytest.approx(2.0)
    assert plateau_distance(-0.2, 0.1, 0.3) == pytest.approx(1.0)
    assert plateau_distance(0.2, None, 0.3) is None


def test_margins_parse_and_degenerate_intervals_have_no_distance():
    assert parse_margin("[0.5, 2]") == (0.5, 2.0) and parse_margin(">= 0.5") == (0.5,)
    assert parse_margin("> 0") == (0.0,) and parse_margin("[-1e-3, 2.5]") == (-0.001, 2.5)
    with pytest.raises(ValueError, match="no number"):
        parse_margin("at least half")
    assert margin_distance(1.0, 1.0, 1.0, [0.5], log=True) is None  # no width
    assert margin_distance(0.0, 0.0, 1.0, [0.5], log=True) is None  # log of 0
    assert arm_distance({"sd_reduction": None}) is None


# --- The table and the command ------------------------------------------------------------------------

def test_the_markdown_names_each_draw_and_shows_distances_only_for_disagreements():
    labels = [DrawLabel(0, "Intel Xeon", "2026-12-06"), DrawLabel(1000, "AMD EPYC", "2026-12-07")]
    text = replication_markdown(compare(first_draw(), second_draw()), labels)
    assert "- First draw: seed offset 0, Intel Xeon, 2026-12-06" in text
    assert "- Second draw: seed offset 1000, AMD EPYC, 2026-12-07" in text
    assert "**7 of 13 verdicts agree (54%), 2 contradict; claim-level verdicts agreeing: 3 of 4" in text
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ")}
    assert lines["cnn1d (all)"].endswith("| **contradicts** | 4.00 / -0.50 |")
    assert lines["sources claim 2: bitflip / all, accuracy SD"].endswith("| no | 1.96 / 1.33 |")
    assert lines["sources claim 1: init / all, accuracy SD"].endswith("| yes |  |")


def test_the_command_writes_between_the_markers(tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    save_json(first, first_draw())
    save_json(second, second_draw())
    doc = tmp_path / "replication.md"
    doc.write_text((REPO / "docs" / "replication.md").read_text())
    head, tail = doc.read_text().split(START)[0], doc.read_text().split(END)[1]
    assert main([str(first), str(second), "--write", str(doc), "--cpu", "Intel Xeon", "AMD EPYC",
                 "--dates", "2026-12-06", "2026-12-07",
                 "--configs", str(REPO / "config" / "config.yaml"), str(REPO / "config" / "replicate.yaml")]) == 0
    text = doc.read_text()
    assert text.startswith(head + START) and text.endswith(END + tail)
    assert "seed offset 1000, AMD EPYC, 2026-12-07" in text and "| **contradicts** |" in text


def test_a_named_section_is_written_between_its_own_markers_and_leaves_the_main_table(tmp_path, capsys):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    save_json(first, first_draw())
    save_json(second, second_draw())
    start, end = markers("third draw")
    doc = tmp_path / "replication.md"
    doc.write_text(f"{START}\nmain table\n{END}\n\nprose\n{start}\nold\n{end}\n")
    args = [str(first), str(second), "--cpu", "AMD EPYC", "--dates", "2026-12-06", "2026-12-07"]
    assert main([*args, "--write", str(doc), "--section", "third draw"]) == 0
    text = doc.read_text()
    assert text.startswith(f"{START}\nmain table\n{END}\n\nprose\n{start}\n") and text.endswith(f"{end}\n")
    assert "old" not in text and "| **contradicts** |" in text
    doc.write_text("no markers here\n")
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--write", str(doc), "--section", "fourth draw"])
    assert exit_.value.code == 2 and "replication (fourth draw)" in capsys.readouterr().err
    assert doc.read_text() == "no markers here\n"  # nothing written
    with pytest.raises(SystemExit):
        main([*args, "--section", "third draw"])  # a section without --write
    with pytest.raises(ValueError, match="lower-case letters"):
        markers("Third -->")


def test_common_compares_only_what_both_draws_hold(tmp_path, capsys):
    partial = {key: value for key, value in second_draw().items() if key not in ("selection", "language")}
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    save_json(first, first_draw())
    save_json(second, partial)
    args = [str(first), str(second), "--cpu", "AMD EPYC", "--dates", "2026-12-06", "2026-12-06"]
    assert main(args) == 0
    everything = capsys.readouterr().out
    assert "(absent)" in everything
    assert main([*args, "--common"]) == 0
    common = capsys.readouterr().out
    left_out = sum("(absent)" in line for line in everything.splitlines())
    assert "(absent)" not in common and left_out > 0
    assert f"{left_out} verdicts of only one draw are left out" in common


def test_the_labels_come_from_the_configs_and_this_machine(tmp_path):
    assert seed_offset(REPO / "config" / "config.yaml") == 0
    assert seed_offset(REPO / "config" / "replicate.yaml") == 1000
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\nflags\t: fpu\n")
    assert cpu_model(cpuinfo) == "Some CPU @ 2.0GHz"
    assert cpu_model(tmp_path / "missing") == "unknown CPU"


# --- The seed offset changes every seed and nothing else ----------------------------------------------

OFFSET = 1000


@pytest.fixture(scope="module")
def base_config() -> dict:
    return read_config_file(REPO / "config" / "config.yaml")


@pytest.fixture(scope="module")
def resolved_pair(base_config) -> tuple[dict, dict]:
    shifted = {**copy.deepcopy(base_config), "seeds": {"offset": OFFSET}}
    return validate_config(base_config, SCHEMA), validate_config(shifted, SCHEMA)


def without_the_offset(resolved: dict, offset: int) -> dict:
    """``resolved`` with every change the offset may make taken back; anything else it changed stays."""
    config = copy.deepcopy(resolved)
    config.pop("seeds")
    for block in [config["setup_defaults"], *config["setups"].values(),
                  *config["studies"]["language"]["settings"].values()]:
        assert block.pop("seed_offset") == offset
    config["synthetic"]["defaults"]["seed"] -= offset
    config["bootstrap"]["seed"] -= offset
    return config


def test_the_offset_shifts_every_setup_and_seed(resolved_pair):
    base, shifted = resolved_pair
    assert base["setups"] and base["studies"]["language"]["settings"]
    for name, setup in shifted["setups"].items():
        differing = {k for k in setup.keys() | base["setups"][name].keys() if setup.get(k) != base["setups"][name].get(k)}
        assert differing == {"seed_offset"} and setup["seed_offset"] == OFFSET, name
    assert shifted["synthetic"]["defaults"]["seed"] - base["synthetic"]["defaults"]["seed"] == OFFSET
    assert shifted["bootstrap"]["seed"] - base["bootstrap"]["seed"] == OFFSET


def test_the_offset_changes_nothing_else(resolved_pair):
    base, shifted = resolved_pair
    assert without_the_offset(shifted, OFFSET) == base


def test_the_replicate_config_is_the_quick_study_with_only_the_offset(resolved_pair):
    replicate = validate_config(read_config_file(REPO / "config" / "replicate.yaml"), SCHEMA)
    assert replicate == resolved_pair[1]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_run_seeds_with_a_shift_shifts_every_seed_only(variant):
    onsets = [0] if "init" in VARIANTS[variant] else [0, 3]
    for run in (1, 2, 7):
        for onset in onsets:
            plain, shifted = run_seeds(variant, run, onset), run_seeds(variant, run, onset, shift=OFFSET)
            for source in SEEDED_SOURCES:
                assert getattr(shifted, source) == getattr(plain, source) + OFFSET, (variant, run, source)
            assert shifted.bitflip == (None if plain.bitflip is None else plain.bitflip + OFFSET)
            assert (shifted.cudnn, shifted.varied, shifted.onset_epoch) == (plain.cudnn, plain.varied, plain.onset_epoch)
            assert (plain.shift, shifted.shift) == (0, OFFSET)
