"""Inputs known in advance: calendar cycles of the date column (`--calendar`) and columns whose
future values the user supplies (`--future`), the forecast reading them from rows after the
last observed target.

They lead the window: window row r carries the covariates of row r + H, so the last row holds
those of the furthest step forecast and the window sees every forecast step's values beside
their recent past. They bypass the delta coding (a month's sine minus the last row's would lose
which month it is): calendar features are sines and cosines, future columns min-max scaled on
the training rows. Pure numpy.
"""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from charrnn.errors import CharrnnError

# cycles by the rows' spacing: (name, rows per cycle); a cycle is read only where the training
# rows hold two of it (a day of the year seen once is an index to memorise, not a season)
CYCLES = {"hourly": (("hour", 24), ("weekday", 168)),
          "daily": (("weekday", 7), ("yearday", 365)),
          "weekly": (("yearday", 52),),
          "monthly": (("month", 12),),
          "quarterly": (("month", 4),)}
PERIODS = {"hour": 24.0, "weekday": 7.0, "yearday": 365.25, "month": 12.0}


def _walls(dates: list[str], column: str) -> list:
    """Each date as a datetime, or as a month index (y * 12 + m - 1) for month-like dates."""
    from charrnn.series.dates import _date_family, _read_dates

    family = _date_family(column or "date", dates)
    if family is None:
        return []
    parsed = _read_dates("dates", column, family, dates, list(range(1, len(dates) + 1)))
    walls = [d.wall for d in parsed]
    if family == "unix":
        walls = [datetime.fromtimestamp(w, timezone.utc).replace(tzinfo=None) for w in walls]
    elif family == "int":  # plain years or counters: no cycle within them
        return []
    return walls


def calendar_cycles(dates: list[str] | None, column: str | None) -> list[str]:
    """The cycles worth reading in these (training) rows' dates; an error where none is."""
    walls = _walls(dates, column) if dates and len(dates) >= 3 else []
    spacing = None
    if walls and isinstance(walls[0], datetime):
        days = float(np.median([(b - a).total_seconds() for a, b in zip(walls, walls[1:])]))
        days /= 86400
        spacing = next((name for name, high in (("hourly", 1.5 / 24), ("daily", 3.5),
                                                ("weekly", 8.0), ("monthly", 32.0),
                                                ("quarterly", 93.0)) if 0 < days <= high), None)
    elif walls:
        step = float(np.median(np.diff(walls)))
        spacing = {1.0: "monthly", 3.0: "quarterly"}.get(step)
    if spacing is None:
        raise CharrnnError(f"--calendar: the rows' dates ({dates[0] if dates else 'none'} ...) "
                           f"have no calendar cycle to read (hourly to quarterly rows have); "
                           f"drop --calendar")
    cycles = [name for name, rows in CYCLES[spacing] if len(dates) >= 2 * rows]
    if not cycles:
        raise CharrnnError(f"--calendar: {len(dates)} training rows of {spacing} data hold "
                           f"fewer than two {CYCLES[spacing][0][0]} cycles; drop --calendar")
    return cycles


def _cycle_value(wall, name: str) -> float:
    if not isinstance(wall, datetime):
        return float(wall % 12)  # a month index: only the month cycle applies
    return {"hour": wall.hour + wall.minute / 60, "weekday": wall.weekday(),
            "yearday": wall.timetuple().tm_yday - 1,
            "month": wall.month - 1 + (wall.day - 1) / 31}[name]


def calendar_features(dates: list[str], column: str | None, cycles: list[str]) -> np.ndarray:
    """(rows, 2 * len(cycles)): the sine and cosine of each cycle's phase."""
    walls = _walls(dates, column)
    out = np.zeros((len(dates), 2 * len(cycles)))
    for k, name in enumerate(cycles):
        phase = 2 * np.pi * np.array([_cycle_value(w, name) for w in walls]) / PERIODS[name]
        out[:, 2 * k], out[:, 2 * k + 1] = np.sin(phase), np.cos(phase)
    return out


def known_matrix(series, cycles: list[str], future: list[str], ahead: int) -> np.ndarray | None:
    """(len(series) + ahead, K) covariates of every row and of `ahead` rows past the end, in
    real units (future columns unscaled); None without covariates."""
    from charrnn.series.forecast_dates import next_dates

    if not cycles and not future:
        return None
    rows = len(series) + ahead
    parts = []
    if cycles:
        dates = list(series.dates or []) + list(series.future_dates or [])
        if len(dates) < rows:
            dates += next_dates(dates, rows - len(dates))
        parts.append(calendar_features(dates[:rows], series.date_column, cycles))
    if future:
        values = series.known
        if values is None or len(values) < rows:
            have = 0 if values is None else len(values) - len(series)
            raise CharrnnError(f"--future {','.join(future)}: the forecast needs their next "
                               f"{ahead} row(s) after the last {series.target}; {series.name} "
                               f"gives {have} (add rows with {series.target} left empty)")
        parts.append(values[:rows])
    return np.concatenate(parts, axis=1)


def scale_future(future: list[str], known: np.ndarray, cycles: list[str],
                 rows: int) -> list[list[float]]:
    """(low, span) of each future column over the first `rows` (the training rows)."""
    j = 2 * len(cycles)
    out = []
    for k in range(len(future)):
        column = known[:rows, j + k]
        low, span = float(column.min()), float(column.max() - column.min())
        out.append([low, span if span > 0 else 1.0])
    return out
