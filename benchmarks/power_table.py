"""The power calculation of docs/protocol.md (Replication and power), printed.

An SD from R runs has a relative SE of about 1/sqrt(2 (R - 1)), so the log of a ratio of two
rows' SDs has SE s = sqrt(1/(2 df1) + 1/(2 df2)); a test decides when its 95% interval
(ln ratio +- 1.96 s) clears its margin. For each test and true ratio this prints the probability
that one draw decides (power, normal approximation) and that two independent draws agree,
p^2 + (1 - p)^2 (both decide, or neither does).

Two rows more for claim 1: the bulk SD it now compares (runvar.stats.spread; its SE is the SD's
over sqrt(efficiency), the efficiency simulated here on normal rows of 40), and with ``--simulate``, claim 1's
power by simulation with the study's bootstrap for SDs and bulk SDs, on normal runs and on runs
with a thin tail as the draws found (1 run in 100 about 10 SDs low; the normal approximation
does not hold for such a mixture, so it is simulated).

    .venv/bin/python benchmarks/power_table.py --runs 10 20 24 30 40 48
    .venv/bin/python benchmarks/power_table.py --runs 24 40 80 --simulate

The SM arms' rows take their pilot from two draws (of 40 runs an arm, then of 80); for each,
the ratio SD_k / SD_learned pooled over the draws (geometric mean) and the SE of its log read
from the bootstrap intervals (width / 3.92, the draws' mean), scaled as 1 / sqrt(R - 1). An arm
decides as runvar.claims.range_verdict does on the reduction: *below* SM's claimed 25-40% (ratio
interval above 0.75), *above* it (under 0.6), or *consistent* (overlapping [0.6, 0.75] and under
1, a reduction shown); otherwise it is inconclusive.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from math import erf, log, sqrt

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from runvar.stats.spread import bulk_sd  # noqa: E402


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + erf(x / sqrt(2.0)))


def log_ratio_se(df_a: int, df_b: int) -> float:
    return sqrt(1.0 / (2 * df_a) + 1.0 / (2 * df_b))


def simulated_power(spread, runs: int, rate: float, distance: float = 10.0, trials: int = 400,
                    resamples: int = 1000, seed: int = 0) -> float:
    """P(claim 1's test decides "inside [0.5, 2]") for two rows alike (ratio 1) whose runs are
    normal but a fraction ``rate`` of them ``distance`` SDs low, by simulation: each trial draws
    both rows, bootstraps ``spread``'s ratio as the study does (each row resampled on its own)
    and checks its 95% percentile interval."""
    rng = np.random.default_rng(seed)
    decided = 0
    for _ in range(trials):
        rows = rng.normal(size=(2, runs)) - distance * (rng.random(size=(2, runs)) < rate)
        idx = rng.integers(0, runs, size=(2, resamples, runs))
        ratios = spread(rows[0][idx[0]]) / spread(rows[1][idx[1]])
        low, high = np.percentile(ratios, [2.5, 97.5])
        decided += bool(0.5 < low and high < 2.0)
    return decided / trials


def bulk_efficiency(runs: int = 40, rows: int = 20000, seed: int = 0) -> float:
    """Var(ln SD) / Var(ln bulk SD) over normal rows of ``runs``: the bulk SD's efficiency."""
    values = np.random.default_rng(seed).normal(size=(rows, runs))
    return float(np.var(np.log(values.std(axis=1))) / np.var(np.log(bulk_sd(values))))


def power_inside(ratio: float, se: float, low: float = 0.5, high: float = 2.0) -> float:
    """P(the 95% interval of the log ratio lies inside [low, high]) at a true ``ratio``."""
    m = log(ratio)
    upper = normal_cdf((log(high) - 1.96 * se - m) / se)
    lower = normal_cdf((log(low) + 1.96 * se - m) / se)
    return max(0.0, upper - lower)


def power_above(ratio: float, se: float, edge: float = 0.5) -> float:
    """P(the 95% interval of the log ratio lies above ``edge``) at a true ``ratio``."""
    return normal_cdf((log(ratio) - log(edge) - 1.96 * se) / se)


def power_range(ratio: float, se: float, low: float = 0.6, high: float = 0.75) -> float:
    """P(an SM arm decides) at a true ratio SD_k / SD_learned (runvar.claims.range_verdict on the
    reduction 1 - ratio against SM's [1 - high, 1 - low]): *below* when the log ratio's 95%
    interval lies above ln ``high``, *above* when it lies under ln ``low``, *consistent* when it
    overlaps [ln low, ln high] and lies under 0 (a reduction shown); undecided when it overlaps the
    range and includes 0, i.e. when the estimate falls in [-1.96 se, ln high + 1.96 se]."""
    m, half = log(ratio), 1.96 * se
    undecided_low, undecided_high = -half, log(high) + half
    if undecided_low >= undecided_high:
        return 1.0
    return 1.0 - (normal_cdf((undecided_high - m) / se) - normal_cdf((undecided_low - m) / se))


#: The SM arms' pilots, two draws each (AMD EPYC, 2026-12-07), by runs per arm: k -> ((ratio, 95%
#: interval) of SD_k / SD_learned in the first draw, the same in the second), 1 - the SD reduction.
#: 40 runs: docs/replication.md at 28d0f7a, the pilot that set R = 80; 80 runs: the same draws
#: grown to 80 runs an arm (af94349).
SM_PILOTS = {
    40: {
        2: ((1.034, 0.717, 1.493), (1.231, 0.843, 1.917)),
        4: ((1.001, 0.679, 1.467), (0.737, 0.485, 1.177)),
        8: ((1.169, 0.842, 1.669), (1.351, 0.960, 2.103)),
        16: ((0.884, 0.636, 1.263), (1.118, 0.800, 1.728)),
    },
    80: {
        2: ((0.987, 0.789, 1.243), (0.962, 0.746, 1.261)),
        4: ((0.878, 0.668, 1.151), (0.765, 0.595, 1.004)),
        8: ((0.926, 0.734, 1.177), (1.187, 0.924, 1.561)),
        16: ((0.982, 0.740, 1.295), (1.072, 0.852, 1.383)),
    },
}


def sm_pilot(k: int, pilot_runs: int) -> tuple[float, float]:
    """(pooled ratio, SE of its log at one draw of ``pilot_runs``) of SM arm ``k``."""
    draws = SM_PILOTS[pilot_runs][k]
    ratio = float(np.exp(np.mean([log(d[0]) for d in draws])))
    se = float(np.mean([(log(d[2]) - log(d[1])) / 3.92 for d in draws]))
    return ratio, se


def agreement(power: float) -> float:
    return power * power + (1.0 - power) * (1.0 - power)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 20, 24, 30, 40, 48])
    parser.add_argument("--simulate", action="store_true",
                        help="also claim 1's power by simulation with its bootstrap, normal runs and a 1%% tail")
    args = parser.parse_args()
    rows = []
    for ratio in (1.0, 0.8, 0.7):
        rows.append((f"claim 1, source / all inside [0.5, 2], both rows R, ratio {ratio}",
                     [power_inside(ratio, log_ratio_se(r - 1, r - 1)) for r in args.runs]))
    efficiency = bulk_efficiency()
    rows.append((f"claim 1 on bulk SDs (efficiency {efficiency:.2f}), both rows R, ratio 1.0",
                 [power_inside(1.0, log_ratio_se(r - 1, r - 1) / sqrt(efficiency)) for r in args.runs]))
    if args.simulate:
        for name, spread in (("SDs", lambda v: v.std(axis=-1)), ("bulk SDs", bulk_sd)):
            for rate in (0.0, 0.01):
                rows.append((f"claim 1 on {name}, simulated with the bootstrap, {rate:.0%} of runs 10 SDs low, ratio 1.0",
                             [simulated_power(spread, r, rate) for r in args.runs]))
    rows.append(("claim 2, bitflip pooled 4 x 10 (df 36) / all at R >= 0.5, ratio 0.88",
                 [power_above(0.88, log_ratio_se(36, r - 1)) for r in args.runs]))
    for pilot_runs, pilot in SM_PILOTS.items():
        for k in pilot:
            ratio, se = sm_pilot(k, pilot_runs)
            rows.append((f"SM arm k = {k}, SD_k / SD_learned against 25-40%, both at R, pilot of {pilot_runs}: "
                         f"ratio {ratio:.2f} (SE {se:.3f})",
                         [power_range(ratio, se * sqrt((pilot_runs - 1) / (r - 1))) for r in args.runs]))
    print("test | " + " | ".join(f"R = {r}: power, agree" for r in args.runs))
    for name, powers in rows:
        print(name + " | " + " | ".join(f"{p:.2f}, {agreement(p):.2f}" for p in powers))


if __name__ == "__main__":
    main()
