"""Which files make a config: one file means exactly itself, unless it names a base.

The rule (README, config/README.md): ``snakemake --configfile X`` runs the study that X
describes. A file that builds on another says so with a top-level key ``extends: BASE``
(a path relative to the file that names it); the base is read first and the file's own
values are merged over it, dictionaries key by key, everything else (lists included)
replaced. A base may itself extend another. ``--config key=value`` overrides apply last.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from .errors import ConfigError
from .setups import deep_merge

EXTENDS = "extends"


def read_config_file(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The config that ``path`` describes: its values over those of the files it extends."""
    path = Path(path).resolve()
    if path in _chain:
        loop = " -> ".join(str(p) for p in (*_chain, path))
        raise ConfigError(f"config files extend each other in a loop: {loop}")
    if not path.is_file():
        named_by = f" (named by `{EXTENDS}:` in {_chain[-1]})" if _chain else ""
        raise ConfigError(f"config file {path} does not exist{named_by}")
    return _over_base(_read_mapping(path), path.parent, (*_chain, path))


def with_bases(config: Mapping, files: Sequence[str | Path]) -> dict:
    """``config`` as snakemake merged it from ``files`` (and ``--config``), over the bases
    that those files name under ``extends:``, in the files' order; ``extends`` removed."""
    bases: dict = {}
    extended = False
    for path in files:
        path = Path(path).resolve()
        values = _read_mapping(path)
        if EXTENDS in values:
            extended = True
            bases = deep_merge(bases, _over_base({EXTENDS: values[EXTENDS]}, path.parent, (path,)))
    if EXTENDS in config and not extended:
        raise ConfigError(f"`{EXTENDS}:` names a base config file; give it in a config file, not with --config")
    return deep_merge(bases, {k: v for k, v in config.items() if k != EXTENDS})


def _over_base(values: dict, folder: Path, chain: tuple[Path, ...]) -> dict:
    base_name = values.get(EXTENDS)
    values = {k: v for k, v in values.items() if k != EXTENDS}
    if base_name is None:
        return copy.deepcopy(values)
    if not isinstance(base_name, str) or not base_name:
        raise ConfigError(f"{chain[-1]}: `{EXTENDS}` must be the path of one config file, got {base_name!r}")
    return deep_merge(read_config_file(folder / base_name, chain), values)


def _read_mapping(path: Path) -> dict:
    with open(path) as fh:
        values = yaml.safe_load(fh) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path}: expected a mapping of keys at the top, got {type(values).__name__}")
    return values
