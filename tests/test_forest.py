"""The forest plot of every claim test (runvar.forest), drawn from hand-made test rows."""

import base64
import math

import matplotlib.colors as mcolors
import pytest

from runvar.claims import claims_frame
from runvar.forest import (FOREST_ALT, FOREST_FILES, VERDICT_STYLES, claims_files, forest_figure, forest_html,
                           forest_targets, load_claim_tests, parse_margin, verdict_kind)
from runvar.plots import save_figure
from runvar.studies import StudyPlan


def claim_test(claim, test, measure, statistic, low, high, margin, verdict, study="sources_cnn"):
    return {"claim": claim, "test": test, "measure": measure, "statistic": statistic, "ci95_low": low,
            "ci95_high": high, "margin": margin, "verdict": verdict, "study": study}


ROWS = [
    claim_test(1, "init / all", "accuracy SD", 1.1, 0.7, 1.6, "[0.5, 2]", "supported"),
    claim_test(2, "bitflip / all", "1 - Spearman", 0.2, 0.15, 0.26, ">= 0.5", "not supported"),
    claim_test(2, "bitflip / all", "accuracy SD", 0.8, 0.3, 1.9, ">= 0.5", "inconclusive"),
    claim_test(1, "init / all", "PPL SD", 1.2, 0.5, 2.4, "[0.5, 2]", "inconclusive: not converged", "language_q"),
    claim_test(3, "Snapshot ensemble vs single model", "variability reduction (%)", -6.0, -45.0, 14.0, "> 0",
             "inconclusive", "reduction_cnn"),
    claim_test(3, "Single/crop5 tta vs single model", "variability reduction (%)", 21.0, 4.6, 36.0, "> 0",
             "supported", "reduction_cnn"),
]


def lines(ax, gid):
    return [line for line in ax.lines if line.get_gid() == gid]


@pytest.fixture(scope="module")
def figure():
    fig = forest_figure(ROWS)
    yield fig
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_one_row_per_test_ratio_tests_on_a_log_axis(figure):
    ratio, reduction = figure.axes
    assert ratio.get_xscale() == "log" and reduction.get_xscale() == "linear"
    assert len(lines(ratio, "statistic")) == 4 and len(lines(ratio, "interval")) == 4
    assert len(lines(reduction, "statistic")) == 2 and len(lines(reduction, "interval")) == 2
    labels = [t.get_text() for t in ratio.get_yticklabels()]
    assert labels == ["claim 1: init / all, accuracy SD", "claim 2: bitflip / all, 1 - Spearman",
                      "claim 2: bitflip / all, accuracy SD", "claim 1: init / all, PPL SD"]
    # one measure in the panel: named once, on its axis
    assert [t.get_text() for t in reduction.get_yticklabels()][0] == "claim 3: Snapshot ensemble vs single model"
    assert reduction.get_xlabel().startswith("variability reduction (%)")
    # grouped by study and claim: a heading above each group, in the order given
    headings = [t.get_text() for t in ratio.texts if t.get_fontweight() == "bold" and "claim" in t.get_text()]
    assert headings == ["sources · cnn, claim 1", "sources · cnn, claim 2", "language · q, claim 1"]


def test_colour_and_marker_by_verdict(figure):
    ratio, reduction = figure.axes
    kinds = ["supported", "not supported", "inconclusive", "gated"]
    for line, kind in zip(lines(ratio, "statistic"), kinds):
        assert mcolors.same_color(line.get_color(), VERDICT_STYLES[kind]["color"]), kind
        assert line.get_marker() == VERDICT_STYLES[kind]["marker"]
    gated = lines(ratio, "statistic")[3]
    assert mcolors.same_color(gated.get_markerfacecolor(), "white")  # hollow: a withheld verdict
    assert lines(ratio, "interval")[3].get_linestyle() != "-"
    for line, kind in zip(lines(reduction, "statistic"), ["inconclusive", "supported"]):
        assert mcolors.same_color(line.get_color(), VERDICT_STYLES[kind]["color"])
    supported_green = VERDICT_STYLES["supported"]["color"]
    assert len({VERDICT_STYLES[k]["color"] for k in ("supported", "not supported", "inconclusive")}) == 3
    verdicts = [t for t in ratio.texts if t.get_text() == "supported"]
    assert len(verdicts) == 1 and mcolors.same_color(verdicts[0].get_color(), supported_green)
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()][1:] == [s["label"] for s in VERDICT_STYLES.values()]


def test_the_margin_is_shaded_where_the_claim_holds(figure):
    ratio, reduction = figure.axes
    margins = [p for p in ratio.patches if p.get_gid() == "margin"]
    assert len(margins) == 4
    equivalence, one_sided = margins[0], margins[1]
    assert equivalence.get_x() == 0.5 and equivalence.get_x() + equivalence.get_width() == pytest.approx(2.0)
    assert one_sided.get_x() == 0.5
    assert one_sided.get_x() + one_sided.get_width() == pytest.approx(ratio.get_xlim()[1])
    assert ratio.get_xlim()[0] < 0.15 and ratio.get_xlim()[1] > 2.4  # every interval and margin in view
    above_zero = [p for p in reduction.patches if p.get_gid() == "margin"]
    assert len(above_zero) == 2 and above_zero[0].get_x() == 0
    assert above_zero[0].get_x() + above_zero[0].get_width() == pytest.approx(reduction.get_xlim()[1])
    assert reduction.get_xlim()[0] < -45


def test_unbounded_intervals_run_to_the_axis_edge():
    rows = [claim_test(2, "bitflip / init", "accuracy SD", 0.0, 0.0, math.inf, ">= 0.5", "inconclusive"),
            claim_test(2, "bitflip / all", "CE SD", 0.9, 0.4, 1.5, ">= 0.5", "inconclusive")]
    fig = forest_figure(rows)
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    assert 0 < low and math.isfinite(high)
    interval = lines(ax, "interval")[0].get_xdata()
    assert list(interval) == [low, high] and len(lines(ax, "clipped")) == 2
    assert len(lines(ax, "statistic")) == 1  # a ratio of 0 has no place on a log axis
    assert len(fig.axes) == 1  # no reduction tests, no reduction panel


def test_margins_and_verdicts_that_are_not_known_fail():
    assert parse_margin("[0.25, 4]") == (0.25, 4.0, "log")
    with pytest.raises(ValueError, match="margin"):
        parse_margin("within 2x")
    assert verdict_kind("inconclusive: plateau undecided") == "gated"
    assert verdict_kind("supported (convergence check off)") == "supported"
    with pytest.raises(ValueError, match="mixed"):
        verdict_kind("mixed")
    with pytest.raises(ValueError, match="no claim tests"):
        forest_figure([])


def test_claims_csvs_to_a_png(tmp_path):
    """The rows as the claims rules write them (runvar.claims.claims_frame), read back with their
    study and claim text, drawn to PNG and PDF."""
    paths = []
    for stem, rows in (("sources_cnn", ROWS[:3]), ("reduction_cnn", ROWS[4:])):
        claims = [{"claim": c, "text": f"claim {c} text", "verdict": "mixed", "summary": "2 tests"}
                  for c in sorted({r["claim"] for r in rows})]
        path = tmp_path / f"{stem}.csv"
        claims_frame(claims, rows).to_csv(path, index=False)
        paths.append(path)
    tests = load_claim_tests(paths)
    assert [t["study"] for t in tests] == ["sources_cnn"] * 3 + ["reduction_cnn"] * 2
    assert tests[1]["claim_text"] == "claim 2 text" and tests[1]["margin"] == ">= 0.5"
    fig = forest_figure(tests)
    headings = [t.get_text() for t in fig.axes[0].texts if t.get_fontweight() == "bold" and "text" in t.get_text()]
    assert headings == ["sources · cnn, claim 1: claim 1 text", "sources · cnn, claim 2: claim 2 text"]
    png, pdf = tmp_path / "forest.png", tmp_path / "forest.pdf"
    save_figure(fig, png, pdf)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:4] == b"%PDF"
    fragment = forest_html(png)
    assert fragment.startswith('<figure class="runvar-forest"') and f'alt="{FOREST_ALT}"' in fragment
    data = fragment.split("base64,")[1].split('"')[0]
    assert base64.b64decode(data) == png.read_bytes()


def test_claims_files_are_found_in_the_plans():
    plans = {
        "sources": StudyPlan(targets=["results/tables/sources_a.csv", "results/claims/sources_a.csv",
                                      "results/claims/sources_a.md", "results/claims/sources_b.csv"]),
        "reduction": StudyPlan(targets=["results/tables/tta_a.csv", "results/claims/reduction_a.csv"]),
        "language": StudyPlan(targets=["results/claims/language_q.csv", "results/claims/language_q.md"]),
        "plateau": StudyPlan(targets=["results/tables/plateau.csv"]),
    }
    assert claims_files(plans) == ["results/claims/sources_a.csv", "results/claims/sources_b.csv",
                                   "results/claims/reduction_a.csv", "results/claims/language_q.csv"]
    assert forest_targets(plans) == [FOREST_FILES["png"], FOREST_FILES["pdf"], FOREST_FILES["html"]]
    assert forest_targets({"plateau": plans["plateau"]}) == []
