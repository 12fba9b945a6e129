"""charrnn's default forecaster against statsforecast on seven real series, in one run.

    python benchmarks/bench_real_series.py [--seeds 3] [--out DIR] [--series air,co2,...]
                                           [--csv FILE ...] [-- extra train-series options]

The series come with the libraries, so nothing is downloaded: AirPassengers (statsforecast;
monthly, growing trend and multiplicative season), and from statsmodels' datasets the Mauna Loa
CO2 (weekly, averaged by month; trend and season), yearly sunspot activity (a long noisy
cycle), El Nino sea surface temperatures (monthly, a season), the Nile's yearly flow, and US
real GDP and unemployment (quarterly). Each is written as a CSV with its dates, trained with
`charrnn train-series CSV --seed S` (seeds 1..N) and scored as bench_series.py does: one-step
forecasts over charrnn's test windows, each RMSE over persistence's; AutoARIMA, AutoETS and
SeasonalNaive fitted once on the rows before the first test label, then run forward.
`--csv FILE` (repeatable) scores series of your own the same way: a CSV with a date column and
the value as its last column, oldest row first (`--series ''` for those alone).

Needs the optional extra: pip install 'charrnn[bench]' (statsforecast, statsmodels).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERIES = ("air", "co2", "sunspots", "elnino", "nile", "gdp", "unemp")


def write_series(name: str, path: Path) -> Path:
    """One of SERIES as a `date,value` CSV."""
    import pandas as pd
    import statsmodels.api as sm

    def frame(dates, column, values):
        pd.DataFrame({dates.name or "date": dates, column: values}).to_csv(path, index=False)
        return path

    if name == "air":
        from statsforecast.utils import AirPassengersDF as air

        return frame(pd.Series(pd.to_datetime(air.ds).dt.strftime("%Y-%m-%d"), name="month"),
                     "passengers", air.y.values)
    if name == "co2":
        co2 = sm.datasets.co2.load_pandas().data.resample("MS").mean().interpolate()
        return frame(pd.Series(co2.index.strftime("%Y-%m-%d"), name="month"), "co2",
                     co2.co2.values)
    if name == "sunspots":
        s = sm.datasets.sunspots.load_pandas().data
        return frame(pd.Series(s.YEAR.astype(int), name="year"), "activity", s.SUNACTIVITY.values)
    if name == "elnino":
        e = sm.datasets.elnino.load_pandas().data
        values = e.iloc[:, 1:].values.ravel()
        dates = pd.date_range(f"{int(e.YEAR.iloc[0])}-01-01", periods=len(values), freq="MS")
        return frame(pd.Series(dates.strftime("%Y-%m-%d"), name="month"), "sst", values)
    if name == "nile":
        n = sm.datasets.nile.load_pandas().data
        return frame(pd.Series(n.year.astype(int), name="year"), "volume", n.volume.values)
    m = sm.datasets.macrodata.load_pandas().data
    quarters = pd.PeriodIndex.from_fields(year=m.year.astype(int), quarter=m.quarter.astype(int),
                                          freq="Q").to_timestamp()
    column = {"gdp": "realgdp", "unemp": "unemp"}[name]
    return frame(pd.Series(quarters.strftime("%Y-%m-%d"), name="quarter"), column,
                 m[column].values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--seeds", type=int, default=3, help="charrnn runs per series (seeds 1..N)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the CSVs and checkpoints [default: a temporary folder]")
    parser.add_argument("--series", default=",".join(SERIES), help="comma-separated subset")
    parser.add_argument("--csv", type=Path, action="append", default=[],
                        help="a date,value CSV of your own to score as well (repeatable)")
    parser.add_argument("options", nargs="*", help="train-series options (after --)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_series import need_statsforecast, one, trained

    need_statsforecast()
    try:
        import statsmodels  # noqa: F401
    except ImportError:
        sys.exit("bench_real_series.py needs statsmodels for its datasets: "
                 "pip install 'charrnn[bench]'  (or: pip install statsmodels)")
    import numpy as np

    cols = ["charrnn", "seasonal_naive", "autoarima", "autoets"]
    print("| series | rows | season | charrnn / persistence (per seed) | "
          + " | ".join(f"{c} / persistence" for c in cols[1:]) + " | charrnn / AutoARIMA |")
    print("|" + " --- |" * 8)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        named = [(name, None) for name in args.series.split(",") if name]
        for name, given in named + [(path.stem, path) for path in args.csv]:
            csv = given or write_series(name, root / f"{name}.csv")
            print(f"{name}", file=sys.stderr, flush=True)
            runs = [one(csv, root / f"ckpt-{name}-1", False, "--seed", "1", *args.options)]
            ours = [runs[0]["charrnn"]]
            for seed in range(2, args.seeds + 1):  # the statistical models have no seed
                r = trained(csv, root / f"ckpt-{name}-{seed}", False, "--seed", str(seed),
                            *args.options)
                ours.append(r["rmse"] / r["baselines"]["persistence"]["rmse"])
            rows = sum(1 for _ in csv.open()) - 1
            print(f"| {name} | {rows} | {runs[0]['season']} | {np.mean(ours):.3f} ("
                  + " ".join(f"{v:.3f}" for v in ours) + ") | "
                  + " | ".join(f"{runs[0][c]:.3f}" for c in cols[1:])
                  + f" | {np.mean(ours) / runs[0]['autoarima']:.3f} |", flush=True)
    print(f"\ncharrnn: means over seeds 1-{args.seeds}; the statistical models are fitted once "
          f"(they do not depend on a seed). One-step forecasts over charrnn's test windows "
          f"(70/30 split).")


if __name__ == "__main__":
    main()
