"""What a series is like, read from its training rows: its season, whether to take its log, and
the window that sees it. Pure numpy.

Only ever pass the rows the model learns from (training and validation rows): a season or a
transform read from the test rows would leak them into the model.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.moments import spread

# Periods a calendar suggests, by the step between rows; the first that the data confirm wins.
CALENDAR = {"hourly": (24, 168), "daily": (7, 365), "weekly": (52,), "monthly": (12,),
            "quarterly": (4,)}
# A calendar's period may peak this far off in the sample ACF: 3.7-7 years of daily weather-like
# rows (a yearly sine, AR(1) noise), 200 generated with random shapes: 172 found at 3%, 181 at
# 5%; the same number of non-seasonal ones (1 of 200) found a season either way
SLACK = 0.05
MIN_CYCLES = 2.5  # a season must repeat this often in the rows it is read from
LONGEST_SEARCH = 400  # without a calendar, periods up to this (and up to rows / 4) are tried
CLEAR_PEAK = 0.5  # the ACF at the period once the level is removed (Australian residents, a
# trend with a faint quarterly ripple: 0.42; wool and beer production: 0.74 and 0.91)
WINDOW_CAP = 104  # the longest default window; longer seasons reach the model by the baseline


# ---------------------------------------------------------------------- the calendar
def _parse(cell: str):
    """A datetime, a (year, month) period, a float (a plain year or number), or None."""
    cell = cell.strip()
    try:
        when = datetime.fromisoformat(cell.replace("Z", "+00:00").replace("/", "-"))
    except ValueError:
        pass
    else:  # offsets are read as the same instant in UTC: rows may mix them
        return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when
    parts = cell.replace("/", "-").split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        return int(parts[0]), int(parts[1])
    try:
        return float(cell)
    except ValueError:
        return None


def date_frequency(dates: list[str] | None) -> str | None:
    """hourly | daily | weekly | monthly | quarterly | yearly, from the commonest step; else None."""
    if not dates or len(dates) < 3:
        return None
    keys = [_parse(d) for d in dates[: min(len(dates), 400)]]
    if any(k is None for k in keys) or len({type(k) for k in keys}) != 1:
        return None
    if isinstance(keys[0], tuple):  # year-month periods
        steps = np.diff([y * 12 + m for y, m in keys])
        step = float(np.median(steps))
        return {1: "monthly", 3: "quarterly", 12: "yearly"}.get(int(step)) if step > 0 else None
    if isinstance(keys[0], float):  # plain numbers: a step of 1 in a year-like column is yearly
        step = float(np.median(np.diff(keys)))
        return "yearly" if step == 1 and 1000 <= keys[0] <= 3000 else None
    days = float(np.median([(b - a).total_seconds() for a, b in zip(keys, keys[1:])])) / 86400
    for name, low, high in (("hourly", 0.9 / 24, 1.1 / 24), ("daily", 0.9, 1.1),
                            ("daily", 1.1, 3.5),  # business days: weekends skipped
                            ("weekly", 6.5, 7.5), ("monthly", 27, 32), ("quarterly", 88, 93),
                            ("yearly", 360, 370)):
        if low <= days <= high:
            return name
    return None


# ---------------------------------------------------------------------- the season
def is_cycle(dates: list[str] | None) -> bool:
    """Whether a period found in these rows is a cycle that drifts rather than a season that
    recurs to the row: yearly rows (sunspots 9-14 years, the lynx about 9.6). The window reads
    one period of it and the baseline is persistence."""
    return date_frequency(dates) == "yearly"


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation at lags 0..max_lag (the usual biased estimate, via the FFT)."""
    x = x - x.mean()
    n = len(x)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size)
    r = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1]
    return r / r[0] if r[0] > 0 else np.zeros(max_lag + 1)


def _detrended(values: np.ndarray) -> np.ndarray:
    """The log when every value is positive and they span a factor of 1.5 or more (a growing
    multiplicative season then has a constant shape), minus a least-squares line."""
    y = np.asarray(values, float)
    if y.min() > 0 and y.max() / y.min() > 1.5:
        y = np.log(y)
    t = np.arange(len(y), dtype=float)
    slope, intercept = np.polyfit(t, y, 1)
    return y - (slope * t + intercept)


def _without_level(x: np.ndarray, m: int) -> np.ndarray:
    """x minus its centred moving average over one period (2 x m for an even m), as classical
    decomposition removes the level before reading the season; m // 2 rows lost at each end.

    Australian beer (quarterly) rises and falls over decades: the linear detrending leaves that
    hump, every ACF lag up to 12 stays positive and the season went unseen (its lag-4 ACF 0.91);
    without the level its ACF dips and the period is plain.
    """
    ma = np.convolve(x, np.ones(m) / m, mode="valid")
    if m % 2 == 0:
        ma = (ma[:-1] + ma[1:]) / 2
    half = m // 2
    return x[half:len(x) - half] - ma


def _peak(r: np.ndarray, m: int, n: int, strict: bool) -> float | None:
    """How clearly lag m is a seasonal peak of the ACF r (its height), or None.

    A season makes the ACF dip below zero within the period and rise to a local maximum at it;
    a trend or random walk (a smooth ACF that decays) or white noise (no dip and rise) do not.
    A calendar's period (not strict) may peak a little off (a year of 365.25 days, a noisy
    cycle): the maximum within SLACK of m counts.
    """
    slack = 0 if strict else int(m * SLACK)
    if m + slack + 1 >= len(r) or m < 2:
        return None
    near = int(np.argmax(r[m - slack:m + slack + 1])) + m - slack
    if r[near] < max(r[near - 1], r[near + 1]):
        return None
    height = max(0.3, 3.0 / math.sqrt(n)) if strict else max(0.2, 2.5 / math.sqrt(n))
    dip = float(r[1:near].min())
    if r[near] < height or dip > -0.1 or r[near] - dip < 0.4:
        return None
    return float(r[near])


def check_season(season: int, rows: int) -> None:
    """--season M: a cycle of 2 rows or more that the series holds."""
    if not 2 <= season < rows:
        raise CharrnnError(f"--season {season}: a season is 2 or more rows per cycle, and fewer "
                           f"than the series' {rows} rows")


def detect_season(values, dates: list[str] | None = None) -> int | None:
    """The season of a series (rows per cycle), or None, from its training rows only.

    The calendar proposes periods (monthly 12, quarterly 4, daily 7 then 365, hourly 24 then
    168, weekly 52); without one, every period from 2 up to rows / 4 is tried and the strictest
    test applies. A period needs MIN_CYCLES cycles in the rows and a clear ACF peak of the
    detrended series (see _peak), or for a calendar's period a strict peak once the level (a
    moving average over the period) is removed. White noise, random walks and trends give None.
    """
    y = np.asarray(values, float).reshape(-1)
    n = len(y)
    if n < 12 or not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        return None
    x = _detrended(y / np.abs(y).max())  # the ACF does not see the scale; squares of 1e200 do
    freq = date_frequency(dates)
    if freq in CALENDAR:
        periods = [m for m in CALENDAR[freq] if n >= MIN_CYCLES * m]
        if not periods:
            return None
        r = _acf(x, max(periods) + int(max(periods) * SLACK) + 2)
        for m in periods:
            if _peak(r, m, n, strict=False) is not None:
                return m
            local = _without_level(x, m)  # a wandering level can hide the season's dips
            if len(local) > 2 * m + 2 and (_peak(_acf(local, m + 2), m, len(local), strict=True)
                                           or 0.0) >= CLEAR_PEAK:
                return m
        return None
    longest = min(LONGEST_SEARCH, int(n / 4))
    if longest < 2:
        return None
    r = _acf(x, longest + 1)
    peaks = {m: h for m in range(2, longest + 1) if (h := _peak(r, m, n, strict=True))}
    if not peaks:
        return None
    top = max(peaks.values())  # the shortest period nearly as clear as the clearest wins:
    return min(m for m, h in peaks.items() if h >= 0.8 * top)  # not one of its multiples


# ---------------------------------------------------------------------- the transform
def choose_transform(values, season: int | None = None) -> str:
    """"log" for a positive series whose swings grow with its level, else "none".

    The rows are cut into chunks (whole seasons where there is one); across chunks, the spread of
    the changes within a chunk is compared to the chunk's mean level on log-log axes: a slope of
    1/2 or more, over levels that differ by a factor of 2 or more, means the swings scale with
    the level (a multiplicative season, or prices), which the log makes additive.
    """
    y = np.asarray(values, float).reshape(-1)
    if len(y) < 16 or not np.all(np.isfinite(y)) or y.min() <= 0:
        return "none"
    size = max(season or 0, 8, len(y) // 10)
    if season and len(y) >= 4 * season:
        size = season
    chunks = [y[i:i + size] for i in range(0, len(y) - size + 1, size)]
    if len(chunks) < 3:
        return "none"
    level = np.array([c.mean() for c in chunks])
    lag = season if season and season < size else 1
    swing = np.array([spread(c[lag:] - c[:-lag]) if season and season < size
                      else spread(c - np.linspace(c[0], c[-1], len(c))) for c in chunks])
    if season and season == size:  # a chunk is one season: its spread is the season's swing
        swing = np.array([spread(c) for c in chunks])
    if level.max() / level.min() < 2.0 or np.any(swing <= 0):
        return "none"
    slope = np.polyfit(np.log(level), np.log(swing), 1)[0]
    return "log" if slope >= 0.5 else "none"


# ---------------------------------------------------------------------- the window
def default_window(season: int | None, rows: int, horizon: int = 1, test_frac: float = 0.3,
                   val_frac: float = 0.1, plain: int = 7, cap: int = WINDOW_CAP,
                   cycle: bool = False) -> int:
    """Rows each window reads: two seasons where the data allow it (at most `cap`), else the
    longest that still leaves half the fitting rows' windows, never under `plain` (7, as before a
    season was known). Without a season: `plain`.

    With a season longer than cap / 2 (a daily series' year), the window covers 2 weeks-like
    spans at most; the season reaches the model through the seasonal baseline instead.
    A `cycle` (a period in yearly rows, which drifts: sunspots, the lynx) gets one period and
    two rows, as the autoregressions fitted to such series do (AR(9)-AR(12)): seed 1, the lynx
    0.874 -> 0.654 of persistence's RMSE (window 20 -> 12), sunspots 0.587 -> 0.572 (22 -> 13).
    """
    if not season or season < 2:
        return plain
    if cycle:
        want = min(cap, season + 2)
    else:
        want = 2 * season if 2 * season <= cap else max(plain, min(cap, 28))
    fit_rows = int(rows * (1 - test_frac))
    most = max(plain, fit_rows // 2 - horizon)  # half the fitting rows still make windows
    return max(plain, min(want, most))


# ---------------------------------------------------------------------- the level
ADF_CRITICAL = -2.86  # Dickey-Fuller, constant, 5%: below it, no unit root


def mean_reverting(values, level: float = 0.05) -> bool:
    """Whether the series returns to a level (an augmented Dickey-Fuller test with one lag
    rejects a unit root): then the network is also told where each window stands against the
    training rows' level, which the delta coding otherwise hides.

    On the benchmark's generators (seeds 1-5) the statistic was -7.9..-7.1 for a noisy cycle,
    -4.5..-4.2 for AR(1) weather with a yearly season, -3.1..-1.1 for random walks and
    -1.6..-0.4 for a growing trend with a season (whose level leaves the training range, where
    such an input would be out of distribution). With it, 3 seeds each: cycle 0.829 -> 0.810 of
    persistence's RMSE, daily season 0.979 -> 0.964, random walk 1.001 -> 1.000.

    `level` 0.01 asks for MacKinnon's 1% critical value at this many rows (about -3.46 at 250)
    instead of ADF_CRITICAL (5%): the bar for a series whose changes look random
    (prepare.walks)."""
    z = np.asarray(values, float).reshape(-1)
    if len(z) < 20 or not np.all(np.isfinite(z)) or np.ptp(z) == 0:
        return False
    z = (z - z.mean()) / spread(z)  # the statistic does not depend on units; huge values fit
    dz = np.diff(z)
    y = dz[1:]
    x = np.column_stack([np.ones(len(y)), z[1:-1], dz[:-1]])
    with np.errstate(all="ignore"):
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        e = y - x @ beta
        cov = (e @ e / (len(y) - x.shape[1])) * np.linalg.pinv(x.T @ x)
        t = beta[1] / np.sqrt(cov[1, 1]) if cov[1, 1] > 0 else np.nan
    n = len(y)
    critical = ADF_CRITICAL if level != 0.01 else -3.4336 - 5.999 / n - 29.25 / n ** 2
    return bool(np.isfinite(t) and t < critical)


# ---------------------------------------------------------------------- the changes
# Ljung-Box tests over these lags (Hyndman and Athanasopoulos: 10 without a season, at most
# n / 5), and the first two alone: on a few dozen rows the ten lags dilute a lag-1 correlation
# that a moving average leaves (the Nile's flow, 48 changes: lag 1 -0.39, p 0.13 over ten lags,
# 0.018 over two)
WALK_LAGS = (2, 10)
WALK_P = 0.05  # ...and their level: at or above it in both, the changes look like white noise
DRIFT_T = 2.0  # a random walk's drift is learned where the mean change is this many standard
# errors from 0: a generated walk with Student-t steps had a mean change of 0.12 over its 84
# training windows (t 0.69), 0.48 over the validation windows and -0.32 over the test part; the
# drift won the validation windows by 1.8% of RMSE and lost the test part by 2.9%


def changes_look_random(values) -> bool:
    """Whether the changes between rows (training rows, transformed) look like white noise:
    Ljung-Box tests over lags 1..WALK_LAGS do not reject it at WALK_P. Such a series is a
    random walk as far as its own past tells, which a drift may move on but no weighting of
    past changes can predict; a forecaster that finds such a weighting on the validation
    windows found chance (series/selection.py, linear.py).
    """
    z = np.asarray(values, float).reshape(-1)
    if len(z) < 12 or not np.all(np.isfinite(z)):
        return False
    dz = np.diff(z)
    n = len(dz)
    if n // 5 < 1 or np.ptp(dz) == 0:
        return False
    r = _acf(dz / spread(dz), max(WALK_LAGS))[1:]
    for lags in sorted({min(h, n // 5) for h in WALK_LAGS}):
        q = n * (n + 2) * float(np.sum(r[:lags] ** 2 / (n - np.arange(1, lags + 1))))
        if _chi2_above(q, lags) < WALK_P:
            return False
    return True


def clear_drift(values) -> bool:
    """Whether the changes between rows have a mean DRIFT_T standard errors or more from 0."""
    dz = np.diff(np.asarray(values, float).reshape(-1))
    if len(dz) < 3 or not np.all(np.isfinite(dz)):
        return False
    top = float(np.max(np.abs(dz)))
    dz = dz / top if top > 0 else dz  # squares of changes near 1e200 overflow, 1e-200 vanish
    size = float(np.std(dz, ddof=1))
    return size > 0 and abs(float(np.mean(dz))) * math.sqrt(len(dz)) >= DRIFT_T * size


def _chi2_above(q: float, dof: int) -> float:
    """P(chi-squared with `dof` degrees of freedom > q): the upper regularised gamma function,
    in closed form for whole degrees (numpy has no chi2)."""
    x = max(q, 0.0) / 2
    if dof % 2 == 0:
        term = total = 1.0
        for i in range(1, dof // 2):
            term *= x / i
            total += term
        return math.exp(-x) * total
    term, total = 2 * math.sqrt(x / math.pi), 0.0  # x^(i - 1/2) / Gamma(i + 1/2), from i = 1
    for i in range(1, (dof + 1) // 2):
        total += term
        term *= x / (i + 0.5)
    return math.erfc(math.sqrt(x)) + math.exp(-x) * total
