"""Issue 13's long-format benchmark: one global model over many series against one model per
series, both with default options.

    python benchmarks/bench_panel.py [--series 20] [--seeds 1] [--out DIR]

Generates N monthly series of different lengths (60-160 rows), start dates, levels, trends,
season amplitudes and phases (multiplicative yearly season, Gaussian noise of 3% of the level),
writes them to one long CSV (`shop,month,sales`), then

- global:   charrnn train-series long.csv --id shop; charrnn eval --json (per-series metrics)
- separate: for each series, charrnn train-series its own CSV; charrnn eval --json

and prints, per seed, each approach's mean over the series of (test RMSE / persistence's RMSE
on the same windows), its mean MASE and sMAPE, and the wall time of its training.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_series import charrnn  # noqa: E402


def generate(n_series: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for k in range(n_series):
        n = int(rng.integers(60, 161))
        year, level = 2000 + int(rng.integers(0, 6)), rng.uniform(10, 1000)
        amp, trend, phase = rng.uniform(0.1, 0.4), rng.uniform(-0.002, 0.01), rng.uniform(0, 6.3)
        t = np.arange(n)
        y = (level * (1 + trend * t) * (1 + amp * np.sin(2 * np.pi * t / 12 + phase))
             + rng.normal(0, 0.03 * level, n))
        out[f"s{k:02d}"] = [(f"{year + i // 12}-{i % 12 + 1:02d}", float(v))
                            for i, v in enumerate(y)]
    return out


def write_long(series: dict, path: Path) -> None:
    lines = ["shop,month,sales"] + [f"{key},{d},{v:.4f}" for key, rows in series.items()
                                     for d, v in rows]
    path.write_text("\n".join(lines) + "\n")


def summary(results: list[dict]) -> dict:
    ratios = [r["rmse"] / r["baselines"]["persistence"]["rmse"] for r in results]
    return {"ratio": statistics.mean(ratios), "mase": statistics.mean(r["mase"] for r in results),
            "smape": statistics.mean(r["smape"] for r in results)}


def run(n_series: int, seed: int, out: Path) -> dict:
    series = generate(n_series, seed)
    long_csv = out / "long.csv"
    write_long(series, long_csv)
    t0 = time.perf_counter()
    charrnn("train-series", str(long_csv), "--id", "shop", "--seed", str(seed), "--out",
            str(out / "global"), "--quiet")
    global_s = time.perf_counter() - t0
    scored = json.loads(charrnn("eval", "--ckpt", str(out / "global" / "best.safetensors"),
                                str(long_csv), "--json"))
    separate, separate_s = [], 0.0
    for key, rows in series.items():
        csv = out / f"{key}.csv"
        csv.write_text("month,sales\n" + "".join(f"{d},{v:.4f}\n" for d, v in rows))
        t0 = time.perf_counter()
        charrnn("train-series", str(csv), "--seed", str(seed), "--out", str(out / key), "--quiet")
        separate_s += time.perf_counter() - t0
        separate.append(json.loads(charrnn("eval", "--ckpt", str(out / key / "best.safetensors"),
                                           str(csv), "--json")))
    return {"global": {**summary(scored["series"]), "seconds": global_s,
                       "series": len(scored["series"])},
            "separate": {**summary(separate), "seconds": separate_s, "series": len(separate)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print("| seed | approach | series | mean RMSE / persistence | mean MASE | mean sMAPE % | "
          "training s |\n| --- | --- | --- | --- | --- | --- | --- |")
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory(prefix="charrnn-panel-") as tmp:
            out = args.out / f"seed{seed}" if args.out else Path(tmp)
            out.mkdir(parents=True, exist_ok=True)
            r = run(args.series, seed, out)
        for name in ("global", "separate"):
            s = r[name]
            print(f"| {seed} | {name} | {s['series']} | {s['ratio']:.3f} | {s['mase']:.3f} | "
                  f"{s['smape']:.2f} | {s['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
