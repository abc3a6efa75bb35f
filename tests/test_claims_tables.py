"""The shared verdict helpers, the sources claims, the table renderers and the figures."""

import ast
from pathlib import Path

import pandas as pd
import pytest

from runvar.claims import combine, format_with_interval, interval, range_verdict
from runvar.plots import save_figure
from runvar.sources.claims import claim_bitflip_as_much, claim_sources_similar
from runvar.sources.figures import sources_figure
from runvar.sources.tables import sources_frame, sources_markdown, study_frame, study_markdown
from runvar.tables import METRIC_KEYS, markdown_table, metric_cells, write_table

SRC = Path(__file__).resolve().parents[1] / "src" / "runvar"
STUDIES = ("sources", "reduction", "selection", "synthetic")


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


def test_claim_1_compares_the_largest_and_smallest_single_source():
    rows = {"init": metrics_row(1.0, (0.8, 1.2)), "shuffle": metrics_row(0.5, (0.3, 0.7))}
    claim = claim_sources_similar(rows)
    # accuracy SD intervals do not overlap (0.7 < 0.8); CE SD intervals are identical
    assert claim["verdict"] == "mixed"
    assert "largest init 1.000 [0.800, 1.200], smallest shuffle 0.500 [0.300, 0.700], ratio 2.00" in claim["statistic"]
    assert claim_sources_similar({"init": rows["init"]})["verdict"] == "not tested"


def test_claim_2_asks_bitflip_to_reach_the_largest_source():
    rows = {"init": metrics_row(1.0, (0.8, 1.2)), "bitflip": metrics_row(0.2, (0.1, 0.3), 0.001, (0.0005, 0.002))}
    assert claim_bitflip_as_much(rows)["verdict"] == "not supported"
    rows["bitflip"] = metrics_row(0.9, (0.7, 1.1))
    assert claim_bitflip_as_much(rows)["verdict"] == "supported"


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
    assert len(top) <= 14, sorted(p.name for p in top)
    for path in SRC.rglob("*.py"):
        own = path.relative_to(SRC).parts[0]
        for module, names in _imports(path):
            parts = module.split(".")
            if len(parts) > 1 and parts[0] == "runvar" and parts[1] in STUDIES:
                assert parts[1] == own, f"{path} imports study {module}"
            assert not [n for n in names if n.startswith("_") and n != "__version__"], f"{path}: {module} {names}"
