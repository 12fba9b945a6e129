"""Scores and the baselines every forecast is judged against, in real units. Pure numpy.

Everything returned is valid JSON: a score that is undefined (MAPE with a zero true value,
MASE on a constant training part, a non-finite value) is None, never NaN or Infinity.
"""
from __future__ import annotations

import math

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.baselines import (airline_weights, baseline_forecast, combined_parts,
                                      mean_parts, smoothing)
from charrnn.series.moments import rms
from charrnn.series.trend_season import TREND_SEASON
from charrnn.series.windows import Windows


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def scores(pred: np.ndarray, actual: np.ndarray) -> dict:
    """RMSE, MAE and MAPE (percent; None when a true value is zero) over all entries."""
    err = np.asarray(pred, float) - np.asarray(actual, float)
    actual = np.asarray(actual, float)
    mape = None if np.any(actual == 0) else _finite(np.mean(np.abs(err) / np.abs(actual)) * 100)
    return {"rmse": _finite(rms(err)), "mae": _finite(np.mean(np.abs(err))),
            "mape": mape}


def smape(pred: np.ndarray, actual: np.ndarray) -> float | None:
    """The M4 competition's sMAPE, percent: mean of 200 |y - f| / (|y| + |f|); a term where both
    are zero counts as 0."""
    pred, actual = np.asarray(pred, float), np.asarray(actual, float)
    den = np.abs(actual) + np.abs(pred)
    terms = np.where(den > 0, 200 * np.abs(actual - pred) / np.where(den > 0, den, 1.0), 0.0)
    return _finite(np.mean(terms)) if terms.size else None


def mase_scale(train: np.ndarray, season: int | None) -> float | None:
    """In-sample MAE of the seasonal naive forecast (lag m; lag 1 without a season) over the
    training rows: MASE's denominator. None when it is zero or there are too few rows."""
    train = np.asarray(train, float)
    lag = season if season and season < len(train) else 1
    if len(train) <= lag:
        return None
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    return scale if scale > 0 and math.isfinite(scale) else None


def mase(pred: np.ndarray, actual: np.ndarray, scale: float | None) -> float | None:
    """Mean absolute scaled error: the MAE over `scale` (mase_scale of the training rows)."""
    if scale is None:
        return None
    return _finite(np.mean(np.abs(np.asarray(pred, float) - np.asarray(actual, float))) / scale)


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


def seasonal_drift(target: np.ndarray, w: Windows, season: int,
                   transform: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """The seasonal random walk with drift: y[t+h-m*k] + k * (y[t] - y[t-m]), k = ceil(h/m)
    (in the log space with transform "log"). Predictions (N', H) and the mask (N,) of windows
    that reach a season back."""
    pred, ok = baseline_forecast(target, w.end, w.y.shape[1], "seasonal_drift", season, transform)
    return pred[ok], ok


def series_metrics(series, part, pred, coder, season: int | None, notes: list, *,
                   train_rows: int | None = None) -> dict:
    """See _series_metrics; values near 1e300 overflow to infinity (reported as null), quietly."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _series_metrics(series, part, pred, coder, season, notes, train_rows=train_rows)


def _series_metrics(series, part, pred, coder, season: int | None, notes: list, *,
                    train_rows: int | None = None) -> dict:
    """Model metrics in real units, baselines on the very same windows; notes for stderr.

    season: the eval's --season, else the one the coder was trained with (if any); with one,
    the seasonal naive and seasonal drift baselines join persistence.
    train_rows: the rows the model was fitted on (the checkpoint's scaler rows); given, every
    entry also gets `mase` (scaled by the in-sample seasonal naive MAE over those rows, lag m,
    or 1 without a season) and `smape` (M4, percent).
    """
    season = season if season is not None else getattr(coder, "season", None)
    transform = getattr(coder, "transform", "none")
    honest = train_rows is not None
    scale = mase_scale(series.target_values[:train_rows], season) if honest else None

    def score(p, y) -> dict:
        s = scores(p, y)
        if honest:
            s.update(mase=mase(p, y, scale), smape=smape(p, y))
        return s

    model = score(pred, part.y)
    forecasts = {"persistence": (persistence(part), np.ones(len(part.y), bool))}
    if season is not None:
        naive, ok = seasonal_naive(series.target_values, part, season)
        if not ok.any():
            raise CharrnnError(f"--season {season}: no window has a value one season back; "
                               f"use a shorter season or more rows")
        if not ok.all():
            notes.append(f"note: seasonal baselines scored on the last {int(ok.sum())} of "
                         f"{len(ok)} windows (the first have no value one season back)")
        forecasts["seasonal_naive"] = (naive, ok)
        drift, ok = seasonal_drift(series.target_values, part, season, transform)
        if ok.any():
            forecasts["seasonal_drift"] = (drift, ok)
    kind = getattr(coder, "baseline", "persistence")
    fitted = ("smoothed" if smoothing(kind) else "airline" if airline_weights(kind)
              else TREND_SEASON if kind == TREND_SEASON else None)
    if fitted and season == coder.season:  # the fitted baseline the model corrects
        base, ok = baseline_forecast(series.target_values, part.end, part.y.shape[1], kind,
                                     season, transform)
        if ok.any():
            forecasts[fitted] = (base[ok], ok)
        if ok.any() and not ok.all():  # the model used persistence on the others
            notes.append(f"note: {fitted} scored on the last {int(ok.sum())} of {len(ok)} "
                         f"windows (the first reach too few rows back; the model corrects "
                         f"persistence there)")
    if combined_parts(kind) is not None and season == coder.season:
        mean, ok = baseline_forecast(series.target_values, part.end, part.y.shape[1], kind,
                                     season, transform)
        if ok.any():  # "mean": the model's pair of baselines, bare (selection.PAIR)
            forecasts["mean" if mean_parts(kind) else "combined"] = (mean[ok], ok)
    baselines = {name: score(p, part.y[ok]) for name, (p, ok) in forecasts.items()}
    rmse_scaled = _finite(rms((pred - part.y) / coder.span))
    result = {"rmse": model["rmse"], "mae": model["mae"], "mape": model["mape"],
              "rmse_scaled": rmse_scaled, "baselines": baselines,
              "skill": _skill(model, baselines), "n": int(len(part.y))}
    if honest:
        result.update(mase=model["mase"], smape=model["smape"])
    per_step = []
    for h in range(part.y.shape[1]):  # the same scores, step h + 1 ahead alone
        m = score(pred[:, h], part.y[:, h])
        b = {name: score(p[:, h], part.y[ok, h]) for name, (p, ok) in forecasts.items()}
        per_step.append({"step": h + 1, **m, "baselines": b, "skill": _skill(m, b)})
    result["per_step"] = per_step
    return result


def _skill(model: dict, baselines: dict) -> float | None:
    rmse_p = baselines["persistence"]["rmse"]
    return None if not rmse_p or model["rmse"] is None else _finite(1 - model["rmse"] / rmse_p)


def per_step_text(r: dict) -> str:
    """A short table of the scores per step ahead (for H > 1)."""
    def num(value) -> str:
        return "-" if value is None else f"{value:.6g}"

    names = [n for n in ("persistence", "seasonal_naive") if n in r["baselines"]]
    head = ["step", "rmse", "mae"] + [f"{n.split('_')[0]} rmse" for n in names] + ["skill"]
    rows = [[str(s["step"]), num(s["rmse"]), num(s["mae"])]
            + [num(s["baselines"][n]["rmse"]) for n in names]
            + ["-" if s["skill"] is None else f"{s['skill']:+.4f}"] for s in r["per_step"]]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    return "\n".join("  ".join(x.rjust(w) for x, w in zip(line, widths)) for line in [head] + rows)


def intervals_text(entries: list) -> str:
    lines = []
    for e in entries:
        steps = " ".join(f"{v:.0%}" for v in e["coverage_per_step"])
        msis = "-" if e["msis"] is None else f"{e['msis']:.4g}"
        lines.append(f"interval {e['level']:g}%: coverage {e['coverage']:.1%} mean width "
                     f"{e['mean_width']:.6g} msis {msis}"
                     + (f" (per step {steps})" if len(e["coverage_per_step"]) > 1 else ""))
    return "\n".join(lines)


def metrics_text(r: dict, target: str, what: str, season: int | None) -> str:
    def num(value, fmt: str, suffix: str = "") -> str:
        return "-" if value is None else f"{value:{fmt}}{suffix}"

    def row(name: str, m: dict) -> str:
        line = (f"{name:<16} rmse {num(m['rmse'], '<12.6g')} mae {num(m['mae'], '<12.6g')} "
                f"mape {num(m['mape'], '.3f', '%'):<9}")
        if "mase" in m:
            line += f" mase {num(m['mase'], '<8.4g')} smape {num(m['smape'], '.3f', '%')}"
        return line

    lines = [f"{target}, {what}: {r['n']} windows",
             row("model", r) + f"  rmse_scaled {num(r['rmse_scaled'], '.5g')}"]
    names = {"seasonal_naive": f"seasonal({season})" if season else "seasonal",
             "seasonal_drift": f"drift({season})" if season else "seasonal drift",
             "smoothed": f"smoothed({season})" if season else "smoothed",
             "airline": f"airline({season})",
             TREND_SEASON: f"trend_season({season})",
             "combined": f"combined({season})" if season else "combined",
             "mean": f"mean({season})" if season else "mean"}
    for name, m in r["baselines"].items():
        lines.append(row(names.get(name, name), m))
    skill = r["skill"]
    if skill is None:
        lines.append("skill: undefined (persistence is exact on these windows)")
    else:
        verdict = ("better than" if skill >= 0.01 else "about as good as" if skill > -0.01
                   else "WORSE than")
        lines.append(f"skill {skill:+.4f}: the model is {verdict} persistence (the last value "
                     f"as the forecast); rmse x{1 - skill:.3f} persistence's")
    return "\n".join(lines)
