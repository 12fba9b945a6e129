"""Issue 13's interval check: do charrnn's conformal intervals cover what they say, on a series
whose noise is known?

    python benchmarks/bench_intervals.py [--seeds 3] [--rows 600] [--sigma 1.0] [--horizon 1]
                                         [-- TRAIN-SERIES OPTIONS]

For each seed: a monthly series 10 + 3 sin(2 pi t / 12) + N(0, sigma^2), `charrnn train-series`
with default options (and --horizon), then `charrnn eval --json`, whose 80% and 95% intervals
are scored on the test part. Prints each level's coverage and mean width per seed and their
means, beside the width an oracle that knew the noise would need (2 z sigma: 2.56 sigma at 80%,
3.92 sigma at 95%).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_series import charrnn  # noqa: E402

ORACLE_Z = {80.0: 1.2816, 95.0: 1.9600}


def write(path: Path, rows: int, sigma: float, seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    y = 10 + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, sigma, rows)
    path.write_text("month,value\n" + "".join(
        f"{1950 + i // 12}-{i % 12 + 1:02d},{v:.5f}\n" for i, v in enumerate(y)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("train_options", nargs="*", help="more train-series options, after --")
    args = parser.parse_args()
    print("| seed | level | coverage | mean width | oracle width |\n| --- | --- | --- | --- | --- |")
    totals: dict[float, list] = {}
    with tempfile.TemporaryDirectory(prefix="charrnn-intervals-") as tmp:
        for seed in range(1, args.seeds + 1):
            csv = Path(tmp) / f"s{seed}.csv"
            write(csv, args.rows, args.sigma, seed)
            out = Path(tmp) / f"m{seed}"
            charrnn("train-series", str(csv), "--horizon", str(args.horizon), "--seed", str(seed),
                    "--out", str(out), "--quiet", *args.train_options)
            r = json.loads(charrnn("eval", "--ckpt", str(out), str(csv), "--json"))
            for e in r.get("intervals", []):
                oracle = 2 * ORACLE_Z.get(e["level"], float("nan")) * args.sigma
                totals.setdefault(e["level"], []).append((e["coverage"], e["mean_width"]))
                print(f"| {seed} | {e['level']:g}% | {e['coverage']:.1%} | {e['mean_width']:.3f} "
                      f"| {oracle:.3f} |", flush=True)
    for level, rows in sorted(totals.items()):
        cov = sum(c for c, _ in rows) / len(rows)
        width = sum(w for _, w in rows) / len(rows)
        print(f"| mean | {level:g}% | {cov:.1%} | {width:.3f} | "
              f"{2 * ORACLE_Z.get(level, float('nan')) * args.sigma:.3f} |")


if __name__ == "__main__":
    main()
