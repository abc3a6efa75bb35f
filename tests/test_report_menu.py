"""The report's menu: every study's category is numbered in reading order, and every rule names
its category through runvar.studies.REPORT_CATEGORIES (none by a string of its own, which is how
"Language modelling" went unnumbered)."""

import re
from pathlib import Path

from runvar.studies import REPORT_CATEGORIES

REPO = Path(__file__).resolve().parents[1]


def test_every_category_is_numbered_in_reading_order():
    names = list(REPORT_CATEGORIES.values())
    numbers = [re.match(r"(\d\d)\. \S", name) for name in names]
    assert all(numbers), names
    places = [int(m.group(1)) for m in numbers]
    assert places == list(range(places[0], places[0] + len(names))) and places[0] in (0, 1), places
    assert sorted(names) == names  # the menu's alphabetical order is the reading order
    assert REPORT_CATEGORIES["language"] == "10. Language modelling (SD Tables 2, 4)"


def test_rules_name_categories_only_through_the_numbered_names():
    literal = [f"{path.name}:{n}" for path in sorted((REPO / "rules").glob("*.smk"))
               for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(r"\bcategory=[\"']", line)]
    assert literal == []
