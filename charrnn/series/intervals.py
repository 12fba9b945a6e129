"""Prediction intervals: split conformal, from the validation windows' residuals per step ahead.

At every save the trainer asks the task for its metadata with the weights being saved; the
task then predicts its validation windows (never the training windows, whose residuals the
model was fitted to and so understate its errors) and stores, per step ahead h, the sorted
absolute residuals |forward(y) - forward(pred)| in the space the coder forecasts in: real units
without a transform, the log with `--transform log` (intervals then grow with the level, and
are mapped back with exp: prediction x/÷ a factor). Any level is computed later, at forecast or
eval time, as the k-th smallest residual with k = ceil((n + 1) * level): the finite-sample
conformal quantile, which covers a new window with probability >= level when windows are
exchangeable. Time series are not quite that (neighbouring windows are correlated, and the
model's `best` epoch was picked on these windows), so eval reports the coverage it reaches on
the test part. Pure numpy.
"""
from __future__ import annotations

import math

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.baselines import forward, inverse

DEFAULT_LEVELS = (80.0, 95.0)


def calibration(pred: np.ndarray, actual: np.ndarray, transform: str) -> dict | None:
    """The checkpoint's "conformal" entry from (N, H) validation predictions and truths."""
    pred, actual = np.asarray(pred, float), np.asarray(actual, float)
    if pred.size == 0:
        return None
    try:
        resid = np.abs(forward(actual, transform) - forward(pred, transform))  # (N, H)
    except CharrnnError:  # a non-positive value in log space: fall back to real units
        transform, resid = "none", np.abs(actual - pred)
    if not np.all(np.isfinite(resid)):
        return None
    per_step = np.sort(resid, axis=0).T  # (H, N)
    return {"space": transform, "windows": int(resid.shape[0]),
            "residuals_per_step": [[float(f"{v:.7g}") for v in row] for row in per_step]}


def level_label(level: float) -> str:
    return f"{level:g}"


def check_levels(levels) -> list[float]:
    for level in levels:
        if not (math.isfinite(level) and 0 < level < 100):
            raise CharrnnError(f"--level {level:.10g}: give a coverage in percent, between 0 and "
                               f"100 exclusive (80 or 95)")
    return sorted(dict.fromkeys(float(v) for v in levels))


def require(cal: dict | None, what: str) -> dict:
    if not cal:
        raise CharrnnError(f"{what}: this model holds no interval calibration (it was trained "
                           f"with no validation windows, --val-frac 0, or before intervals); "
                           f"train it with --val-frac > 0")
    return cal


def levels_to_score(cal: dict | None, levels, notes: list) -> list[float]:
    """`eval`'s levels: those asked (checked; an error without a calibration), else the default
    levels the calibration's windows can reach (a note when not all)."""
    if levels:
        levels = check_levels(levels)
        require(cal, "--level")
        return levels
    if not cal:
        return []
    found = [v for v in DEFAULT_LEVELS if reachable(cal, v)]
    if len(found) < len(DEFAULT_LEVELS):
        notes.append(f"note: {cal['windows']} validation windows calibrate intervals up to "
                     f"{100 * cal['windows'] / (cal['windows'] + 1):.3g}% only")
    return found


def forecast_levels(cal: dict | None, levels, steps: int) -> list[float]:
    """`forecast`'s levels, checked: a calibration is needed, and covers the steps predicted at
    once only (iterated steps have none)."""
    levels = check_levels(levels or [])
    if levels:
        horizon = len(require(cal, "--level")["residuals_per_step"])
        if steps > horizon:
            raise CharrnnError(f"--level with --steps {steps}: intervals are calibrated for "
                               f"the {horizon} step(s) the model predicts at once; iterated "
                               f"steps have none. Use --steps {horizon}, or train with a larger "
                               f"--horizon")
    return levels


def reachable(cal: dict, level: float) -> bool:
    """Whether the calibration's windows are enough for this level (else quantiles refuses)."""
    n = min(len(row) for row in cal["residuals_per_step"])
    return math.ceil((n + 1) * level / 100 - 1e-9) <= n


def quantiles(cal: dict, level: float, steps: int) -> np.ndarray:
    """(steps,) half-widths, in the calibration's space, for steps 1..steps ahead."""
    rows = cal["residuals_per_step"]
    if steps > len(rows):
        raise CharrnnError(f"--level {level:.10g}: intervals are calibrated for steps "
                           f"1..{len(rows)} (the model's --horizon); ask for at most --steps "
                           f"{len(rows)}")
    out = []
    for row in rows[:steps]:
        n = len(row)
        k = math.ceil((n + 1) * level / 100 - 1e-9)
        if k > n:
            need = math.ceil(100 / (100 - level)) - 1
            raise CharrnnError(f"--level {level:.10g}: {n} validation windows can calibrate levels "
                               f"up to {100 * n / (n + 1):.3g}%; this one needs {need:,} (train "
                               f"with a larger --val-frac, or ask a lower level)")
        out.append(row[k - 1])
    return np.asarray(out, float)


def bounds(pred: np.ndarray, cal: dict, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds, real units, for (N, H) predictions (or (H,))."""
    pred = np.asarray(pred, float)
    q = quantiles(cal, level, pred.shape[-1])
    z = forward(np.maximum(pred, 1e-300), "log") if cal["space"] == "log" else pred
    return inverse(z - q, cal["space"]), inverse(z + q, cal["space"])


def interval_scores(lo: np.ndarray, hi: np.ndarray, y: np.ndarray, level: float,
                    scale: float | None) -> dict:
    """Coverage (overall and per step), mean width and MSIS (the M4 competition's mean scaled
    interval score: width plus 2/alpha times each miss, over the in-sample seasonal naive MAE)."""
    alpha = 1 - level / 100
    inside = (y >= lo) & (y <= hi)
    score = (hi - lo) + 2 / alpha * (lo - y) * (y < lo) + 2 / alpha * (y - hi) * (y > hi)
    msis = float(np.mean(score)) / scale if scale else None
    return {"level": level, "coverage": float(np.mean(inside)),
            "mean_width": float(np.mean(hi - lo)),
            "msis": msis if msis is None or math.isfinite(msis) else None,
            "coverage_per_step": [float(v) for v in np.mean(inside, axis=0)]}
