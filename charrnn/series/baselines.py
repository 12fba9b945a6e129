"""The forecasts the network corrects (persistence, seasonal naive, seasonal drift), the target
transform they work in, and the choice among them.

Kept apart from the windows and the coder, which both build on them, so that the forecasting
rules live in one place and the metrics can score a baseline without the network. Pure numpy.
"""
from __future__ import annotations

import numpy as np

from charrnn.errors import CharrnnError
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
# All three work in the transformed space (the log, for a positive series whose swings grow with
# its level: the seasonal drift baseline then scales last season by the last season's growth).
BASELINES = ("persistence", "seasonal", "seasonal_drift")
TRANSFORMS = ("none", "log")


def forward(values: np.ndarray, transform: str) -> np.ndarray:
    """The transformed target; the log of a non-positive value is an error."""
    values = np.asarray(values, float)
    if transform == "log":
        if np.any(values <= 0):
            bad = float(values[values <= 0][0])
            raise CharrnnError(f"--transform log needs positive values; the target holds {bad:g} "
                               f"(use --transform none)")
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
    z = forward(target, transform)
    base = np.repeat(z[end][:, None], horizon, axis=1)
    ok = np.ones(len(end), bool)
    if kind != "persistence":
        if kind not in BASELINES:
            raise CharrnnError(f"baseline {kind!r}: one of {', '.join(BASELINES)}")
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
        base = np.where(ok[:, None], value, base)
    return inverse(base, transform), ok


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
