"""The power calculation of docs/protocol.md (Replication and power), printed.

An SD from R runs has a relative SE of about 1/sqrt(2 (R - 1)), so the log of a ratio of two
rows' SDs has SE s = sqrt(1/(2 df1) + 1/(2 df2)); a test decides when its 95% interval
(ln ratio +- 1.96 s) clears its margin. For each test and true ratio this prints the probability
that one draw decides (power, normal approximation) and that two independent draws agree,
p^2 + (1 - p)^2 (both decide, or neither does).

    .venv/bin/python benchmarks/power_table.py --runs 10 20 24 30 40 48
"""

from __future__ import annotations

import argparse
from math import erf, log, sqrt


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + erf(x / sqrt(2.0)))


def log_ratio_se(df_a: int, df_b: int) -> float:
    return sqrt(1.0 / (2 * df_a) + 1.0 / (2 * df_b))


def power_inside(ratio: float, se: float, low: float = 0.5, high: float = 2.0) -> float:
    """P(the 95% interval of the log ratio lies inside [low, high]) at a true ``ratio``."""
    m = log(ratio)
    upper = normal_cdf((log(high) - 1.96 * se - m) / se)
    lower = normal_cdf((log(low) + 1.96 * se - m) / se)
    return max(0.0, upper - lower)


def power_above(ratio: float, se: float, edge: float = 0.5) -> float:
    """P(the 95% interval of the log ratio lies above ``edge``) at a true ``ratio``."""
    return normal_cdf((log(ratio) - log(edge) - 1.96 * se) / se)


def agreement(power: float) -> float:
    return power * power + (1.0 - power) * (1.0 - power)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 20, 24, 30, 40, 48])
    args = parser.parse_args()
    rows = []
    for ratio in (1.0, 0.8, 0.7):
        rows.append((f"claim 1, source / all inside [0.5, 2], both rows R, ratio {ratio}",
                     [power_inside(ratio, log_ratio_se(r - 1, r - 1)) for r in args.runs]))
    rows.append(("claim 2, bitflip pooled 4 x 10 (df 36) / all at R >= 0.5, ratio 0.88",
                 [power_above(0.88, log_ratio_se(36, r - 1)) for r in args.runs]))
    print("test | " + " | ".join(f"R = {r}: power, agree" for r in args.runs))
    for name, powers in rows:
        print(name + " | " + " | ".join(f"{p:.2f}, {agreement(p):.2f}" for p in powers))


if __name__ == "__main__":
    main()
