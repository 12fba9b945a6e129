"""The airline model, ARIMA(0,1,1)(0,1,1)m, as a baseline: seasonal drift corrected by a moving
average of its own one-step errors a,

    y[t+1] = y[t] + y[t+1-m] - y[t-m] - theta * a[t] - Theta * a[t+1-m] + theta * Theta * a[t-m]

with (theta, Theta) fitted on the training rows by conditional least squares over a grid, and
carried in the baseline's name ("airline:theta,Theta"; "airline:0,0" is seasonal drift). It is
the model Box and Jenkins fitted to the airline passengers, and what AutoARIMA often settles on
for a trend with a season. The linear model on seasonal drift's errors approximates it with lags
of the window alone, which reach back two seasons, where the seasonal moving average of the
errors (Theta 0.6-0.8 on the series looked at) reaches back many. Pure numpy.
"""
from __future__ import annotations

import numpy as np

from charrnn.errors import CharrnnError

AIRLINE = "airline"
THETAS = tuple(round(v, 2) for v in np.arange(-0.4, 0.951, 0.05))
SEASONAL_THETAS = tuple(round(v, 2) for v in np.arange(0.0, 0.951, 0.05))


def airline_weights(kind) -> tuple[float, float] | None:
    """(theta, Theta) of an "airline:theta,Theta" baseline, else None."""
    if not isinstance(kind, str) or not kind.startswith(AIRLINE + ":"):
        return None
    try:
        theta, seasonal = (float(v) for v in kind[len(AIRLINE) + 1:].split(","))
    except ValueError:
        raise CharrnnError(f"baseline {kind!r}: {AIRLINE}:THETA,SEASONAL_THETA") from None
    if not (abs(theta) < 1 and abs(seasonal) < 1):
        raise CharrnnError(f"baseline {kind!r}: both weights between -1 and 1")
    return theta, seasonal


def _step(z, t: int, m: int, a1, am, am1, theta, seasonal):
    """The one-step forecast of row t from the rows before it and the errors a[t-1], a[t-m],
    a[t-m-1] (floats, or arrays of weights run side by side)."""
    return (z[t - 1] + z[t - m] - z[t - m - 1]
            - theta * a1 - seasonal * am + theta * seasonal * am1)


def errors(z: np.ndarray, m: int, theta: float, seasonal: float) -> np.ndarray:
    """(rows,) one-step errors a of the model on z (transformed space), 0 up to row m.

    The last run per weights is kept, as for Holt-Winters: a forecast iterated past the
    horizon appends one row at a time and asks again."""
    z = np.asarray(z, float)
    key = (m, theta, seasonal)
    seen = _LAST_RUN.get(key)
    a, start = [0.0] * min(len(z), m + 1), m + 1
    if seen is not None:
        k = min(len(z), len(seen[0]))
        if k > m + 1 and np.array_equal(z[:k], seen[0][:k]):
            a, start = seen[1][:k].tolist(), k
    values = z.tolist()  # Python floats: a row at a time
    for t in range(start, len(z)):
        a.append(values[t] - _step(values, t, m, a[t - 1], a[t - m], a[t - m - 1], theta,
                                   seasonal))
    run = np.array(a[:len(z)])
    if len(_LAST_RUN) >= 8 and key not in _LAST_RUN:
        _LAST_RUN.clear()
    _LAST_RUN[key] = (z.copy(), run)
    return run.copy()


_LAST_RUN: dict = {}  # (season, theta, Theta) -> (rows, errors)


def forecast(z: np.ndarray, end: np.ndarray, horizon: int, m: int, theta: float,
             seasonal: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, H) forecasts in the transformed space of windows ending at rows `end`, and a mask of
    those that reach a season and a row back (the others' rows are meaningless)."""
    end = np.asarray(end, int)
    ok = end >= m
    out = np.zeros((len(end), horizon))
    if not ok.any():
        return out, ok
    at = np.where(ok, end, m)  # a safe row for the others
    a = errors(z[:int(end.max()) + 1], m, theta, seasonal)

    def value(offset: int):  # row end + offset: known, or forecast
        return z[at + offset] if offset <= 0 else out[:, offset - 1]

    def error(offset: int):  # unknown errors are 0
        return a[at + offset] if offset <= 0 else 0.0

    for h in range(1, horizon + 1):
        out[:, h - 1] = (value(h - 1) + value(h - m) - value(h - m - 1)
                         - theta * error(h - 1) - seasonal * error(h - m)
                         + theta * seasonal * error(h - m - 1))
    return out, ok


def fit_airline(z: np.ndarray, season: int) -> str:
    """The "airline:theta,Theta" whose one-step errors over these (training, transformed) rows,
    after two seasons of burn-in (one on fewer than four seasons of rows), have the least sum of
    squares, from a grid of THETAS x SEASONAL_THETAS run side by side; "airline:0,0" (seasonal
    drift) under two seasons and two rows."""
    z = np.asarray(z, float)
    m = season
    if len(z) < 2 * m + 2:
        return f"{AIRLINE}:0,0"
    size = float(np.max(np.abs(z), initial=0.0))
    z = z / size if size > 0 else z  # squares of values near 1e300 would overflow
    grid = np.array([(t, s) for t in THETAS for s in SEASONAL_THETAS])
    theta, seasonal = grid.T
    ring = np.zeros((m + 1, len(grid)))  # a of the last m + 1 rows, row t at t % (m + 1)
    sse = np.zeros(len(grid))
    burn = max(m + 1, 2 * m if len(z) >= 4 * m else m)
    for t in range(m + 1, len(z)):
        e = z[t] - _step(z, t, m, ring[(t - 1) % (m + 1)], ring[(t - m) % (m + 1)],
                         ring[t % (m + 1)], theta, seasonal)
        ring[t % (m + 1)] = e
        if t >= burn:
            sse += e * e
    t, s = grid[int(np.argmin(sse))]
    return f"{AIRLINE}:{t:g},{s:g}"
