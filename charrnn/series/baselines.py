"""The forecasts the network corrects (persistence, seasonal naive, seasonal drift, and the
fitted ones: Holt-Winters, the airline model, a line and a season), the target transform they
work in, and the choice among them.

Kept apart from the windows and the coder, which both build on them, so that the forecasting
rules live in one place and the metrics can score a baseline without the network. Pure numpy.
"""
from __future__ import annotations

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series import airline, trend_season
from charrnn.series.airline import AIRLINE, airline_weights
from charrnn.series.trend_season import TREND_SEASON
from charrnn.series.moments import rms

# ---------------------------------------------------------------------- baselines
# A baseline forecasts from values known at forecast time: the window's last row t and earlier.
# The network learns a correction to it; a zero output is the baseline.
#
#   persistence      y[t+h] = y[t]
#   seasonal         y[t+h] = y[t+h-m*k]                              k = ceil(h / m)
#   seasonal_drift   y[t+h] = y[t+h-m*k] + k * (y[t] - y[t-m])        (the seasonal random walk
#                    with drift, ARIMA(0,1,0)(0,1,0)m: last season's value moved by the change
#                    over the last season; for h = 1: y[t+1-m] + y[t] - y[t-m])
#
#   smoothed         y[t+h] = l[t] + h * b[t] + s[t+h-m*k]                   (Holt-Winters: a
#                    level l, a trend b and a season s, each smoothed from the one-step errors
#                    e; additive, so multiplicative in the log space; without a season, m = 1
#                    and s = 0: Holt's level and trend)
#                    l[t] = l[t-1] + b[t-1] + alpha * e[t]
#                    b[t] = b[t-1] + alpha * beta * e[t]
#                    s[t] = s[t-m] + gamma * (1 - alpha) * e[t]
#
#   airline          y[t+1] = seasonal drift - theta * a[t] - Theta * a[t+1-m]
#                    + theta * Theta * a[t-m]                  (ARIMA(0,1,1)(0,1,1)m: seasonal
#                    drift corrected by a moving average of its own one-step errors a; the
#                    weights fitted on the training rows, "airline:theta,Theta"; airline.py)
#
#   trend_season     y[t+h] = s[(t+h) % m] + b * (t+h)                      (a line and a mean
#                    per phase, least squares over rows 0..t, refitted at every row;
#                    trend_season.py)
#
#   combined         the mean of persistence, seasonal and seasonal_drift, and of smoothed
#                    where its weights are named ("combined:alpha,gamma,beta"); without a
#                    season, of persistence and Holt. Chosen where too few validation windows
#                    cannot tell the others apart (selection.FEW_WINDOWS)
#   mean             the mean of the baselines it names, "mean:seasonal+smoothed:0.3,0.1,0.05":
#                    the two that did best on the validation windows (selection.choose_baseline)
#
# All work in the transformed space (the log, for a positive series whose swings grow with
# its level: the seasonal drift baseline then scales last season by the last season's growth).
# Seasonal naive repeats last season's noise; smoothing averages it over seasons, which on
# Australian wine sales (monthly) made the forecast 0.33 of persistence's RMSE where seasonal
# naive scored 0.44. Its weights are fitted on the training rows and travel in its name,
# "smoothed:alpha,gamma,beta", so a checkpoint's coder rebuilds it exactly.
BASELINES = ("persistence", "seasonal", "seasonal_drift")
SMOOTHED = "smoothed"
COMBINED = "combined"
MEAN = "mean"
LONGEST_SMOOTHED = 52  # seasons up to a weekly year are smoothed; a daily year is not tried
TRANSFORMS = ("none", "log")
ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
GAMMAS = (0.05, 0.1, 0.2, 0.3, 0.5)
BETAS = (0.0, 0.05, 0.2)  # 0: no trend
# Without a season alpha 1 is also tried (the last value plus a smoothed trend): on US real
# consumption and CPI (quarterly) Holt's method with alpha <= 0.9 scored 0.530 and 0.794 of
# persistence's RMSE on the test part, with alpha 1 0.514 and 0.784
LEVEL_ALPHAS = ALPHAS + (1.0,)


def forward(values: np.ndarray, transform: str) -> np.ndarray:
    """The transformed target; the log of a non-positive value is an error."""
    values = np.asarray(values, float)
    if transform == "log":
        if np.any(values <= 0):
            bad = float(values[values <= 0][0])
            raise CharrnnError(f"the log transform (--transform log) needs positive values; "
                               f"the target holds {bad:g} (train with --transform none for such "
                               f"values)")
        return np.log(values)
    return values


def inverse(values: np.ndarray, transform: str) -> np.ndarray:
    return np.exp(values) if transform == "log" else values


def baseline_forecast(target: np.ndarray, end: np.ndarray, horizon: int, kind: str,
                      season: int | None = None, transform: str = "none"
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(N, H) forecasts in real units of windows ending at rows `end`, and a mask (N,) of the
    windows that reach back far enough; the others get persistence."""
    end = np.asarray(end, int)
    parts = combined_parts(kind, season)
    if parts is not None:
        return _mean_forecast(target, end, horizon, parts, season, transform)
    z = forward(target, transform)
    base = np.repeat(z[end][:, None], horizon, axis=1)
    ok = np.ones(len(end), bool)
    if kind == TREND_SEASON:
        if not season or season < 2:
            raise CharrnnError(f"baseline {kind}: needs a season")
        value, ok = trend_season.forecast(z, end, horizon, season)
        return inverse(np.where(ok[:, None], value, base), transform), ok
    moving = airline_weights(kind)
    if moving is not None:
        if not season or season < 2:
            raise CharrnnError(f"baseline {kind}: needs a season")
        value, ok = airline.forecast(z, end, horizon, season, *moving)
        return inverse(np.where(ok[:, None], value, base), transform), ok
    if kind != "persistence":
        weights = smoothing(kind)
        if not single(kind):
            raise CharrnnError(f"baseline {kind!r}: one of {SINGLE}")
        if weights is not None and not season:
            season = 1  # Holt: a level and a trend, no season
        if not season or season < 1:
            raise CharrnnError(f"baseline {kind}: needs a season")
        h = np.arange(1, horizon + 1)
        k = np.ceil(h / season).astype(int)
        idx = end[:, None] + h[None, :] - season * k[None, :]  # (N, H), all <= end
        reach = end - season if kind == "seasonal_drift" else idx.min(axis=1)
        ok = reach >= 0
        safe = np.clip(idx, 0, None)
        value = z[safe]
        if kind == "seasonal_drift":
            value = value + k[None, :] * (z[end] - z[np.clip(end - season, 0, None)])[:, None]
        if weights is not None:
            level, trend, seasonal = holt_winters(z[:end.max(initial=0) + 1], season, *weights)
            ok &= end >= season - 1  # the level is known once a season has been read
            at = np.clip(end, 0, None)
            value = level[at][:, None] + h[None, :] * trend[at][:, None] + seasonal[safe]
        base = np.where(ok[:, None], value, base)
    return inverse(base, transform), ok


SINGLE = (f"{', '.join(BASELINES)}, {SMOOTHED}:ALPHA,GAMMA,BETA, "
          f"{AIRLINE}:THETA,SEASONAL_THETA, {TREND_SEASON}")  # the names single() accepts


def single(kind) -> bool:
    """Whether `kind` names one baseline: a plain one, or a fitted one with its weights (a
    malformed "smoothed:..." or "airline:..." is an error)."""
    return (kind in BASELINES or kind == TREND_SEASON or smoothing(kind) is not None
            or airline_weights(kind) is not None)


def combined(smoothed: str | None = None) -> str:
    """The name of the combination: "combined", or "combined:alpha,gamma,beta" where the
    fitted smoothed baseline is one of its parts."""
    if smoothed is None:
        return COMBINED
    return COMBINED + smoothed[len(SMOOTHED):]


def mean_of(parts) -> str:
    """The name of the mean of these baselines ("mean:A+B")."""
    return f"{MEAN}:" + "+".join(parts)


def mean_parts(kind) -> tuple[str, ...] | None:
    """The parts of a "mean:A+B" baseline, else None ("combined" is read as one baseline)."""
    if isinstance(kind, str) and kind.startswith(MEAN + ":"):
        return combined_parts(kind)
    return None


def residual_errors(target: np.ndarray, kind: str, season: int | None = None,
                    transform: str = "none") -> np.ndarray:
    """The residual inputs' one-step errors: (rows,) of the baseline, or (rows, P) of each
    part of a "mean:A+B" (its linear model is the mean of the parts' own, linear.combine)."""
    parts = mean_parts(kind)
    if parts is None:
        return one_step_errors(target, kind, season, transform)
    return np.stack([one_step_errors(target, part, season, transform) for part in parts], axis=1)


def residual_columns(kind) -> int:
    parts = mean_parts(kind)
    return 1 if parts is None else len(parts)


def combined_parts(kind: str, season: int | None = None) -> tuple[str, ...] | None:
    """The baselines a "combined[:alpha,gamma,beta]" or a "mean:A+B" averages, else None:
    without a season, persistence and Holt's level and trend."""
    if isinstance(kind, str) and kind.startswith(MEAN + ":"):
        parts = tuple(kind[len(MEAN) + 1:].split("+"))
        for part in parts:
            if not single(part):
                raise CharrnnError(f"baseline {kind!r}: {MEAN}:A+B, each one of {SINGLE}")
        return parts
    if not isinstance(kind, str) or not (kind == COMBINED or kind.startswith(COMBINED + ":")):
        return None
    simple = BASELINES if season else ("persistence",)
    if kind == COMBINED:
        return simple
    smoothed = SMOOTHED + kind[len(COMBINED):]
    smoothing(smoothed)  # checks the weights
    return simple + (smoothed,)


def _mean_forecast(target, end, horizon, parts, season, transform):
    """The mean of the parts' forecasts in the transformed space; persistence where any part
    cannot reach back."""
    z = np.zeros((len(end), horizon))
    ok = np.ones(len(end), bool)
    for kind in parts:
        base, reach = baseline_forecast(target, end, horizon, kind, season, transform)
        z += forward(base, transform)
        ok &= reach
    last = np.repeat(forward(target, transform)[end][:, None], horizon, axis=1)
    return inverse(np.where(ok[:, None], z / len(parts), last), transform), ok


def smoothing(kind: str) -> tuple[float, float, float] | None:
    """(alpha, gamma, beta) of a fitted "smoothed:alpha,gamma,beta" baseline, else None."""
    if not isinstance(kind, str) or not kind.startswith(SMOOTHED + ":"):
        return None
    try:
        alpha, gamma, beta = (float(v) for v in kind[len(SMOOTHED) + 1:].split(","))
    except ValueError:
        raise CharrnnError(f"baseline {kind!r}: smoothed:ALPHA,GAMMA,BETA") from None
    return alpha, gamma, beta


def holt_winters(z: np.ndarray, season: int, alpha: float, gamma: float, beta: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level, trend, season) after each row: the level and trend as known at row t, and the
    season's value written at row t (the one a forecast of a row m later reads).

    The last run per weights is kept: a forecast iterated past the horizon appends one row at
    a time and asks again, and the recursion goes on from where it stopped instead of reading
    the whole series again (200 steps on 20,000 rows: 400 runs over the series)."""
    z = np.asarray(z, float)
    n, m = len(z), season
    if n < m:
        return np.zeros(n), np.zeros(n), np.zeros(n)
    key = (m, alpha, gamma, beta)
    done = _LAST_RUN.get(key)
    if done is not None and n >= 2 * m and len(done[0]) >= 2 * m:  # the same start as before
        seen, level, trend, seasonal = done
        k = min(n, len(seen))
        if np.array_equal(z[:k], seen[:k]):
            if n <= k:
                return level[:n].copy(), trend[:n].copy(), seasonal[:n].copy()
            more = _recur(z, k, float(level[-1]), float(trend[-1]), seasonal[k - m:].tolist(),
                          m, alpha, beta, gamma * (1 - alpha))
            done = (z.copy(), *(np.concatenate([old, new]) for old, new in
                                zip((level, trend, seasonal), more)))
            _remember(key, done)
            return tuple(a.copy() for a in done[1:])
    lv, slope, first = _start(z, m)
    tr = slope if beta > 0 else 0.0
    level, trend, seasonal = _recur(z, m, lv, tr, first.tolist(), m, alpha, beta,
                                    gamma * (1 - alpha))
    done = (z.copy(), np.concatenate([np.full(m, lv), level]),
            np.concatenate([np.full(m, tr), trend]), np.concatenate([first, seasonal]))
    _remember(key, done)
    return tuple(a.copy() for a in done[1:])


_LAST_RUN: dict = {}  # (season, alpha, gamma, beta) -> (rows, level, trend, season)


def _remember(key, run) -> None:
    if len(_LAST_RUN) >= 8 and key not in _LAST_RUN:
        _LAST_RUN.clear()
    _LAST_RUN[key] = run


def _recur(z, start: int, lv: float, tr: float, ring: list, m: int, alpha, beta, keep):
    """(level, trend, season) of rows start.. of z, from the state after row start - 1 and the
    season's last m values `ring`."""
    level, trend, seasonal = [], [], []
    for t, value in enumerate(z[start:].tolist(), start):  # Python floats: 5x numpy's here
        _, written, lv, tr = _step(value, lv, tr, ring[t - start], alpha, beta, keep)
        ring.append(written)
        seasonal.append(written)
        level.append(lv)
        trend.append(tr)
    return np.array(level), np.array(trend), np.array(seasonal)


def _step(value, level, trend, last_season, alpha, beta, keep):
    """One row of the recursion, for floats or for arrays of weights run side by side: (the
    one-step error, the season written, the new level, the new trend)."""
    e = value - (level + trend + last_season)
    return e, last_season + keep * e, level + trend + alpha * e, trend + alpha * beta * e


def _start(z: np.ndarray, m: int) -> tuple[float, float, np.ndarray]:
    """The first season starts the recursion: its mean is the level, its deviations the season,
    and the trend (when beta > 0) the change of mean to the second season, per row."""
    level = float(z[:m].mean())
    slope = (float(z[m:2 * m].mean()) - level) / m if len(z) >= 2 * m else 0.0
    return level, slope, z[:m] - level


def fit_airline(target: np.ndarray, season: int, transform: str = "none") -> str:
    """The "airline:theta,Theta" fitted on these (training) rows (airline.fit_airline)."""
    return airline.fit_airline(forward(target, transform), season)


def fit_smoothing(target: np.ndarray, season: int | None, transform: str = "none") -> str:
    """The "smoothed:alpha,gamma,beta" whose one-step errors over these (training) rows, after
    two seasons of burn-in (one on fewer than four seasons of rows), have the least sum of
    squares, from a grid of every ALPHAS x GAMMAS x BETAS run side by side; under two seasons
    of rows, the smallest weights. Without a season (Holt): LEVEL_ALPHAS x BETAS, gamma 0, and
    "persistence" where alpha 1 and no trend fit best."""
    z, m = forward(target, transform), season or 1
    size = float(np.max(np.abs(z), initial=0.0))
    z = z / size if size > 0 else z  # squares of values near 1e300 would overflow
    alphas, gammas = (ALPHAS, GAMMAS) if season else (LEVEL_ALPHAS, (0.0,))
    grid = np.array([(a, g, b) for a in alphas for g in gammas for b in BETAS])
    alpha, gamma, beta = grid.T
    if len(z) < 2 * m:
        return f"{SMOOTHED}:{alphas[0]:g},{gammas[0]:g},0"
    lv, slope, first = _start(z, m)
    lv, tr = np.full(len(grid), lv), np.where(beta > 0, slope, 0.0)
    ring = np.repeat(first[:, None], len(grid), axis=1)  # (m, P): the season, row t at t % m
    keep, sse = gamma * (1 - alpha), np.zeros(len(grid))
    burn = 2 * m if len(z) >= 4 * m else m
    for t in range(m, len(z)):
        e, ring[t % m], lv, tr = _step(z[t], lv, tr, ring[t % m], alpha, beta, keep)
        if t >= burn:
            sse += e * e
    a, g, b = grid[int(np.argmin(sse))]
    if a == 1 and b == 0 and not season:  # the last value, nothing smoothed
        return "persistence"
    return f"{SMOOTHED}:{a:g},{g:g},{b:g}"


PREFER_PERSISTENCE = 0.05  # a seasonal baseline must beat persistence's RMSE by 5%


def choose_baseline(target: np.ndarray, end: np.ndarray, y: np.ndarray, season: int | None,
                    transform: str = "none", margin: float = PREFER_PERSISTENCE) -> str:
    """The candidate with the lowest RMSE on these windows (those the model is fitted and
    selected on), in real units; persistence without a season, and unless a seasonal baseline
    beats it by `margin` (on a noisy cycle a seasonal baseline won the fitting windows by a
    hair, then lost the test part by 15%)."""
    if not season or len(end) == 0:
        return "persistence"
    rmse = {}
    for kind in BASELINES:
        base, _ = baseline_forecast(target, end, y.shape[1], kind, season, transform)
        rmse[kind] = rms(base - y)
    best = min(BASELINES[1:], key=rmse.__getitem__)
    return best if rmse[best] < (1 - margin) * rmse["persistence"] else "persistence"


def one_step_errors(target: np.ndarray, kind: str, season: int | None = None,
                    transform: str = "none") -> np.ndarray:
    """(rows,) error of the baseline's one-step forecast of every row, from the rows before it
    (transformed space; 0 where it would reach before row 0). For seasonal drift this is the
    doubly differenced series an airline ARIMA models."""
    rows = len(target)
    err = np.zeros(rows)
    if rows < 2:
        return err
    f, ok = baseline_forecast(target, np.arange(rows - 1), 1, kind, season, transform)
    z = forward(target, transform)
    err[1:] = np.where(ok, z[1:] - forward(f[:, 0], transform), 0.0)
    return err
