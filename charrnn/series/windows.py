"""The network's examples: window i reads rows i .. i+W-1 (all features, scaled) and holds the
target's H rows after it in real units, with its baseline forecast and the baseline's one-step
errors when the coder needs them.

Its own module because the coder, the task, the metrics and prepare all pass Windows around;
here it depends on nothing of theirs, so none of them import each other in a cycle. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from charrnn.series.baselines import baseline_forecast, residual_errors
from charrnn.series.scaler import Scaler
from charrnn.series.table import Series


@dataclass
class Windows:
    x: np.ndarray  # (N, W, F) scaled features
    y: np.ndarray  # (N, H) target in real units, the H rows after each window
    last: np.ndarray  # (N,) last observed target in real units
    end: np.ndarray  # (N,) row index of the last observed row
    base: np.ndarray | None = None  # (N, H) the baseline forecast in real units (None: `last`)
    resid: np.ndarray | None = None  # (N, W) the baseline's one-step errors on the window's rows,
    # in the transformed space (0 where the baseline reaches before row 0); (N, W, P) for a
    # "mean:A+B" baseline, one column per part
    known: np.ndarray | None = None  # (N, W, K) covariates known in advance, leading by H rows


def count_windows(rows: int, window: int, horizon: int) -> int:
    return max(0, rows - window - horizon + 1)


def make_windows(series: Series, scaler: Scaler, window: int, horizon: int, *,
                 baseline: str = "persistence", season: int | None = None,
                 transform: str = "none", known: np.ndarray | None = None) -> Windows:
    """known: (rows + ahead, K) covariates (covariates.known_matrix); window row r reads row
    r + H of them."""
    n = count_windows(len(series), window, horizon)
    scaled = scaler.transform(series.values).astype(np.float32)  # (rows, F)
    starts = np.arange(n)
    x = scaled[starts[:, None] + np.arange(window)[None, :]]  # (N, W, F)
    end = starts + window - 1
    y = series.target_values[end[:, None] + np.arange(1, horizon + 1)[None, :]]  # (N, H)
    lead = None if known is None else known[starts[:, None] + horizon + np.arange(window)[None, :]]
    return with_baseline(Windows(x, y, series.target_values[end], end, known=lead), series,
                         baseline, season, transform)


def with_baseline(w: Windows, series: Series, baseline: str, season: int | None,
                  transform: str) -> Windows:
    """`w` with another baseline's forecasts and residuals (the same rows, inputs and labels):
    a mean baseline's parts each fit their own linear model on them."""
    base = resid = None
    horizon, window = w.y.shape[1], w.x.shape[1]
    if baseline not in (None, "none", "persistence") or transform != "none":
        base, _ = baseline_forecast(series.target_values, w.end, horizon,
                                    baseline or "persistence", season, transform)
    if baseline not in (None, "none"):
        err = residual_errors(series.target_values, baseline, season, transform)
        rows = w.end[:, None] - window + 1 + np.arange(window)[None, :]
        resid = err[rows]  # (N, W) or (N, W, P)
    return replace(w, base=base, resid=resid)


def take(w: Windows, start: int, stop: int) -> Windows:
    return Windows(w.x[start:stop], w.y[start:stop], w.last[start:stop], w.end[start:stop],
                   None if w.base is None else w.base[start:stop],
                   None if w.resid is None else w.resid[start:stop],
                   None if w.known is None else w.known[start:stop])


def pick(w: Windows, idx) -> Windows:
    """The windows at indices idx (an array), base included."""
    return Windows(w.x[idx], w.y[idx], w.last[idx], w.end[idx],
                   None if w.base is None else w.base[idx],
                   None if w.resid is None else w.resid[idx],
                   None if w.known is None else w.known[idx])
