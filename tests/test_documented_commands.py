"""Every snakemake command the docs give is run verbatim, as a dry run, from a copy of the
repository root: the README and docs/ (code blocks and inline code), the config files' and
profiles' header comments, and the Makefile's study targets. A command that does not plan fails.
The `--report` commands, which need a finished study, run for real, verbatim, in a clone whose
default config is a tiny study run to the end, and must write the report.

A documented command that cannot run in a fresh clone says so on its line with the marker
``not run by tests:`` and the reason (e.g. it needs a finished study); this test lists them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runvar.config import ConfigError
from runvar.config.files import read_config_file, with_bases

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SKIP_MARK = "not run by tests:"
# `--report` needs a finished study: those commands run, verbatim, in a clone whose
# config/config.yaml is a tiny study that has run to the end (tiny_study_clone);
# `--lint` runs as it is, without -n.

SNAKEMAKE = re.compile(r"(?:\$ )?((?:/usr/bin/time(?: -v)? )?(?:PYTHONPATH=\S+ )?(?:\.venv/bin/|\$\(VENV\)/bin/)?snakemake(?:\s.*)?)")


def _documents() -> list[Path]:
    return sorted([REPO / "README.md", *REPO.glob("docs/**/*.md"), *REPO.glob("config/*.md")])


def _headers() -> list[Path]:
    return sorted([*REPO.glob("config/*.yaml"), *REPO.glob("profiles/*/profile.yaml")])


def _commands_in_markdown(text: str) -> list[str]:
    commands, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        candidates = [line.strip()] if fenced else re.findall(r"`([^`]+)`", line)
        commands += [m.group(1) for c in candidates if (m := SNAKEMAKE.fullmatch(c.strip()))]
    return commands


def _commands_in_comments(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        m = re.match(r"\s*#\s+(.*)", line)
        if m and (cmd := SNAKEMAKE.fullmatch(m.group(1).strip())):
            found.append(cmd.group(1))
    return found


def _makefile_commands() -> list[str]:
    return [m.group(1).replace("$(VENV)/bin/", "") for line in (REPO / "Makefile").read_text().splitlines()
            if line.startswith("\t") and (m := SNAKEMAKE.fullmatch(line.strip()))]


def documented_commands() -> list[tuple[str, str]]:
    """(where, command) of every documented snakemake command, without its trailing comment."""
    found = []
    for path in _documents():
        found += [(path.name, c) for c in _commands_in_markdown(path.read_text())]
    for path in _headers():
        found += [(f"{path.parent.name}/{path.name}", c) for c in _commands_in_comments(path.read_text())]
    found += [("Makefile", c) for c in _makefile_commands()]
    unique = {}
    for where, command in found:
        unique.setdefault(command.strip(), where)
    return [(where, command) for command, where in unique.items()]


def _without_comment(command: str) -> str:
    return re.split(r"\s+#\s", command, maxsplit=1)[0].rstrip()


def _clone(root: Path) -> Path:
    """The repository's files (tracked and new, not ignored) in ``root``: a clone's root."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    (root / ".venv").symlink_to(BIN.parent)  # what `make` sets up in a clone
    return root


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """A fresh clone's root."""
    return _clone(tmp_path_factory.mktemp("clone") / "runvar")


@pytest.fixture(scope="module")
def tiny_study_clone(tmp_path_factory) -> Path:
    """A clone whose default config (config/config.yaml) is a tiny study (tests/configs/tiny.yaml
    cut to one setup and the rows claims 1 and 2 need), run to the end: where the documented
    `--report` commands run verbatim."""
    root = _clone(tmp_path_factory.mktemp("tiny-clone") / "runvar")
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    config["setups"] = {"tiny_cnn": config["setups"]["tiny_cnn"]}
    config["studies"] = {"sources": {**config["studies"]["sources"], "setups": ["tiny_cnn"],
                                     "variants": ["none", "init", "bitflip"]}}
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(["snakemake", "--cores", "2"], cwd=root, env=_env(root.parent), capture_output=True,
                          text=True)
    assert done.returncode == 0, f"the tiny study failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return root


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "XDG_CONFIG_HOME": str(home)}


COMMANDS = documented_commands()


def test_the_docs_document_the_cluster_and_config_commands():
    """The commands the issue tracker found failing are among those this test runs."""
    commands = {c for _, c in COMMANDS}
    assert any("--configfile config/paper.yaml" in c and "--profile profiles/slurm" in c for c in commands)
    for name in ("gpu", "full", "convergence"):
        assert any(f"--configfile config/{name}.yaml" in c for c in commands), name


@pytest.mark.workflow
@pytest.mark.parametrize("where, command", COMMANDS, ids=[c for _, c in COMMANDS])
def test_documented_command_plans_from_the_repository_root(where, command, repo_copy, tmp_path, request):
    if SKIP_MARK in command:
        pytest.skip(command.split(SKIP_MARK, 1)[1].strip())
    command = _without_comment(command)
    if "--report" in command:  # verbatim, in the finished tiny study: it writes the report
        clone = request.getfixturevalue("tiny_study_clone")
        report = clone / "results" / "report.html"
        report.unlink(missing_ok=True)
        done = subprocess.run(["bash", "-c", command], cwd=clone, env=_env(tmp_path), capture_output=True, text=True)
        assert done.returncode == 0, f"{where}: `{command}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert report.stat().st_size > 100_000 and "sources_tiny_cnn.csv" in report.read_text()
        return
    env = _env(tmp_path)
    # the README's named profile: profiles/slurm linked to ~/.config/snakemake/slurm
    (tmp_path / "snakemake").mkdir()
    (tmp_path / "snakemake" / "slurm").symlink_to(repo_copy / "profiles" / "slurm")
    dry = "" if "--lint" in command else " -n"
    done = subprocess.run(["bash", "-c", command + dry], cwd=repo_copy, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{where}: `{command}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "ConfigError" not in done.stdout + done.stderr


@pytest.mark.workflow
def test_paper_config_plans_only_its_own_setups(repo_copy):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["snakemake", "-n", "--configfile", "config/paper.yaml", "--profile", "profiles/slurm"],
                          cwd=repo_copy, env=env, capture_output=True, text=True, check=True)
    setups = set(re.findall(r"results/runs/([^/\s]+)/", done.stdout))
    paper = set(read_config_file(repo_copy / "config" / "paper.yaml")["setups"])
    quick = set(read_config_file(repo_copy / "config" / "config.yaml")["setups"])
    assert setups and not {s.split(".")[0] for s in setups} & (quick - paper), sorted(setups)


def test_a_file_that_extends_another_is_its_base_with_its_own_values_over_it(tmp_path):
    (tmp_path / "base.yaml").write_text("train: {seeds_per_job: 5, stack: 5}\nstudies: {a: {runs: 10, variants: [x, y]}}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.yaml").write_text("extends: ../base.yaml\nstudies: {a: {variants: [z]}, b: {runs: 2}}\n")
    assert read_config_file(tmp_path / "sub" / "more.yaml") == {
        "train": {"seeds_per_job": 5, "stack": 5},
        "studies": {"a": {"runs": 10, "variants": ["z"]}, "b": {"runs": 2}},
    }
    # as snakemake hands it over: the file's values and --config overrides already merged
    merged = {"extends": "../base.yaml", "studies": {"a": {"variants": ["z"]}, "b": {"runs": 2}}, "train": {"stack": 1}}
    assert with_bases(merged, [tmp_path / "sub" / "more.yaml"]) == {
        "train": {"seeds_per_job": 5, "stack": 1},
        "studies": {"a": {"runs": 10, "variants": ["z"]}, "b": {"runs": 2}},
    }


def test_a_file_without_extends_is_exactly_itself(tmp_path):
    (tmp_path / "alone.yaml").write_text("train: {seeds_per_job: 1}\n")
    assert with_bases({"train": {"seeds_per_job": 1}}, [tmp_path / "alone.yaml"]) == {"train": {"seeds_per_job": 1}}


@pytest.mark.parametrize("files, message", [
    ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}, "extend each other in a loop"),
    ({"a.yaml": "extends: missing.yaml\n"}, "missing.yaml does not exist (named by `extends:`"),
    ({"a.yaml": "extends: [b.yaml]\n"}, "`extends` must be the path of one config file"),
])
def test_bad_extends_is_a_clear_error(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_config_file(tmp_path / "a.yaml")


def test_extends_on_the_command_line_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("train: {}\n")
    with pytest.raises(ConfigError, match="give it in a config file, not with --config"):
        with_bases({"extends": "b.yaml"}, [tmp_path / "a.yaml"])
