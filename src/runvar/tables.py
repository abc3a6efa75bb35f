"""Table helpers shared by the studies: the variability columns, Markdown, atomic CSV/Markdown,
and the Markdown as HTML for the Snakemake report.

>>> print(markdown_table(["a", "b"], [[1, 2]]), end="")
| a | b |
|---|---|
| 1 | 2 |
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .io import write_atomic
from .plateau import OFF_PLATEAU, ON_PLATEAU, UNDECIDED, decision_of

#: (metrics key, Markdown column, format, error-bar key or None)
SOURCES_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("accuracy_sd", "Accuracy SD (%)", "{:.3f}", "accuracy_sd_sd"),
    ("cross_entropy_sd", "Cross-entropy SD", "{:.4f}", "cross_entropy_sd_sd"),
    ("pairwise_disagreement", "Pairwise disagreement (%)", "{:.2f}", None),
    ("pairwise_spearman", "Pairwise Spearman correlation", "{:.4f}", None),
    ("ensemble_delta_accuracy", "Ensemble delta (%)", "{:.3f}", None),
    ("accuracy_mean", "Mean accuracy (%)", "{:.2f}", None),
)


METRIC_KEYS = ["runs"] + [k for k, *_ in SOURCES_COLUMNS] + [e for *_, e in SOURCES_COLUMNS if e]


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


NOTES = (
    "\nSD: population SD (ddof=0) over runs; ± : SD of the SD over bootstrap resamples of "
    "the runs. Pairwise metrics: means over all run pairs; ensemble delta: accuracy of the "
    "two-run logit-averaged ensemble minus the pair's mean accuracy.\n"
)


def metric_cells(row: Mapping) -> list[str]:
    """The row's :data:`SOURCES_COLUMNS` as text, SDs as "SD ± bootstrap SD-of-SD"."""
    cells = []
    for key, _, fmt, err in SOURCES_COLUMNS:
        value = row[key]
        # tiny SDs (a linear model under bitflip: ~1e-8) would print as 0.0000
        cell = f"{value:.2e}" if 0 < abs(value) < 1e-3 and err else fmt.format(value)
        if err:
            cell += " ± " + (f"{row[err]:.2e}" if 0 < abs(row[err]) < 1e-3 else fmt.format(row[err]))
        cells.append(cell)
    return cells


#: The look of :func:`markdown_html`'s tables, in the report's iframe and on its front page alike;
#: a table wider than the page scrolls in its own box instead of running under what is beside it.
MARKDOWN_HTML_STYLE = (
    ".runvar-md{font-family:system-ui,sans-serif;font-size:14px;line-height:1.45;max-width:100%}"
    ".runvar-md .runvar-table{overflow-x:auto;max-width:100%}"
    ".runvar-md table{border-collapse:collapse;margin:.5em 0 1em;width:auto;font-size:13px}"
    ".runvar-md th,.runvar-md td{border-bottom:1px solid #d4d4d8;padding:.3em .45em;text-align:left;vertical-align:top}"
    ".runvar-md th{border-bottom-width:2px}"
    ".runvar-md code::before,.runvar-md code::after{content:none}"
)


def _inline_html(text: str) -> str:
    """One Markdown cell or line as HTML: escaped, with ``**bold**`` and ```code``` spans."""
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def markdown_html(markdown: str) -> str:
    """The Markdown this package writes (``#`` headings, :func:`markdown_table` tables, text
    lines) as an HTML fragment, every cell's text as in the Markdown (so numbers rounded as
    there): the report shows it where it would show a raw CSV. Each text line is a paragraph.

    >>> md = "## T\\n\\n" + markdown_table(["a", "b"], [["**x** < 1", "`y`"]]) + "\\nnote\\n"
    >>> print(markdown_html(md))  # doctest: +ELLIPSIS
    <div class="runvar-md"><style>...</style>
    <h2>T</h2>
    <div class="runvar-table"><table>
    <thead><tr><th>a</th><th>b</th></tr></thead>
    <tbody>
    <tr><td><strong>x</strong> &lt; 1</td><td><code>y</code></td></tr>
    </tbody></table></div>
    <p>note</p>
    </div>
    """
    out = [f'<div class="runvar-md"><style>{MARKDOWN_HTML_STYLE}</style>']
    table: list[list[str]] = []

    def cells(line: str) -> list[str]:
        return [_inline_html(c.strip()) for c in line.strip()[1:-1].split(" | ")]

    def flush() -> None:
        if table:
            head, body = table[0], table[2:]  # table[1] is the |---| line
            out.append('<div class="runvar-table"><table>\n<thead><tr>' + "".join(f"<th>{c}</th>" for c in head)
                       + "</tr></thead>\n<tbody>")
            out.extend("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
            out.append("</tbody></table></div>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(cells(line))
            continue
        flush()
        heading = re.match(r"(#{1,6}) (.*)", line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline_html(heading.group(2))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline_html(line.strip())}</p>")
    flush()
    return "\n".join(out) + "\n</div>"


def write_table(frame: pd.DataFrame, markdown: str, csv_path: str | os.PathLike[str],
                md_path: str | os.PathLike[str], html_path: str | os.PathLike[str] | None = None) -> None:
    """Write the CSV and Markdown versions atomically, and the Markdown as HTML
    (:func:`markdown_html`) when ``html_path`` is given."""
    write_atomic(csv_path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g"))
    write_atomic(md_path, lambda tmp: Path(tmp).write_text(markdown))
    if html_path is not None:
        write_atomic(html_path, lambda tmp: Path(tmp).write_text(markdown_html(markdown) + "\n", encoding="utf-8"))


def plateau_frame(checks: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per recipe's plateau check (:func:`runvar.plateau.plateau_check`)."""
    keys = ["setup", "variant", "runs", "epochs", "double_epochs", "accuracy", "accuracy_double", "change",
            "change_se", "max_change", "converged", "decision", "runs_to_decide", "cross_entropy",
            "cross_entropy_double", "cross_entropy_change_pct", "check_examples", "test_change",
            "own_change", "own_change_se", "pool", "pool_members", "pool_change", "pool_change_se", "pool_p", "pool_refused"]

    def row(check: Mapping) -> dict:
        pool = check.get("pool") or {}
        flat = {"pool": pool.get("name"), "pool_members": len(pool.get("members", [])) or None,
                "pool_change": pool.get("change"), "pool_change_se": pool.get("change_se"), "pool_p": pool.get("p"),
                "pool_refused": "refused" in pool if pool else None}
        return {**{key: check.get(key) for key in keys}, **flat, "decision": decision_of(check)}

    return pd.DataFrame([row(check) for check in checks.values()], columns=keys)


def _decision_cell(row: Mapping) -> str:
    decision, limit = row["decision"], f"{row['max_change']:g}"
    if decision == ON_PLATEAU:
        return f"yes (< {limit} by 1.645 SE)"
    runs = row.get("runs_to_decide")
    more = f"; about {int(runs)} runs would decide" if runs is not None and not pd.isna(runs) else ""
    return f"**no** (> {limit} by 1.645 SE)" if decision == OFF_PLATEAU else f"**undecided**{more}"


def _own(row: Mapping, key: str) -> float:
    own = row.get(f"own_{key}")
    return row[key] if own is None or pd.isna(own) else own


def _pool_cell(row: Mapping) -> str:
    if row.get("pool") is None or pd.isna(row.get("pool_change")):
        return ""
    cell = (f"{row['pool']} ({int(row['pool_members'])}): {row['pool_change']:+.2f} (SE {row['pool_change_se']:.2f}), "
            f"p {row['pool_p']:.2f}")
    return cell + ("; **differ**: each alone" if row["pool_refused"] else "")


def _evaluated_on(row: Mapping) -> str:
    examples = row.get("check_examples")
    return "test set" if examples is None or pd.isna(examples) else f"check set ({int(examples):,})"


def plateau_markdown(frame: pd.DataFrame, title: str) -> str:
    """The plateau checks as Markdown."""
    header = ["Recipe (setup)", "Runs", "Epochs E", "Evaluated on", "Acc. at E (%)", "Acc. at 2E (%)",
              "Change (points)", "SE of change", "Pooled check", "Converged", "Test-set change", "CE at E", "CE at 2E",
              "CE change (%)"]
    body = [[r["setup"], f"{r['variant']} 1-{int(r['runs'])}", int(r["epochs"]), _evaluated_on(r),
             f"{r['accuracy']:.2f}", f"{r['accuracy_double']:.2f}", f"{_own(r, 'change'):+.2f}",
             f"{_own(r, 'change_se'):.2f}", _pool_cell(r),
             _decision_cell(r), "" if pd.isna(r["test_change"]) else f"{r['test_change']:+.2f}",
             f"{r['cross_entropy']:.4f}", f"{r['cross_entropy_double']:.4f}", f"{r['cross_entropy_change_pct']:+.1f}"]
            for _, r in frame.iterrows()]
    notes = ("\nPlateau rule (docs/protocol.md): the same seeds trained for twice the epochs change the "
             "mean final test accuracy by less than the threshold. Evaluated on: a check set (the runs' final "
             "models on that many fresh examples from the data set's generator, `plateau.check_sets`: less "
             "sampling noise than the test set; the test set's change beside) or the test set. SE of change: "
             "the standard error of the "
             "mean of the runs' differences (run r at 2E has every seed of run r at E: a paired design), "
             "SD of the differences / sqrt(n), over the runs' final accuracies; the "
             "check's precision (wanted: at most 0.1 points). The check decides with it (two one-sided "
             "tests at 5%): on the plateau when |change| + 1.645 SE is below the threshold, not on it when "
             "|change| - 1.645 SE is above, otherwise undecided: more runs or a longer recipe would decide "
             "(\"runs would decide\": per arm, if the change stayed where it is; a planning figure). Pooled "
             "check (`plateau.pools`): the recipes of one family decide together on their mean change, SE the "
             "root of their summed squared SEs over their number, where their changes agree (Cochran's Q, p >= "
             "0.05), else each alone; the change and SE columns are the recipe's own. Test CE "
             "is reported, not tested.\n")
    return f"## {title}\n\n" + markdown_table(header, body) + notes


CONVERGED_NOTE = (
    "Converged: the plateau check of the row's recipe (results/tables/plateau.md): the same seeds "
    "trained for twice the epochs change the mean test accuracy by the points in brackets.\n"
)


def converged_header(frame: pd.DataFrame) -> list[str]:
    """``["Converged"]`` when the frame's rows carry a plateau check, else nothing."""
    return ["Converged"] if "converged" in frame else []


def converged_cells(row: Mapping) -> list[str]:
    """The "Converged" cell of a row with a plateau check: ``yes (+0.13)`` / ``**no** (+1.20)`` /
    ``**undecided** (+0.27)``."""
    if "converged" not in row:
        return []
    if pd.isna(row["converged"]):
        return ["unchecked"]
    undecided = row.get("plateau_decision") == UNDECIDED
    word = "**undecided**" if undecided else "yes" if bool(row["converged"]) else "**no**"
    return [f"{word} ({row['plateau_change']:+.2f})"]


def add_convergence(frame: pd.DataFrame, recipes: Sequence[str | None], checks: Mapping[str, Mapping]) -> pd.DataFrame:
    """``frame`` with the plateau check of each row's recipe (None: unchecked): columns
    ``converged`` and ``plateau_change`` (points of mean test accuracy from E to 2E epochs)."""
    frame = frame.copy()
    frame["converged"] = [bool(checks[r]["converged"]) if r in checks else None for r in recipes]
    frame["plateau_decision"] = [decision_of(checks[r]) if r in checks else None for r in recipes]
    frame["plateau_change"] = [float(checks[r]["change"]) if r in checks else float("nan") for r in recipes]
    return frame
