"""Seeded generators of the four kinds of series that issue 12 benchmarks, written as CSV files
with a date column (the way users' files look).

    python benchmarks/series_kinds.py OUT_DIR [--seeds 3]

writes OUT_DIR/<kind>-<seed>.csv for every kind and seed 1..N. Pure numpy; `generate(kind, seed)`
returns (dates, values) for use from Python.

  trend_season  monthly, a growing trend, a multiplicative yearly season (like airline passengers)
  cycle         yearly rows, a long noisy cycle of about 11 years with varying length and height
                (like sunspot numbers)
  daily_season  daily, a yearly season plus AR(1) weather noise, about 4 years
  random_walk   daily, a Gaussian random walk (nothing to learn beyond the last value)

and five short ones (48-98 rows, the length of many classic datasets), not in the default run:

  short_season  monthly, 6 years: a fixed season on a wandering level (like US accidental deaths)
  short_growth  quarterly, 21 years: exponential growth times a season (like Johnson & Johnson)
  short_ar2     yearly, 98 rows: an AR(2) around a level (like Lake Huron's)
  short_ar1     48 rows without dates: an AR(1), rho 0.6 (like a hormone measured every 10 min)
  short_trend   quarterly, 15 years: a trend whose slope wanders, noise on top
"""
from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np

KINDS = ("trend_season", "cycle", "daily_season", "random_walk")
SHORT_KINDS = ("short_season", "short_growth", "short_ar2", "short_ar1", "short_trend")


def _monthly(n: int, start: int = 1949) -> list[str]:
    return [f"{start + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def _daily(n: int, start: date = date(2015, 1, 1)) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def trend_season(rng: np.random.Generator, n: int = 216) -> np.ndarray:
    """Airline-passenger-like: exponential growth, a season whose swing grows with the level."""
    t = np.arange(n)
    shape = rng.normal(0, 0.08, 12)  # the season's own shape, fixed for the series
    shape[6:8] += 0.2  # a summer peak
    shape -= shape.mean()
    level = 120 * np.exp(rng.uniform(0.008, 0.012) * t)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.4 * noise[i - 1] + rng.normal(0, 0.025)
    return level * np.exp(shape[t % 12] + noise)


def cycle(rng: np.random.Generator, n: int = 260) -> np.ndarray:
    """Sunspot-like: cycles of 9-13 rows, each with its own height, rising fast, decaying slowly."""
    values = []
    while len(values) < n:
        period = int(rng.integers(9, 14))
        height = rng.uniform(40, 200)
        rise = max(3, int(period * 0.4))
        up = np.sin(np.linspace(0, np.pi / 2, rise, endpoint=False)) ** 2
        down = np.cos(np.linspace(0, np.pi / 2, period - rise, endpoint=False)) ** 2
        values.extend(height * np.concatenate([up, down]))
    y = np.asarray(values[:n])
    return np.maximum(0, y + rng.normal(0, 8, n) + 0.1 * y * rng.normal(0, 1, n))


def daily_season(rng: np.random.Generator, n: int = 1461) -> np.ndarray:
    """Daily temperature-like: a yearly sine, AR(1) weather noise (rho 0.7)."""
    t = np.arange(n)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 2.0)
    return 12 + 9 * np.sin(2 * np.pi * (t - 105) / 365.25) + noise


def random_walk(rng: np.random.Generator, n: int = 500) -> np.ndarray:
    return 100 + np.cumsum(rng.normal(0, 1, n))


def _quarterly(n: int, start: int = 1960) -> list[str]:
    return [f"{start + i // 4}-{3 * (i % 4) + 1:02d}-01" for i in range(n)]


def _ar(rng: np.random.Generator, n: int, coefs: tuple[float, ...], sd: float) -> np.ndarray:
    z = np.zeros(n)
    for i in range(len(coefs), n):
        z[i] = sum(c * z[i - 1 - k] for k, c in enumerate(coefs)) + rng.normal(0, sd)
    return z


def short(kind: str, rng: np.random.Generator) -> tuple[list[str] | None, np.ndarray]:
    if kind == "short_season":
        shape = rng.normal(0, 1, 12)
        return _monthly(72, 1973), (9000 + 800 * np.tile(shape - shape.mean(), 6)
                                    + np.cumsum(rng.normal(0, 80, 72)) + rng.normal(0, 150, 72))
    if kind == "short_growth":
        t = np.arange(84)
        season = 1 + 0.15 * np.tile(rng.normal(0, 1, 4), 21)
        return _quarterly(84), np.exp(0.04 * t) * season * np.exp(rng.normal(0, 0.05, 84)) + 0.5
    if kind == "short_ar2":
        return [str(1875 + i) for i in range(98)], 579 + _ar(rng, 98, (1.05, -0.27), 0.7)
    if kind == "short_ar1":
        return None, 2.4 + _ar(rng, 48, (0.6,), 0.4)
    slope = 0.3 + np.cumsum(rng.normal(0, 0.08, 60))
    return _quarterly(60), 50 + np.cumsum(slope) + rng.normal(0, 0.8, 60)


def generate(kind: str, seed: int) -> tuple[list[str] | None, np.ndarray]:
    if kind in SHORT_KINDS:
        return short(kind, np.random.default_rng([12, 10 + SHORT_KINDS.index(kind), seed]))
    rng = np.random.default_rng([12, KINDS.index(kind), seed])
    if kind == "trend_season":
        y = trend_season(rng)
        return _monthly(len(y)), y
    if kind == "cycle":
        y = cycle(rng)
        return [str(1749 + i) for i in range(len(y))], y
    if kind == "daily_season":
        y = daily_season(rng)
        return _daily(len(y)), y
    if kind == "random_walk":
        y = random_walk(rng)
        return _daily(len(y)), y
    raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS + SHORT_KINDS)}")


def write_csv(path: Path, dates: list[str] | None, values: np.ndarray) -> Path:
    if dates is None:
        lines = ["value"] + [f"{v:.4f}" for v in values]
    else:
        column = "year" if dates and dates[0].isdigit() else "date"
        lines = [f"{column},value"] + [f"{d},{v:.4f}" for d, v in zip(dates, values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_all(out: Path, seeds: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [write_csv(out / f"{kind}-{seed}.csv", *generate(kind, seed))
            for kind in KINDS for seed in range(1, seeds + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the CSV files")
    parser.add_argument("--seeds", type=int, default=3, help="series per kind (seeds 1..N)")
    args = parser.parse_args()
    for path in write_all(args.out, args.seeds):
        print(path)


if __name__ == "__main__":
    main()
