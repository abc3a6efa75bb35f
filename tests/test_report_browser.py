"""The HTML report as a person sees it: a tiny study's `snakemake --report` opened in a real browser.

Debian's chromium renders the report headless (tests/browser/chromium.sh) at 1400 and at 1000
px wide, and the test reads the page as drawn (the report is a JavaScript app; `--dump-dom`
after it ran), not the HTML file:
  - the front page's claims read like results/claims/*.md: each setup's title and every
    claim's verdict, no number with six or more decimals (the raw CSVs have ten digits);
  - nothing overlaps or is cut off: the text starts right of the menu and at the top, ends
    inside the window, every table fits it, and the workflow graph lies below the text (a
    probe appended to a copy of the report measures the boxes after the page is drawn).
Chromium comes from tests/browser/install.sh (`make test` calls it; it needs root). Without
/usr/bin/chromium the test is skipped with the reason and the install command; under
RUNVAR_REQUIRE_BROWSER=1 (set by CI) it fails instead.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

from runvar.claims import verdict_cell

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
RENDER = REPO / "tests" / "browser" / "chromium.sh"
REQUIRE = "RUNVAR_REQUIRE_BROWSER"  # "1": no browser fails the test (CI) instead of skipping it
INSTALL = "as root: `bash tests/browser/install.sh` (apt-get update && apt-get install -y chromium)"
WIDTHS = (1400, 1000)
LONG_DECIMAL = re.compile(r"\d\.\d{6,}")

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def browser():
    """Skip (or fail under RUNVAR_REQUIRE_BROWSER=1) before any study runs when there is no browser."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: the report's browser test needs Debian's chromium"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{reason} ({REQUIRE}=1: the browser test must run here; {INSTALL})", pytrace=False)
        pytest.skip(f"{reason}; to run it, {INSTALL}")
    return CHROMIUM


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory, run_snakemake) -> Path:
    """The tiny study cut to one setup and the variants claim 2 needs, its plateau check off (so
    its claims get verdicts, not 'not converged'), run once with its report."""
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    config["setups"] = {"tiny_cnn": config["setups"]["tiny_cnn"]}
    config["studies"]["sources"].update(setups=["tiny_cnn"], variants=["none", "init", "bitflip"])
    config["convergence_check"] = {"off": ["tiny_cnn"]}
    workdir = tmp_path_factory.mktemp("report-study")
    run_snakemake(workdir, "--cores", "2", config=config)
    run_snakemake(workdir, "--report", str(workdir / "results" / "report.html"))
    return workdir / "results" / "report.html"


def render(url: str, width: int, *args: str) -> str:
    out = subprocess.run(["bash", str(RENDER), str(width), *args, url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"chromium failed (rc={out.returncode}):\n{out.stderr[-3000:]}"
    return out.stdout


class _Text(HTMLParser):
    """The text a reader sees: no <style> or <script> contents."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture(scope="module")
def front_dom(report) -> str:
    """The front page as drawn at 1400 px: the app's DOM, not the scripts that carry it."""
    dom = render(report.as_uri(), 1400, "--dump-dom")
    app = dom[dom.index('<div id="app">'):]
    return app[:app.index("<script")]


@pytest.fixture(scope="module")
def front_page(front_dom) -> str:
    """The front page's text as drawn at 1400 px."""
    return visible_text(front_dom)


class _Tables(HTMLParser):
    """Every <table> as rows of cell texts (<th> and <td>), in document order."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(markup: str) -> list[list[list[str]]]:
    """The tables of ``markup``, each a list of rows of cell texts (the header row first).

    >>> html_tables("<table><tr><th>A</th><th>Verdict</th></tr><tr><td>1</td><td><b>not</b> supported</td></tr></table>")
    [[['A', 'Verdict'], ['1', 'not supported']]]
    """
    parser = _Tables()
    parser.feed(markup)
    return parser.tables


def column(table: list[list[str]], name: str) -> list[str]:
    """The cells of column ``name`` (by the header row) in the table's rows, in order."""
    index = table[0].index(name)
    return [row[index] for row in table[1:]]


def test_html_tables_reads_each_cell_whole():
    """The parser the verdict check relies on: "not supported" is one cell, not "supported"."""
    table = html_tables("<table><thead><tr><th>Claim</th><th>Verdict</th></tr></thead><tbody>"
                        "<tr><td>1</td><td><strong>not supported</strong></td></tr>"
                        "<tr><td>2</td><td><strong>supported</strong></td></tr></tbody></table>")[0]
    assert column(table, "Verdict") == ["not supported", "supported"]


def test_front_page_claims_read_like_the_markdown(front_page, front_dom, report):
    claims_dir = report.parent / "claims"
    assert LONG_DECIMAL.search((claims_dir / "sources_tiny_cnn.csv").read_text()), \
        "the raw claims CSV should hold long decimals, or this test checks nothing"
    claims = front_page[front_page.index("Claims and verdicts"):front_page.index("Tables and figures by study")]
    assert not LONG_DECIMAL.search(claims), LONG_DECIMAL.search(claims)
    # as in results/claims/sources_tiny_cnn.md: its title, then a table of each claim's verdict,
    # then a table of every test's; each row's verdict cell, in order (not a substring search:
    # "supported" is inside "not supported")
    title = (claims_dir / "sources_tiny_cnn.md").read_text().splitlines()[0].removeprefix("## ")
    assert title in claims
    section = front_dom[front_dom.index(html.escape(title, quote=False)):]
    head, detail = html_tables(section)[:2]
    rows = pd.read_csv(claims_dir / "sources_tiny_cnn.csv")
    verdicts = rows.query("level == 'claim'")["verdict"]
    assert len(verdicts) == 2
    assert column(head, "Verdict") == list(verdicts), head
    tests = rows.query("level == 'test'").to_dict("records")
    assert column(detail, "Verdict (runs; to decide)") == [verdict_cell(t) for t in tests], detail
    assert [cell.split(" (")[0] for cell in column(detail, "Verdict (runs; to decide)")] == \
        [t["verdict"].split(" (")[0] for t in tests], detail
    assert any(test.startswith("bitflip / init") for test in column(detail, "Test")), detail


# Appended to a copy of the report: the boxes of the menu, the front page's text, its claims
# tables and the workflow graph, written into the DOM for --dump-dom once the page is drawn:
# styled (the report styles itself with Tailwind's script, in real time, while headless
# chromium's virtual time runs ahead: its menu's `text-sm` is the sign) and unmoved for a second.
PROBE = """<script>
(function () {
  function box(el) { if (!el) return null; var r = el.getBoundingClientRect();
                     return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }
  function measure() {
    var tables = Array.prototype.slice.call(document.querySelectorAll(".prose .runvar-table"));
    return {width: document.documentElement.clientWidth, nav: box(document.querySelector("nav")),
            text: box(document.querySelector(".prose")),
            graph: box(document.querySelector("#rulegraph canvas, #rulegraph svg")),
            tables: tables.map(function (t) { return {box: box(t), overflow: t.scrollWidth - t.clientWidth}; })};
  }
  var last = "", same = 0;
  var timer = setInterval(function () {
    var small = document.querySelector("nav.text-sm");
    if (!small || getComputedStyle(small).fontSize !== "14px") return;
    var now = JSON.stringify(measure());
    same = now === last ? same + 1 : 0;
    last = now;
    if (same < 4) return;
    clearInterval(timer);
    var pre = document.createElement("pre"); pre.id = "runvar-probe"; pre.textContent = now;
    pre.style.display = "none";  // read from the DOM, not drawn (it would lengthen the page)
    document.body.appendChild(pre);
  }, 250);
})();
</script>"""


@pytest.mark.parametrize("width", WIDTHS)
def test_front_page_nothing_overlaps(report, tmp_path, width):
    probed = tmp_path / "report.html"
    probed.write_text(report.read_text() + PROBE)
    dom = render(probed.as_uri(), width, "--virtual-time-budget=600000", "--dump-dom")
    found = re.search(r'<pre id="runvar-probe"[^>]*>(.*?)</pre>', dom)
    assert found, "the page was not drawn in 600 s of virtual time"
    layout = json.loads(html.unescape(found.group(1)))
    nav, text, graph = layout["nav"], layout["text"], layout["graph"]
    assert text["left"] >= nav["right"] - 1, layout  # not under the menu
    assert text["right"] <= layout["width"] + 1 and text["top"] >= 0, layout  # not cut off right or top
    assert layout["tables"], layout
    for table in layout["tables"]:
        assert text["left"] - 1 <= table["box"]["left"] and table["box"]["right"] <= text["right"] + 1, layout
        assert table["overflow"] <= 1, layout  # the whole table in view, no scrolling inside it
    assert graph and graph["top"] >= text["bottom"] - 1, layout  # the workflow graph below the text
