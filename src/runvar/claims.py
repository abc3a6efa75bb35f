"""Verdict helpers shared by every study's claims: intervals, their formatting, verdicts.

A claim's verdict comes with the statistic behind it. The helpers here read bootstrap 95%
intervals from metrics rows (``{key}_ci95``), format a value with its interval, and combine
per-metric verdicts into one.

>>> row = {"accuracy_sd": 0.5, "accuracy_sd_ci95": [0.3, 0.7]}
>>> format_with_interval("init", row, "accuracy_sd", "{:.2f}")
'init 0.50 [0.30, 0.70]'
>>> combine([True, False]), combine([True, True]), combine([False])
('mixed', 'supported', 'not supported')
>>> range_verdict((0.1, 0.3), (0.25, 0.40)), range_verdict((-0.1, 0.3), (0.25, 0.40))
('consistent', 'inconclusive')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The SD metrics claims quote: (metrics key, label, format).
SD_METRICS = (("accuracy_sd", "accuracy SD (%)", "{:.3f}"), ("cross_entropy_sd", "cross-entropy SD", "{:.4f}"))


def interval(row: Mapping, key: str) -> tuple[float, float]:
    """The bootstrap 95% interval of ``row[key]`` (stored as ``row[f"{key}_ci95"]``)."""
    low, high = row[f"{key}_ci95"]
    return float(low), float(high)


def format_with_interval(label: str, row: Mapping, key: str, fmt: str) -> str:
    """``"{label} {value} [{low}, {high}]"`` with ``fmt`` applied to each number."""
    low, high = interval(row, key)
    return f"{label} {fmt.format(row[key])} [{fmt.format(low)}, {fmt.format(high)}]"


def combine(verdicts: Sequence[bool]) -> str:
    """``supported`` when every test holds, ``not supported`` when none does, else ``mixed``."""
    if all(verdicts):
        return "supported"
    return "not supported" if not any(verdicts) else "mixed"


def range_verdict(ci95: tuple[float, float], claimed: tuple[float, float]) -> str:
    """Verdict on a claimed range of an effect (e.g. a 25-40% reduction) from its 95% interval.

    ``below`` / ``above``: the interval lies entirely below / above the claimed range;
    ``consistent``: it overlaps the range and excludes 0 (an effect is shown);
    ``inconclusive``: it overlaps the range but also includes 0 (too few runs to tell).
    """
    low, high = ci95
    if high < claimed[0]:
        return "below"
    if low > claimed[1]:
        return "above"
    return "consistent" if low > 0 else "inconclusive"
