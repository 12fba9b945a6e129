"""Scores and the baselines every forecast is judged against, in real units. Pure numpy."""
from __future__ import annotations

import numpy as np

from charrnn.series.prepare import Windows


def scores(pred: np.ndarray, actual: np.ndarray) -> dict:
    """RMSE, MAE and MAPE (percent; None when a true value is zero) over all entries."""
    err = np.asarray(pred, float) - np.asarray(actual, float)
    actual = np.asarray(actual, float)
    mape = None if np.any(actual == 0) else float(np.mean(np.abs(err) / np.abs(actual)) * 100)
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
            "mape": mape}


def persistence(w: Windows) -> np.ndarray:
    """Every step ahead = the last observed value. (N, H)"""
    return np.repeat(w.last[:, None], w.y.shape[1], axis=1)


def seasonal_naive(target: np.ndarray, w: Windows, season: int) -> tuple[np.ndarray, np.ndarray]:
    """Step h ahead = the value one season (or whole seasons) before it, known at forecast time.

    Returns the predictions (N', H) and a mask (N,) of the windows that have such values.
    """
    h = np.arange(1, w.y.shape[1] + 1)
    back = season * np.ceil(h / season).astype(int)  # whole seasons, so it lies in the past
    idx = w.end[:, None] + h[None, :] - back[None, :]
    ok = idx.min(axis=1) >= 0
    return target[idx[ok]], ok
