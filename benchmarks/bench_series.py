"""Issue 12's benchmark: charrnn's default forecaster against statsforecast on each kind of series.

    python benchmarks/bench_series.py [--lecture PATH] [--seeds 3] [--out DIR]

For every kind in benchmarks/series_kinds.py (seeds 1..N) and the lecture's file if given, it
runs `charrnn train-series CSV --out DIR --quiet` and `charrnn eval --ckpt DIR CSV --json`
(default options), and fits statsforecast's AutoARIMA, AutoETS and SeasonalNaive on the same
training rows (those before the first test label). The statistical models are not refitted:
each test window's one-step forecast is `model.forward(y[: t + 1], h=1)`, the fitted model run
over the data up to the window's last row. Every RMSE is divided by persistence's on the same
test windows; the table prints means over the seeds.

Needs the optional extra: pip install 'charrnn[bench]' (statsforecast).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def need_statsforecast():
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        sys.exit("bench_series.py needs statsforecast (not a dependency of charrnn): "
                 "pip install 'charrnn[bench]'  (or: pip install statsforecast)")


def charrnn(*args: str) -> str:
    exe = shutil.which("charrnn") or str(Path(sys.executable).with_name("charrnn"))
    cmd = [exe, *args]
    done = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.strip()}")
    return done.stdout


def test_rows(rows: int, window: int, test_frac: float = 0.3) -> tuple[int, int]:
    """(first test label row, test windows) of charrnn's split for a window of `window` rows."""
    from charrnn.series.prepare import check_split
    from charrnn.series.windows import count_windows

    split = check_split("bench", rows, window, 1, test_frac, 0.1)
    start = split.test_start + window  # window test_start ends at row test_start + window - 1
    assert count_windows(rows, window, 1) == split.test_start + split.test
    return start, split.test


def statistical(y, first: int, season: int | None) -> dict:
    """One-step forecasts of rows first..end by models fitted on y[:first]."""
    import numpy as np
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    m = season if season and season <= 52 else 1  # a daily year (365) is beyond AutoARIMA
    out = {}
    for name, model in (("autoarima", AutoARIMA(season_length=m)),
                        ("autoets", AutoETS(season_length=m)),
                        ("seasonal_naive", SeasonalNaive(season_length=max(m, 1)))):
        fitted = model.fit(y[:first])
        out[name] = np.array([fitted.forward(y[:t], h=1)["mean"][0] for t in range(first, len(y))])
    return out


def checkpoint_window(path: Path) -> int:
    """The window a series checkpoint reads (7, today's default, if its metadata lacks it)."""
    from charrnn import checkpoint

    meta = checkpoint.load(path, kind="series").meta
    for where in (meta, meta.get("task", {}), meta.get("train", {})):
        if isinstance(where, dict) and where.get("window"):
            return int(where["window"])
    return 7


def trained(csv: Path, out: Path, newest_first: bool, *options: str) -> dict:
    """charrnn trained with `options` (none: the defaults) and its `eval --json`."""
    extra = ["--newest-first"] if newest_first else []
    charrnn("train-series", str(csv), "--out", str(out), "--quiet", *extra, *options)
    return json.loads(charrnn("eval", "--ckpt", str(out), str(csv), "--json"))


def one(csv: Path, out: Path, newest_first: bool, *options: str) -> dict:
    """Ratios to persistence on charrnn's test windows: charrnn trained with `options`, and the
    statistical models."""
    import numpy as np

    from charrnn.series.season import detect_season
    from charrnn.series.table import load_series

    r = trained(csv, out, newest_first, *options)
    window = checkpoint_window(out / "best.safetensors")
    series = load_series(str(csv), newest_first=newest_first)
    y = series.target_values
    first, n = test_rows(len(y), window)
    season = detect_season(y[: int(len(y) * 0.7)], series.dates[: int(len(y) * 0.7)]
                           if series.dates else None)
    actual = y[first:]
    pers = float(np.sqrt(np.mean((y[first - 1:-1] - actual) ** 2)))
    if n != r["n"] or abs(pers - r["baselines"]["persistence"]["rmse"]) > 1e-6 * max(pers, 1):
        print(f"note: {csv.name}: test windows differ from charrnn's eval ({n} vs {r['n']}); "
              f"ratios are each to their own persistence", file=sys.stderr)
    ratios = {"charrnn": r["rmse"] / r["baselines"]["persistence"]["rmse"]}
    for name, pred in statistical(y, first, season).items():
        ratios[name] = float(np.sqrt(np.mean((pred - actual) ** 2))) / pers
    ratios["season"] = season
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--lecture", type=Path, default=None,
                        help="the lecture's stock CSV (newest row first, no date column)")
    parser.add_argument("--seeds", type=int, default=3, help="series per kind (seeds 1..N)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the CSVs and checkpoints [default: a temporary folder]")
    parser.add_argument("--kinds", default=None,
                        help="comma-separated kinds [default: the four of issue 12]; `short` "
                             "for the five short ones (48-98 rows)")
    args = parser.parse_args()
    need_statsforecast()
    import numpy as np

    sys.path.insert(0, str(HERE))
    from series_kinds import KINDS, SHORT_KINDS, generate, write_csv

    kinds = [k for name in (args.kinds or ",".join(KINDS)).split(",")
             for k in (SHORT_KINDS if name == "short" else (name,))]
    unknown = [k for k in kinds if k not in KINDS + SHORT_KINDS]
    if unknown:
        sys.exit(f"--kinds {','.join(unknown)}: one of {', '.join(KINDS + SHORT_KINDS)}, short")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        jobs = [(kind, write_csv(root / f"{kind}-{seed}.csv", *generate(kind, seed)), False)
                for kind in kinds for seed in range(1, args.seeds + 1)]
        if args.lecture is not None:
            jobs.append(("lecture stock", args.lecture, True))
        results: dict[str, list[dict]] = {}
        for i, (kind, csv, newest_first) in enumerate(jobs):
            print(f"[{i + 1}/{len(jobs)}] {kind}: {csv}", file=sys.stderr, flush=True)
            results.setdefault(kind, []).append(
                one(csv, root / f"ckpt-{i}", newest_first))
    cols = ["charrnn", "seasonal_naive", "autoarima", "autoets"]
    print("| kind | season | " + " | ".join(f"{c} / persistence" for c in cols)
          + " | charrnn / seasonal naive | charrnn / AutoARIMA |")
    print("|" + " --- |" * (len(cols) + 4))
    for kind, runs in results.items():
        mean = {c: float(np.mean([r[c] for r in runs])) for c in cols}
        seasons = sorted({str(r["season"]) for r in runs})
        print(f"| {kind} | {'/'.join(seasons)} | " + " | ".join(f"{mean[c]:.3f}" for c in cols)
              + f" | {np.mean([r['charrnn'] / r['seasonal_naive'] for r in runs]):.3f}"
              + f" | {np.mean([r['charrnn'] / r['autoarima'] for r in runs]):.3f} |")
    print(f"\nmeans over {args.seeds} seed(s); one-step forecasts over charrnn's test windows "
          f"(70/30 split); statistical models fitted once on the rows before the first test "
          f"label, then run forward; AutoARIMA/AutoETS with season_length 1 where the season "
          f"is longer than 52 rows.")


if __name__ == "__main__":
    main()
