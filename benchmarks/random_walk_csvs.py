"""Write generated random walks as CSVs, for the check that the default forecaster stays within
1.01 of persistence's RMSE on them (BENCHMARKS.md, "Random walks").

    python benchmarks/random_walk_csvs.py OUT [--each 16] [--set 0]
    for f in OUT/*.csv; do charrnn train-series $f --out ck/$(basename $f .csv) --seed 1 -q
        charrnn eval --ckpt ck/$(basename $f .csv) $f --json; done   # rmse over persistence's

Five kinds, `--each` of each: Gaussian steps (`plain`), log prices with a drift (`logdrift`),
Student-t(3) steps (`fat`), a linear drift of 0.05-0.4 steps (`leveldrift`) and business-day
log prices (`bizday`); 100-1,200 rows; daily, monthly, quarterly, yearly or no dates. `--set`
picks the seeds (set 0 was used to build the rule, set 1 only to check it).
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np

KINDS = ("plain", "logdrift", "fat", "leveldrift", "bizday")


def dates(kind: str, n: int) -> list[str] | None:
    if kind == "day":
        return [str(dt.date(2000, 1, 1) + dt.timedelta(days=i)) for i in range(n)]
    if kind == "month":
        return [f"{1950 + i // 12}-{i % 12 + 1:02d}-01" for i in range(n)]
    if kind == "quarter":
        return [f"{1950 + i // 4}-{3 * (i % 4) + 1:02d}-01" for i in range(n)]
    if kind == "year":
        return [str(1800 + i) for i in range(n)]
    return None


def walk(name: str, r: np.random.Generator) -> tuple[np.ndarray, str]:
    n = int(r.integers(100, 1200))
    step = r.choice(["day", "month", "quarter", "year", "none"])
    if name == "plain":
        return 50 + np.cumsum(r.standard_normal(n)), step
    if name == "logdrift":
        drift, size = r.uniform(-0.001, 0.002), r.uniform(0.005, 0.03)
        return np.exp(4 + np.cumsum(drift + size * r.standard_normal(n))), "day"
    if name == "fat":
        return 100 + np.cumsum(r.standard_t(3, n)), step
    if name == "leveldrift":
        return 20 + np.cumsum(r.uniform(0.05, 0.4) + r.standard_normal(n)), step
    return np.exp(3 + np.cumsum(0.0003 + 0.015 * r.standard_normal(n))), "day"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--each", type=int, default=16, help="series of each kind")
    parser.add_argument("--set", type=int, default=0, help="which seeds (0, 1, ...)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for k in range(args.each):
        r = np.random.default_rng(args.set * 1000 + k)
        for name in KINDS:
            y, step = walk(name, r)
            rows = dates(step, len(y))
            with open(args.out / f"{name}_{args.set}_{k}.csv", "w") as f:
                f.write("date,value\n" if rows else "value\n")
                for i, v in enumerate(y):
                    f.write(f"{rows[i]},{v:.5f}\n" if rows else f"{v:.5f}\n")


if __name__ == "__main__":
    main()
