"""The shared verdict helpers, the sources claims, the table renderers and the figures."""

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runvar.claims import (NOT_CONVERGED, claims_markdown, combine, format_with_interval, interval,
                           range_verdict, ratio_with_interval, resampled_measure)
from runvar.plots import save_figure
from runvar.sources.claims import sources_claims
from runvar.sources.figures import sources_figure
from runvar.sources.tables import sources_frame, sources_markdown, study_frame, study_markdown
from runvar.tables import METRIC_KEYS, markdown_table, metric_cells, write_table

SRC = Path(__file__).resolve().parents[1] / "src" / "runvar"
STUDIES = ("sources", "reduction", "selection", "synthetic", "convergence", "language")


def metrics_row(acc_sd, ci, ce_sd=0.01, ce_ci=(0.005, 0.015), **extra):
    row = {
        "runs": 10, "accuracy_sd": acc_sd, "accuracy_sd_sd": 0.1, "accuracy_sd_ci95": list(ci),
        "cross_entropy_sd": ce_sd, "cross_entropy_sd_sd": 0.002, "cross_entropy_sd_ci95": list(ce_ci),
        "pairwise_disagreement": 5.0, "pairwise_spearman": 0.95, "ensemble_delta_accuracy": 0.4,
        "accuracy_mean": 97.5,
    }
    row.update(extra)
    return row


def test_interval_helpers_read_and_format_the_ci95():
    row = metrics_row(0.5, (0.25, 0.75))
    assert interval(row, "accuracy_sd") == (0.25, 0.75)
    assert format_with_interval("init", row, "accuracy_sd", "{:.3f}") == "init 0.500 [0.250, 0.750]"


@pytest.mark.parametrize("verdicts, expected", [([True, True], "supported"), ([False, False], "not supported"),
                                                ([True, False], "mixed")])
def test_combine(verdicts, expected):
    assert combine(verdicts) == expected


@pytest.mark.parametrize("ci, expected", [((0.0, 0.2), "below"), ((0.5, 0.6), "above"),
                                          ((0.1, 0.3), "consistent"), ((-0.1, 0.3), "inconclusive")])
def test_range_verdict(ci, expected):
    assert range_verdict(ci, (0.25, 0.40)) == expected


def claim_row(accuracy, cross_entropy, disagreement, spearman, delta, converged=True):
    """A metrics row with per-run values and per-pair values (i < j, row-major)."""
    acc, ce = np.asarray(accuracy, float), np.asarray(cross_entropy, float)
    return {"runs": len(acc), "accuracy_sd": float(acc.std()), "cross_entropy_sd": float(ce.std()),
            "pairwise_disagreement": float(np.mean(disagreement)), "pairwise_spearman": float(np.mean(spearman)),
            "ensemble_delta_accuracy": float(np.mean(delta)), "converged": converged,
            "per_run": {"accuracy": list(acc), "cross_entropy": list(ce)},
            "pairs": {"pairwise_disagreement": list(disagreement), "pairwise_spearman": list(spearman),
                      "ensemble_delta_accuracy": list(delta)}}


def test_resampled_measure_skips_a_run_paired_with_itself():
    row = claim_row([90, 91, 92], [0.3, 0.2, 0.1], [4.0, 6.0, 8.0], [0.9, 0.8, 0.7], [1.0, 2.0, 3.0])
    idx = np.array([[0, 0, 1], [0, 1, 2], [2, 2, 2]])
    disagreement = resampled_measure(row, "pairwise_disagreement", idx)
    assert disagreement[:2].tolist() == [4.0, 6.0] and np.isnan(disagreement[2])
    assert resampled_measure(row, "decorrelation", idx[1:2]) == pytest.approx([0.2])
    assert resampled_measure(row, "accuracy_sd", idx[:1]) == pytest.approx([np.std([90, 90, 91])])


def test_ratio_with_interval_matches_hand_computed_sd_ratio():
    a = claim_row([1, 2, 3, 4], [1, 1, 1, 2], [1] * 6, [0.5] * 6, [1] * 6)
    b = claim_row([1, 3, 5, 7], [1, 1, 1, 2], [2] * 6, [0.5] * 6, [1] * 6)
    ratio, (low, high) = ratio_with_interval(a, b, "accuracy_sd", resamples=2000)
    assert ratio == pytest.approx(np.std([1, 2, 3, 4]) / np.std([1, 3, 5, 7])) == pytest.approx(0.5)
    assert low < 0.5 < high
    assert ratio_with_interval(a, b, "pairwise_disagreement", resamples=200) == (0.5, (0.5, 0.5))
    assert ratio_with_interval(a, b, "decorrelation", resamples=200) == (1.0, (1.0, 1.0))


def sources_rows(bitflip_scale=1.0, converged=True):
    """Rows of a sources table whose variants differ in spread by known factors."""
    rng = np.random.default_rng(3)
    base_acc, base_ce = rng.normal(size=60), rng.normal(size=60)
    pairs = len(np.triu_indices(60, k=1)[0])
    def row(scale):
        return claim_row(97 + scale * base_acc, 0.1 + 0.01 * scale * base_ce, np.full(pairs, 5.0 * scale),
                         np.full(pairs, 1 - 0.05 * scale), np.full(pairs, 0.5 * scale), converged)
    return {"init": row(1.0), "shuffle": row(1.1), "all": row(1.0), "bitflip": row(bitflip_scale)}


def test_sources_claims_supported_when_sources_and_bitflip_match_all():
    claims, tests = sources_claims(sources_rows(), margin=(0.5, 2.0), resamples=2000)
    assert [c["verdict"] for c in claims] == ["supported", "supported"]
    first = tests[0]
    assert (first["claim"], first["test"], first["measure"], first["margin"]) == ("1", "init / all", "accuracy bulk SD", "[0.5, 2]")
    assert first["statistic"] == pytest.approx(1.0) and first["ci95_low"] <= 1.0 <= first["ci95_high"]
    assert len([t for t in tests if t["claim"] == "2"]) == 10  # 5 measures x (all, init)


def test_claim_2_not_supported_when_one_bit_changes_a_tenth():
    claims, tests = sources_claims(sources_rows(bitflip_scale=0.1), margin=(0.5, 2.0), resamples=2000)
    assert claims[1]["verdict"] == "not supported"
    assert {t["verdict"] for t in tests if t["claim"] == "2"} == {"not supported"}
    assert [t["statistic"] for t in tests if t["measure"] == "disagreement" and t["claim"] == "2"] == pytest.approx([0.1, 0.1])


def test_undertrained_runs_make_every_claim_inconclusive_not_converged():
    claims, tests = sources_claims(sources_rows(converged=False), resamples=500)
    assert [c["verdict"] for c in claims] == [NOT_CONVERGED, NOT_CONVERGED]
    assert {t["verdict"] for t in tests} == {NOT_CONVERGED}


def test_claims_markdown_lists_claims_then_tests():
    claims, tests = sources_claims(sources_rows(), resamples=200)
    text = claims_markdown("Claims: cnn", claims, tests)
    assert text.startswith("## Claims: cnn\n\n| Claim |  | Verdict | Tests |")
    assert "| 1 | Sources of nondeterminism have similar effects on variability | **supported** | 4 supported of 4 tests |" in text
    assert "| 2 | bitflip / init | ensemble gain | 1 | [" in text


def test_metric_cells_print_tiny_sds_in_scientific_notation():
    row = metrics_row(3.2e-7, (0, 1), ce_sd=5.15e-9, cross_entropy_sd_sd=1.0e-9)
    cells = metric_cells(row)
    assert cells[0] == "3.20e-07 ± 0.100"
    assert cells[1] == "5.15e-09 ± 1.00e-09"
    assert cells[2:] == ["5.00", "0.9500", "0.400", "97.50"]


def test_sources_markdown_rows_and_cpu_cudnn_note(tmp_path):
    rows = {"none": metrics_row(0.0, (0, 0)), "shuffle+cudnn": metrics_row(0.5, (0.3, 0.7))}
    frame = sources_frame(rows)
    assert list(frame["variant"]) == ["none", "shuffle+cudnn"]
    assert set(METRIC_KEYS) <= set(frame.columns)
    text = sources_markdown(frame, "Sources")
    assert text.startswith("## Sources\n\n| Variant | R | Accuracy SD (%) |")
    assert "| shuffle+cudnn | 10 | 0.500 ± 0.100 |" in text
    assert "ran on CPU" in text
    write_table(frame, text, tmp_path / "t.csv", tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text() == text
    assert pd.read_csv(tmp_path / "t.csv")["accuracy_sd"].tolist() == [0.0, 0.5]


def test_study_markdown_has_one_row_per_setup_and_variant():
    frame = study_frame({("linear", "init"): metrics_row(0.3, (0, 1)), ("mlp", "bitflip"): metrics_row(0.2, (0, 1))})
    text = study_markdown(frame, "Depth")
    assert "| linear | init | 10 | 0.300 ± 0.100 |" in text and "| mlp | bitflip | 10 |" in text


def test_markdown_table_layout():
    assert markdown_table(["a"], [[1], [2]]) == "| a |\n|---|\n| 1 |\n| 2 |\n"


def test_sources_figure_is_written_as_png_and_pdf(tmp_path):
    rows = {"init": metrics_row(1.0, (0.8, 1.2)), "bitflip": metrics_row(0.5, (0.3, 0.7))}
    save_figure(sources_figure(rows, "t"), tmp_path / "f.png", tmp_path / "f.pdf")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names) of every ``from X import names`` in ``path``, X made absolute."""
    package = path.relative_to(SRC.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.append((module, [a.name for a in node.names]))
    return found


def test_layout_studies_are_independent_and_no_private_name_crosses_modules():
    top = [p for p in SRC.glob("*.py")]
    # the cross-study modules: helpers, claims and their verdicts, the forest plot, replication,
    # the training allocator
    assert len(top) <= 17, sorted(p.name for p in top)
    for path in SRC.rglob("*.py"):
        own = path.relative_to(SRC).parts[0]
        for module, names in _imports(path):
            parts = module.split(".")
            if len(parts) > 1 and parts[0] == "runvar" and parts[1] in STUDIES:
                assert parts[1] == own, f"{path} imports study {module}"
            assert not [n for n in names if n.startswith("_") and n != "__version__"], f"{path}: {module} {names}"
