"""Every claim test in one picture: a forest plot of verdicts (``results/figures/forest.png``).

Each test row of the claims CSVs (``results/claims/*.csv``, :func:`runvar.claims.claims_frame`)
is one row of the plot: its statistic, its bootstrap 95% interval, the margin it is judged
against (shaded) and its verdict (the colour, and written on the right). Ratio tests (claims 1
and 2: margins ``[a, b]``, two-sided equivalence, and ``>= a``, one-sided) share a log axis;
reduction tests (claim 3: margin ``> 0``, a variability reduction in %) a linear one, in a
panel of their own. Rows are grouped by claims file and claim, in the order given.

>>> parse_margin("[0.5, 2]"), parse_margin(">= 0.5"), parse_margin("> 0")
(Margin(low=0.5, high=2.0, scale='log'), Margin(low=0.5, high=inf, scale='log'), Margin(low=0.0, high=inf, scale='linear'))
>>> [verdict_kind(v) for v in ("supported", "not supported", "inconclusive", "inconclusive: not converged")]
['supported', 'not supported', 'inconclusive', 'gated']
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, NullFormatter
from matplotlib.transforms import blended_transform_factory

from .plots import plt
from .studies import StudyPlan

#: The forest plot, by the rule's output names; ``html``: the PNG embedded in an HTML fragment,
#: which the report's front page includes (a self-contained report cannot link the PNG).
FOREST_FILES: dict[str, str] = {"png": "results/figures/forest.png", "pdf": "results/figures/forest.pdf",
                                "html": "results/figures/forest.html"}
#: The picture's alternative text (the README's and the report's).
FOREST_ALT = "Every claim test: statistic, 95% interval, margin and verdict"

#: How each kind of verdict is drawn (:func:`verdict_kind`): colour (Okabe-Ito), marker, line
#: style, whether the marker is filled, and the legend's words. ``gated``: a verdict the plateau
#: rule withheld ("inconclusive: not converged", "inconclusive: plateau undecided", ...).
VERDICT_STYLES: dict[str, dict[str, Any]] = {
    "supported": {"color": "#009E73", "marker": "o", "linestyle": "-", "filled": True,
                  "label": "supported"},
    "not supported": {"color": "#D55E00", "marker": "s", "linestyle": "-", "filled": True,
                      "label": "not supported"},
    "inconclusive": {"color": "#6E6E6E", "marker": "o", "linestyle": "-", "filled": True,
                     "label": "inconclusive (interval crosses the margin)"},
    "gated": {"color": "#6E6E6E", "marker": "D", "linestyle": (0, (2, 1.5)), "filled": False,
              "label": "inconclusive: withheld (not converged, plateau undecided)"},
}
#: The shading of a test's margin: where its interval must lie for the claim to hold.
MARGIN_COLOR = "#DCE9F5"

_ROW_INCHES = 0.25  # the height of one row of the plot
_AXIS_INCHES = 3.8  # the width of the axes (the row labels on the left and the columns on the right add theirs)
_COLUMNS = (1 + 0.12 / _AXIS_INCHES, 1 + 2.05 / _AXIS_INCHES)  # statistic, verdict: in axes widths
_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
_CLIP = (1e-2, 1e2)  # a log axis spans at most this, however wide an interval


class Margin(NamedTuple):
    """A test's margin as a region of its axis: ``low`` to ``high`` (``inf``: one-sided) on a
    ``log`` (ratio) or ``linear`` (reduction %) scale."""

    low: float
    high: float
    scale: str


def parse_margin(text: str) -> Margin:
    """The margin of a claims CSV's test row: ``[a, b]`` (a ratio within a..b, as
    :func:`runvar.claims.ratio_test` writes it), ``>= a`` (a ratio at least a) or ``> a`` (a
    reduction in % above a, as :func:`runvar.reduction.claims.claim_reduction` writes it)."""
    text = str(text).strip()
    number = r"\s*([-+0-9.eE]+)\s*"
    if match := re.fullmatch(rf"\[{number},{number}\]", text):
        return Margin(float(match[1]), float(match[2]), "log")
    if match := re.fullmatch(rf">={number}", text):
        return Margin(float(match[1]), math.inf, "log")
    if match := re.fullmatch(rf">{number}", text):
        return Margin(float(match[1]), math.inf, "linear")
    raise ValueError(f"margin {text!r} is none of '[a, b]', '>= a', '> a'")


def verdict_kind(verdict: str) -> str:
    """``supported``, ``not supported``, ``inconclusive`` or ``gated`` (any ``inconclusive: ...``
    verdict, which the plateau rule withheld); a note after the verdict (``supported
    (convergence check off)``) keeps its kind."""
    verdict = str(verdict)
    if verdict.startswith("inconclusive:"):
        return "gated"
    for kind in ("not supported", "supported", "inconclusive"):
        if verdict.startswith(kind):
            return kind
    raise ValueError(f"verdict {verdict!r} is no test verdict (supported, not supported, inconclusive...)")


def claims_files(plans: Mapping[str, StudyPlan]) -> list[str]:
    """The claims CSVs among the plans' targets, in the plans' order: the forest plot's inputs.
    Every study writes its claims as ``results/claims/{name}.csv`` (sources, reduction and
    language claims), so the plot needs no study's names.

    >>> claims_files({"a": StudyPlan(targets=["results/claims/sources_cnn.csv", "results/tables/x.csv"])})
    ['results/claims/sources_cnn.csv']
    """
    found = [target for plan in plans.values() for target in plan.targets if CLAIMS_CSV.fullmatch(target)]
    return list(dict.fromkeys(found))


#: Where every study writes its claims tables as CSV.
CLAIMS_CSV = re.compile(r"results/claims/[^/]+\.csv")


def forest_targets(plans: Mapping[str, StudyPlan]) -> list[str]:
    """The forest plot's files (PNG, PDF, HTML) when the plans write claims, else none."""
    return list(FOREST_FILES.values()) if claims_files(plans) else []


def forest_html(png: str | os.PathLike[str]) -> str:
    """The PNG at ``png`` as an HTML fragment that embeds it (a data URI), as wide as the page."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (f'<figure class="runvar-forest" style="margin:0"><img alt="{html.escape(FOREST_ALT)}" '
            f'src="data:image/png;base64,{data}" style="width:100%;height:auto"></figure>\n')


def load_claim_tests(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """The test rows (``level == "test"``) of claims CSVs, in order, each with ``study`` (the
    file's stem, e.g. ``sources_cnn1d``) and ``claim_text`` (its claim's row's text)."""
    import pandas as pd

    tests = []
    for path in paths:
        frame = pd.read_csv(path)
        claims = frame[frame["level"] == "claim"]
        texts = dict(zip(claims["claim"].astype(str), claims["test"].astype(str)))
        for row in frame[frame["level"] == "test"].to_dict("records"):
            tests.append({**row, "study": Path(path).stem, "claim_text": texts.get(str(row["claim"]), "")})
    return tests


def _claim(row: Mapping) -> str:
    claim = row["claim"]
    return str(int(claim)) if isinstance(claim, float) and claim.is_integer() else str(claim)


def _heading(row: Mapping) -> str:
    study = str(row.get("study") or "").replace("_", " · ", 1)
    text = f"claim {_claim(row)}" + (f": {row['claim_text']}" if row.get("claim_text") else "")
    return f"{study}, {text}" if study else text


def _layout(tests: Sequence[Mapping]) -> list[tuple[str, Mapping | None]]:
    """Rows top to bottom: ("heading", None) before each (study, claim) group, ("test", row)."""
    groups: dict[tuple[str, str], list[Mapping]] = {}
    for row in tests:
        groups.setdefault((str(row.get("study") or ""), _claim(row)), []).append(row)
    rows: list[tuple[str, Mapping | None]] = []
    for members in groups.values():
        rows.append((_heading(members[0]), None))
        rows += [("test", row) for row in members]
    return rows


def _limits(tests: Sequence[Mapping], scale: str) -> tuple[float, float]:
    values = [float(v) for row in tests for v in (row["statistic"], row["ci95_low"], row["ci95_high"])]
    margins = [parse_margin(row["margin"]) for row in tests]
    values += [v for m in margins for v in (m.low, m.high)] + [1.0 if scale == "log" else 0.0]
    if scale == "log":
        finite = [v for v in values if 0 < v < math.inf]
        return max(min(finite) / 1.4, _CLIP[0]), min(max(finite) * 1.4, _CLIP[1])
    finite = [v for v in values if math.isfinite(v)]
    pad = 0.06 * (max(finite) - min(finite) or 1.0)
    return min(finite) - pad, max(finite) + pad


def _draw_panel(ax: plt.Axes, layout: list[tuple[str, Mapping | None]], scale: str,
                name_measures: bool) -> None:
    tests = [row for kind, row in layout if row is not None]
    low_limit, high_limit = _limits(tests, scale)
    if scale == "log":
        ax.set_xscale("log")
        ax.set_xticks([v for v in _LOG_TICKS if low_limit <= v <= high_limit])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(low_limit, high_limit)
    ax.set_ylim(len(layout) - 0.5, -0.5)
    ax.axvline(1.0 if scale == "log" else 0.0, color="#444444", linewidth=0.8, zorder=1)
    across = blended_transform_factory(ax.transAxes, ax.transData)
    ticks, labels = [], []
    for y, (kind, row) in enumerate(layout):
        if row is None:
            ax.text(0.005, y + 0.1, kind, transform=across, fontsize=9, fontweight="bold", va="center",
                    ha="left", clip_on=False, zorder=5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            continue
        margin = parse_margin(row["margin"])
        right = min(margin.high, high_limit)
        ax.add_patch(Rectangle((margin.low, y - 0.5), right - margin.low, 1.0, facecolor=MARGIN_COLOR,
                               edgecolor="none", zorder=0, gid="margin"))
        style = VERDICT_STYLES[verdict_kind(row["verdict"])]
        statistic, low, high = (float(row[k]) + 0.0 for k in ("statistic", "ci95_low", "ci95_high"))  # no -0
        low_in, high_in = min(max(low, low_limit), high_limit), max(min(high, high_limit), low_limit)
        ax.plot([low_in, high_in], [y, y], color=style["color"], linestyle=style["linestyle"],
                linewidth=2.0, solid_capstyle="butt", zorder=3, gid="interval")
        # an interval that runs past the axis: an arrowhead at the edge it runs past
        for past, edge, marker in ((low < low_limit, low_limit, "<"), (high > high_limit, high_limit, ">")):
            if past:
                ax.plot([edge], [y], marker=marker, color=style["color"], markersize=5, zorder=3, gid="clipped")
        if math.isfinite(statistic) and low_limit <= statistic <= high_limit:
            ax.plot([statistic], [y], marker=style["marker"], markersize=6.5, color=style["color"],
                    markerfacecolor=style["color"] if style["filled"] else "white", markeredgewidth=1.5,
                    linestyle="none", zorder=4, gid="statistic")
        ax.text(_COLUMNS[0], y, f"{statistic:.3g} [{low:.3g}, {high:.3g}]", transform=across, fontsize=8.5,
                va="center", ha="left", family="monospace")
        ax.text(_COLUMNS[1], y, str(row["verdict"]), transform=across, fontsize=8.5, va="center", ha="left",
                color=style["color"], fontweight="bold" if style["filled"] else "normal")
        ticks.append(y)
        labels.append(f"claim {_claim(row)}: {row['test']}" + (f", {row['measure']}" if name_measures else ""))
    ax.set_yticks(ticks, labels, fontsize=9)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=8.5)
    ax.grid(axis="x", which="major", color="#BBBBBB", linewidth=0.4, zorder=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def forest_figure(tests: Sequence[Mapping]) -> plt.Figure:
    """A forest plot of claim tests (rows of :data:`runvar.claims.TEST_COLUMNS`, optionally with
    ``study`` and ``claim_text`` as :func:`load_claim_tests` adds them): ratio tests on a log
    axis, reduction tests on a linear one below, one row per test under a heading per (study,
    claim), the margin shaded, the statistic and its interval coloured by verdict, both written
    on the right; a legend on top. Lines carry ``gid`` ``statistic``, ``interval`` (and
    ``clipped`` for an arrowhead where an interval runs past the axis); margin patches
    ``margin``. The row labels and the columns on the right lie outside the figure's box: save
    it with ``bbox_inches="tight"`` (:func:`runvar.plots.save_figure`)."""
    if not tests:
        raise ValueError("no claim tests to draw")
    panels = []
    for scale, title, xlabel in (
        ("log", "Ratio tests (claims 1 and 2)", "ratio of variability (variant / reference), log scale"),
        ("linear", "Reduction tests (claim 3)", "against the single model"),
    ):
        members = [row for row in tests if parse_margin(row["margin"]).scale == scale]
        if members:
            panels.append((_layout(members), scale, title, xlabel))
    top, gap, bottom = 1.0, 1.0, 0.5  # inches: legend and title; x label and next title; x label
    heights = [_ROW_INCHES * len(layout) for layout, *_ in panels]
    total = top + sum(heights) + gap * (len(panels) - 1) + bottom
    fig = plt.figure(figsize=(_AXIS_INCHES, total))
    y = total - top
    for (layout, scale, title, xlabel), height in zip(panels, heights):
        y -= height
        ax = fig.add_axes((0.0, y / total, 1.0, height / total))
        y -= gap
        measures = {str(row["measure"]) for _, row in layout if row is not None}
        _draw_panel(ax, layout, scale, name_measures=len(measures) > 1)
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        ax.set_xlabel(xlabel if len(measures) > 1 else f"{measures.pop()}, {xlabel}", fontsize=9)
        for column, words in zip(_COLUMNS, ("statistic [95% CI]", "verdict")):
            ax.text(column, 1.0, words, transform=ax.transAxes, fontsize=8.5, va="bottom", fontweight="bold")
    handles = [Patch(facecolor=MARGIN_COLOR, label="margin: the claim holds when the interval lies inside")]
    for style in VERDICT_STYLES.values():
        handles.append(Line2D([], [], color=style["color"], linestyle=style["linestyle"], linewidth=2,
                              marker=style["marker"], markersize=6.5, markeredgewidth=1.5,
                              markerfacecolor=style["color"] if style["filled"] else "white", label=style["label"]))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(-0.5, 1.0), ncol=2, fontsize=8.5,
               frameon=False, handlelength=2.5)
    return fig
