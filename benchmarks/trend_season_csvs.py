"""Write generated trend x season series as CSVs (BENCHMARKS.md, "A line and a season"):
additive seasons of any shape on a linear trend (monthly or quarterly) and multiplicative
seasons on exponential growth (monthly), each with AR(1) noise.

    python benchmarks/trend_season_csvs.py OUT [--set 0]
    python benchmarks/bench_real_series.py --seeds 1 --series '' --csv OUT/add_1.csv ...

`--set 0` (seeds 500-507) was used to build the trend_season baseline, `--set 1` (600-607)
only to check it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def monthly(n: int) -> list[str]:
    return [f"{1960 + i // 12}-{i % 12 + 1:02d}-01" for i in range(n)]


def quarterly(n: int) -> list[str]:
    return [f"{1960 + i // 4}-{3 * (i % 4) + 1:02d}-01" for i in range(n)]


def ar1(r: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + r.normal(0, sd)
    return e


def shape(r: np.random.Generator, m: int) -> np.ndarray:
    """A season of two harmonics with random phases, scaled to a peak of 1."""
    t = np.arange(m)
    s = (r.uniform(0.5, 1) * np.sin(2 * np.pi * t / m + r.uniform(0, 6))
         + r.uniform(0, 0.5) * np.sin(4 * np.pi * t / m + r.uniform(0, 6)))
    return s / np.abs(s).max()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--set", type=int, default=0, help="0: seeds 500-507, 1: 600-607, ...")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for k in range(8):
        r = np.random.default_rng(500 + 100 * args.set + k)
        if k % 2 == 0:  # multiplicative season on exponential growth
            m = 12
            n = int(r.choice([120, 144, 200, 300]))
            t = np.arange(n)
            s = shape(r, m)[t % m]
            y = np.exp(np.log(100) + r.uniform(0.003, 0.012) * t + r.uniform(0.08, 0.25) * s
                       + ar1(r, n, r.uniform(0.2, 0.7), r.uniform(0.02, 0.05)))
            dates, name = monthly(n), f"mult_{k}"
        else:  # additive season on a line
            m = int(r.choice([4, 12]))
            n = 100 if m == 4 else 180
            t = np.arange(n)
            s = shape(r, m)[t % m]
            y = (50 + r.uniform(0.1, 0.5) * t + r.uniform(3, 8) * s
                 + ar1(r, n, r.uniform(0.2, 0.7), r.uniform(0.8, 2.0)))
            dates, name = (quarterly if m == 4 else monthly)(n), f"add_{k}"
        with open(args.out / f"{name}.csv", "w") as f:
            f.write("month,value\n" if m == 12 else "quarter,value\n")
            for d, v in zip(dates, y):
                f.write(f"{d},{v:.4f}\n")


if __name__ == "__main__":
    main()
