"""envs/environment.yaml (conda, for --sdm conda) pins what envs/requirements.txt pins."""

from pathlib import Path

import yaml

ENVS = Path(__file__).resolve().parent.parent / "envs"


def test_environment_yaml_pins_the_requirements():
    env = yaml.safe_load((ENVS / "environment.yaml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    assert "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    requirements = [
        line.strip()
        for line in (ENVS / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert all("==" in r for r in requirements), "requirements.txt pins every package"
    assert sorted(pip_section) == sorted(requirements)
