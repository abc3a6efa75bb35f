"""The study config: JSON-schema validation with clear messages, and resolved setups.

A *setup* in the config states only what differs from ``setup_defaults``; the resolved setup
(defaults deep-merged, dataset options attached) is what a run depends on, so its digest is
what decides whether a run must be redone.

Values given on the command line (``snakemake --config "studies={sources: {runs: 12}}"``)
arrive as strings; :func:`coerce_overrides` reads them as YAML where a string is not wanted.
Every setup's model is built once on the meta device, so a misspelt or mistyped model option
stops the workflow before any job runs.

One module per concern, each name importable from here:

- :mod:`.errors`: :class:`ConfigError`;
- :mod:`.validation`: :func:`validate_config` (schema and registries, every problem at once), :func:`load_schema`;
- :mod:`.coercion`: :func:`coerce_overrides` (``--config`` strings read as YAML);
- :mod:`.models`: models built on the meta device (:func:`model_problems`, :func:`meta_model`, :func:`dataset_shape`);
- :mod:`.variants`: no degenerate rows (:func:`variant_problems`, :func:`unusable_sources`);
- :mod:`.setups`: setups resolved and derived (:func:`resolve_setup`, :func:`derive_setup`, :func:`deep_merge`, :func:`max_runs`);
- :mod:`.digests`: :func:`digest`;
- :mod:`.files` (``extends:``) and :mod:`.docs` (the config reference), imported by name.
"""

from __future__ import annotations

from .coercion import coerce_overrides
from .digests import digest
from .errors import ConfigError
from .models import DATASET_SHAPES, dataset_shape, meta_model, model_options, model_problems
from .setups import deep_merge, derive_setup, max_runs, resolve_setup
from .validation import load_schema, validate_config
from .variants import model_has_stochastic_layer, unusable_sources, variant_problems

__all__ = [
    "ConfigError",
    "DATASET_SHAPES",
    "coerce_overrides",
    "dataset_shape",
    "deep_merge",
    "derive_setup",
    "digest",
    "load_schema",
    "max_runs",
    "meta_model",
    "model_has_stochastic_layer",
    "model_options",
    "model_problems",
    "resolve_setup",
    "unusable_sources",
    "validate_config",
    "variant_problems",
]
