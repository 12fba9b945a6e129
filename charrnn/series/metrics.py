"""Scores and the baselines every forecast is judged against, in real units. Pure numpy."""
from __future__ import annotations

import numpy as np

from charrnn.errors import CharrnnError
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


def series_metrics(series, part, pred, coder, season: int | None, notes: list) -> dict:
    """Model metrics in real units, baselines on the very same windows; notes for stderr."""
    model = scores(pred, part.y)
    baselines = {"persistence": scores(persistence(part), part.y)}
    if season is not None:
        naive, ok = seasonal_naive(series.target_values, part, season)
        if not ok.any():
            raise CharrnnError(f"--season {season}: no window has a value one season back; "
                               f"use a shorter season or more rows")
        if not ok.all():
            notes.append(f"note: seasonal naive scored on the last {int(ok.sum())} of {len(ok)} "
                         f"windows (the first have no value one season back)")
        baselines["seasonal_naive"] = scores(naive, part.y[ok])
    rmse_p = baselines["persistence"]["rmse"]
    rmse_scaled = float(np.sqrt(np.mean(((pred - part.y) / coder.span) ** 2)))
    return {"rmse": model["rmse"], "mae": model["mae"], "mape": model["mape"],
            "rmse_scaled": rmse_scaled, "baselines": baselines,
            "skill": None if rmse_p == 0 else 1 - model["rmse"] / rmse_p, "n": int(len(part.y))}


def metrics_text(r: dict, target: str, what: str, season: int | None) -> str:
    def row(name: str, m: dict) -> str:
        mape = "-" if m["mape"] is None else f"{m['mape']:.3f}%"
        return f"{name:<16} rmse {m['rmse']:<12.6g} mae {m['mae']:<12.6g} mape {mape}"

    lines = [f"{target}, {what}: {r['n']} windows",
             row("model", r) + f"  rmse_scaled {r['rmse_scaled']:.5g}"]
    for name, m in r["baselines"].items():
        lines.append(row(f"seasonal({season})" if name == "seasonal_naive" else name, m))
    skill = r["skill"]
    if skill is None:
        lines.append("skill: undefined (persistence is exact on these windows)")
    else:
        verdict = ("better than" if skill >= 0.01 else "about as good as" if skill > -0.01
                   else "WORSE than")
        lines.append(f"skill {skill:+.4f}: the model is {verdict} persistence (the last value "
                     f"as the forecast); rmse x{1 - skill:.3f} persistence's")
    return "\n".join(lines)
