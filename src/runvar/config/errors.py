"""The error every config check raises."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config that does not match the schema or refers to unknown names."""
