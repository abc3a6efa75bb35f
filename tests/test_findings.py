"""The README's findings are rendered from results by code, and match the committed summary."""

import json
from pathlib import Path

import pytest

from runvar.summary import END, START, findings_markdown, readme_findings, update_readme

REPO = Path(__file__).resolve().parents[1]


def summary():
    """A small summary in the shape `collect` makes from the result CSVs."""
    sources = [{"variant": v, "runs": r, "accuracy_sd": sd, "accuracy_mean": 97.8}
               for v, r, sd in [("none", 3, 0.0), ("init", 10, 0.31), ("shuffle", 10, 0.52), ("all", 10, 0.4),
                                ("bitflip", 10, 0.25)]]
    claim_rows = [
        {"level": "claim", "claim": 1, "test": "Sources ...", "verdict": "inconclusive", "summary": "4 inconclusive of 4 tests"},
        {"level": "claim", "claim": 2, "test": "A one-bit ...", "verdict": "supported", "summary": "10 supported of 10 tests"},
    ] + [{"level": "test", "claim": 2, "test": t, "measure": m, "statistic": s, "ci95_low": s / 2, "ci95_high": s * 2,
          "verdict": "supported", "runs_to_decide": 8}
         for t in ("bitflip (4 bases) / all", "bitflip (4 bases) / init") for m, s in (("accuracy bulk SD", 0.62), ("disagreement", 0.9))]
    claim_rows[-1].update(verdict="inconclusive", runs_to_decide=37)
    plateau = [{"setup": "cnn1d", "epochs": 120, "double_epochs": 240, "change": 0.13, "change_se": 0.05,
                "decision": "on the plateau", "converged": True, "cross_entropy_change_pct": -16.0},
               {"setup": "mlp512", "epochs": 15, "double_epochs": 30, "change": 4.2, "change_se": 0.3,
                "decision": "not on the plateau", "converged": False, "cross_entropy_change_pct": -9.0},
               {"setup": "hidden", "epochs": 50, "double_epochs": 100, "change": 0.26, "change_se": 0.05,
                "decision": "undecided", "converged": False, "cross_entropy_change_pct": -2.0}]
    return {"setup": "cnn1d", "sources": sources, "sources_claims": claim_rows, "plateau": plateau}


def test_findings_quote_the_results():
    text = findings_markdown(summary())
    assert ("cnn1d trains 120 epochs to 97.80% mean test accuracy (`all`); the same seeds at 240 epochs change it "
            "by +0.13 points (SE 0.05; test CE -16.0%)") in text
    assert ("Recipes the tables use decided on their plateau (the change below 0.3 points by 1.645 SE): 1 of 3; "
            "not on the plateau: mlp512 (+4.20, SE 0.30); undecided: hidden (+0.26, SE 0.05).") in text
    assert "- `none`: 3 runs, accuracy SD exactly 0 (bitwise identical predictions)." in text
    assert "accuracy SD 0.31-0.52%; `all` 0.40% (R = 10); bitflip around one base (SD's row) 0.25% (R = 10)" in text
    assert "Claim 1 (sources alike): **inconclusive** (4 inconclusive of 4 tests; bulk-SD ratio" in text
    assert "bitflip (4 bases) / all: accuracy bulk SD 0.62 [0.31, 1.24], disagreement 0.90 [0.45, 1.80]" in text
    assert ("- Decided: 3 of 4 claim tests and weight-selection arms; runs that would decide the rest at their "
            "observed effects (a planning figure): bitflip (4 bases) / init disagreement: 37 runs.") in text
    summary_decided = summary()
    summary_decided["sources_claims"][-1]["verdict"] = "not supported"
    assert findings_markdown(summary_decided).count(
        "; decided: bitflip (4 bases) / all accuracy bulk SD 0.62 [0.31, 1.24] supported") == 1
    assert "bitflip (4 bases) / init disagreement 0.90 [0.45, 1.80] not supported." in findings_markdown(summary_decided)


def test_update_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{START}\nold text\n{END}\n\n## Next\n")
    update_readme(readme, summary())
    assert readme.read_text().startswith(f"# Title\n\n{START}\n- Convergence: cnn1d")
    assert readme.read_text().endswith(f"{END}\n\n## Next\n")
    assert readme_findings(readme) == findings_markdown(summary())
    (tmp_path / "bare.md").write_text("no markers\n")
    with pytest.raises(ValueError, match="findings markers not found"):
        update_readme(tmp_path / "bare.md", summary())


def test_readme_findings_match_the_committed_summary():
    committed = json.loads((REPO / "tests/data/quick_summary.json").read_text())
    assert readme_findings(REPO / "README.md") == findings_markdown(committed), (
        "README findings differ from tests/data/quick_summary.json: run `make findings`"
    )


def test_findings_quote_the_bulk_sds_and_the_runs_set_aside_when_the_table_has_them():
    assert "Bulk SDs" not in findings_markdown(summary())  # a table from before the bulk SD: nothing invented
    with_bulk = summary()
    for row, (bulk, aside) in zip(with_bulk["sources"], [(0.0, 0), (0.12, 0), (0.11, 2), (0.14, 0), (0.2, 0)]):
        row.update(accuracy_bulk_sd=bulk, runs_set_aside=aside)
    text = findings_markdown(with_bulk)
    assert ("bitflip around one base (SD's row) 0.25% (R = 10). Bulk SDs (the claims' spread, rare bad runs set "
            "aside): 0.11-0.14%; runs set aside: shuffle 2 of 30.") in text
