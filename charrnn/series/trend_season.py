"""A line and a season as a baseline: least squares of each row on a trend and a mean per phase
of the season (what Hyndman and Athanasopoulos call tslm(y ~ trend + season)), refitted at
every row on all the rows up to it, and extrapolated:

    y[t+h] = s[(t+h) % m] + b * (t+h)       b, s fitted on rows 0..t

The other baselines read a few rows back (seasonal naive repeats last season's noise; Holt-
Winters and the airline model discount old seasons): on a season and a trend that stay put,
with noise that wanders a little (AR(1)), every season seen is evidence, and the linear model on
top of this baseline's errors (its residual inputs) learns the wandering. Additive, so a
multiplicative season in the log space. Pure numpy.

The fit at every row comes from running sums per phase: the common slope is the within-phase
regression's, sum_p Sxy_p / sum_p Sxx_p, and each phase's mean is ybar_p - b * tbar_p.
"""
from __future__ import annotations

import numpy as np

TREND_SEASON = "trend_season"


def forecast(z: np.ndarray, end: np.ndarray, horizon: int, m: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(N, H) forecasts in the transformed space of windows ending at rows `end`, and a mask of
    those whose rows hold two seasons (the others' forecasts are meaningless)."""
    end = np.asarray(end, int)
    out = np.zeros((len(end), horizon))
    ok = end >= 2 * m - 1
    if not ok.any():
        return out, ok
    rows = int(end.max()) + 1
    z = np.asarray(z[:rows], float)
    size = float(np.max(np.abs(z), initial=0.0))
    y = z / size if size > 0 else z  # squares of values near 1e300 would overflow
    t = np.arange(rows, dtype=float)
    at = np.where(ok, end, 2 * m - 1)
    phase = (at[:, None] + np.arange(1, horizon + 1)[None, :]) % m  # (N, H): the phase forecast
    ybar, tbar = np.zeros((len(end), horizon)), np.zeros((len(end), horizon))
    sxy, sxx = np.zeros(rows), np.zeros(rows)
    for p in range(m):
        mask = (np.arange(rows) % m == p).astype(float)
        n = np.maximum(np.cumsum(mask), 1.0)
        st, sy = np.cumsum(mask * t), np.cumsum(mask * y)
        sxy += np.cumsum(mask * t * y) - st * sy / n
        sxx += np.cumsum(mask * t * t) - st * st / n
        here = phase == p
        rows_here = np.broadcast_to(at[:, None], phase.shape)[here]
        ybar[here], tbar[here] = sy[rows_here] / n[rows_here], st[rows_here] / n[rows_here]
    slope = np.divide(sxy[at], sxx[at], out=np.zeros(len(at)), where=sxx[at] > 0)[:, None]
    ahead = at[:, None] + np.arange(1, horizon + 1)[None, :]
    out = ybar + slope * (ahead - tbar)
    return out * size if size > 0 else out, ok
