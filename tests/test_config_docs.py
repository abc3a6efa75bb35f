"""config/README.md documents every key of config/schema.yaml, generated from its descriptions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runvar.config.docs import END, START, default_and_text, load_schema, main, reference, render, rows

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "config" / "schema.yaml"
README = REPO / "config" / "README.md"


def _every_property(node, prefix=""):
    """Every key the schema allows, found by walking it independently of the renderer."""
    for key, child in (node.get("properties") or {}).items():
        yield f"{prefix}{key}", child
        yield from _every_property(child, f"{prefix}{key}.")
        extra = child.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("properties") and extra is not _defaults_block():
            yield from _every_property(extra, f"{prefix}{key}.<name>.")
        if isinstance(child.get("items"), dict):
            yield from _every_property(child["items"], f"{prefix}{key}[].")


def _defaults_block():
    return load_schema(SCHEMA)["properties"]["synthetic"]["properties"]["defaults"]


def _documented_rows(text):
    """(section title, key) of every table row between the markers."""
    body = text.split(START, 1)[1].split(END, 1)[0]
    section, found = None, set()
    for line in body.splitlines():
        if line.startswith("### "):
            section = line
        elif m := re.match(r"\| `([^`]+)` \|", line):
            found.add((section, m.group(1)))
    return found


def test_the_config_readme_is_up_to_date():
    assert main(["--check", str(SCHEMA), str(README)]) == 0, (
        "config/README.md differs from config/schema.yaml: run "
        "`.venv/bin/python -m runvar.config.docs config/schema.yaml config/README.md`")


def test_every_schema_key_is_documented_with_a_description():
    schema = load_schema(SCHEMA)
    documented = _documented_rows(README.read_text())
    keys = {key for _, key in documented}
    expected = [k for k, _ in _every_property(schema)]
    for name, block in schema["$defs"].items():
        expected += [k for k, _ in _every_property(block)]
    # the synthetic settings share one block (a YAML alias): documented once, as synthetic.defaults
    missing = sorted(set(expected) - keys - {k for k in expected if k.startswith("synthetic.settings.<name>.")})
    assert not missing, f"schema keys missing from config/README.md: {missing}"
    undescribed = [k for k, node in [*_every_property(schema),
                                     *(kv for b in schema["$defs"].values() for kv in _every_property(b))]
                   if not str(node.get("description", "")).strip()]
    assert not undescribed, f"schema keys without a description (add one to config/schema.yaml): {undescribed}"


def test_the_keys_keep_the_schema_order():
    schema = load_schema(SCHEMA)
    top = [key for key, *_ in rows(schema, schema["$defs"])]
    text = README.read_text()
    positions = [text.index(f"| `{key}` |", text.index("### Top level")) for key in top]
    assert positions == sorted(positions)
    assert top[0] == "train" and top[-1].startswith("convergence_check")


def test_the_code_defaults_are_the_documented_ones():
    """Where the code keeps a key's default in one dict, the README states that value."""
    from runvar.execution import EXECUTION_DEFAULTS
    from runvar.language.config import PLATEAU_DEFAULTS as LANGUAGE_PLATEAU
    from runvar.studies import PLATEAU_DEFAULTS
    from runvar.synthetic.config import SETTING_DEFAULTS

    schema = load_schema(SCHEMA)
    documented = {key: default for key, _, default, _ in rows(schema, schema["$defs"])}
    setup = {key: default for key, _, default, _ in rows(schema["$defs"]["setup"], schema["$defs"])}

    def same(doc, value):
        import yaml

        return doc == "null: all" and value is None or yaml.safe_load(doc.split(":")[0]) == value

    for key, value in EXECUTION_DEFAULTS.items():
        assert same(setup[f"execution.{key}"], value), key
    for key, value in PLATEAU_DEFAULTS.items():
        assert same(documented[f"plateau.{key}"], value), key
    for key in ("variant", "runs"):
        assert same(documented[f"studies.language.plateau.{key}"], LANGUAGE_PLATEAU[key]), key
    for key, value in SETTING_DEFAULTS.items():
        if key not in ("model", "label", "warm_start"):  # none / made from the setting / no warm start
            assert same(documented[f"synthetic.defaults.{key}"], value), key


def test_defaults_are_read_from_the_description():
    assert default_and_text({"description": "padding of the crop views (default 4)"}, False) == ("4", "padding of the crop views")
    assert default_and_text({"description": "runs of `none` (only identity; default: runs)"}, False) == (
        "runs", "runs of `none` (only identity)")
    assert default_and_text({"description": "x", "default": False}, False) == ("`false`", "x")
    assert default_and_text({"description": "the pool"}, True) == ("*required*", "the pool")


def test_render_rewrites_only_the_marked_part(tmp_path):
    schema = load_schema(SCHEMA)
    text = f"# Config\n\nhand-written\n\n{START}\nold\n{END}\n\n## After\n"
    new = render(text, schema)
    assert new.startswith("# Config\n\nhand-written\n\n") and new.endswith(f"{END}\n\n## After\n")
    assert reference(schema) in new and "old" not in new
    with pytest.raises(ValueError, match="markers not found"):
        render("no markers", schema)
    (tmp_path / "README.md").write_text(text)
    assert main(["--check", str(SCHEMA), str(tmp_path / "README.md")]) == 1
    assert main([str(SCHEMA), str(tmp_path / "README.md")]) == 0
    assert main(["--check", str(SCHEMA), str(tmp_path / "README.md")]) == 0


def test_the_config_files_section_is_kept():
    text = README.read_text()
    assert text.index("## Config files") < text.index(START)
    assert "`config/config.yaml` (the quick study) is read only when no config file is given" in text
