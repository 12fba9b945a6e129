"""A linear autoregression beside the network, fitted in closed form, and blended with it.

On small real series a network trained by gradient on a few dozen windows is mostly variance; a
ridge regression on the same inputs (the network's, flattened) is not, but it misses what is
not linear, such as a sunspot-like cycle's fast rise and slow fall. Their blend beats both: the
forecast is SHARE of the linear model's correction to the baseline plus the rest of the
network's. The network learns the correction on its own, as without the linear model; the coder
blends the two when decoding, so eval, forecast, intervals and backtests see one forecaster.

The ridge is fitted by least squares on the training windows, its penalty chosen on the
validation windows (none where no penalty beats the bare baseline there by MARGIN). Test RMSE
over persistence's, means of 3 seeds over 13 series (7 real: AirPassengers, CO2, sunspots, El
Nino, Nile, US GDP and unemployment; the generated cycle and trend x season kinds, 3 each):
the network alone 0.566, the linear model alone 0.532, the network correcting the linear
model's errors 0.549; the first two's forecasts blended offline with the linear share 1/2
0.526, 0.6 0.523, 2/3 0.522, 3/4 0.523; trained as the default (2/3), 0.523.
"""
from __future__ import annotations

import math

import numpy as np

from charrnn.series.moments import rms
from charrnn.series.windows import take

PENALTIES = (0.1, 1.0, 10.0, 100.0, 1000.0)  # the inputs are scaled to unit steps
# A series whose changes look like white noise (prepare.walks) may get a drift alone: the ridge
# at a penalty that leaves every weight near 0 and the constant, unpenalised, the mean change.
# Blended at SHARE like any linear model: all of it where the network stayed out did better on
# generated walks with a constant drift (0.9984 -> 0.9907 of persistence's RMSE, 16 series) and
# worse on 3 of the 4 real series where it applied (real disposable income 0.812 -> 0.831, real
# investment 1.015 -> 1.037, livestock 0.930 -> 0.947; Australian air passengers 0.879 -> 0.828)
DRIFT_ONLY = 1e12
MARGIN = 0.02  # of validation MSE: the linear model must beat the bare baseline by this
SHARE = 2 / 3  # of the forecast's correction to the baseline; the network gives the rest
# ...and where the network stays out, all of it if that beats SHARE of it on the validation
# windows by this much of RMSE (choose_share)
ALONE_MARGIN = 0.10
CHUNK = 4096  # windows flattened at a time (a long series' design matrix need not fit)


def design(coder, w) -> np.ndarray:
    """(N, W * inputs + 1): the network's inputs of each window, flattened, and a constant."""
    x = coder.inputs(w).astype(float)
    return np.concatenate([x.reshape(len(x), x.shape[1] * x.shape[2]), np.ones((len(x), 1))],
                          axis=1)


def chunks(w):
    for start in range(0, len(w.y), CHUNK):
        yield take(w, start, start + CHUNK)


def apply(coder, w, weights) -> np.ndarray:
    """The linear model's outputs (N, H) for the windows `w`."""
    weights = np.asarray(weights, float)
    out = [design(coder, part) @ weights for part in chunks(w)]
    return np.concatenate(out) if out else np.zeros((0, weights.shape[1]))


def normal_equations(coder, w) -> tuple[np.ndarray, np.ndarray]:
    """(X'X, X'T) over the windows `w`, T their network targets."""
    xtx = xtt = 0.0
    for part in chunks(w):
        x = design(coder, part)
        xtx = xtx + x.T @ x
        xtt = xtt + x.T @ coder.encode(part.y, part)
    return xtx, xtt


def solve(xtx: np.ndarray, xtt: np.ndarray, penalty: float) -> np.ndarray:
    """Ridge weights (D + 1, H); the constant is not penalised."""
    ridge = np.full(len(xtx), penalty)
    ridge[-1] = 0.0
    a = xtx + np.diag(ridge)
    if penalty > 0:  # positive definite: LU is about 10x faster than lstsq's SVD, the same
        try:         # to 1e-11 (a CSV of 200 columns: 12 s of solving)
            return np.linalg.solve(a, xtt)
        except np.linalg.LinAlgError:
            pass
    return np.linalg.lstsq(a, xtt, rcond=None)[0]


def kept_inputs(coder, window: int) -> np.ndarray | None:
    """The inputs (indices into a flattened window, without the constant) the ridge reads: all
    (None), or for the trend_season baseline all but the target's own changes, and of the
    baseline's own one-step errors only those at the window's last two rows and a season
    before the forecast row. That baseline's line reaches every row, so what is left to learn
    of the target is how its errors persist; the ridge on the whole window read the target's
    changes, which trend with the line, and on a generated trend x season series scored 1.774
    on the validation windows where the errors alone scored 1.678 (persistence and its ridge:
    1.656). The window's level against the training rows' (mean-reverting series) goes too;
    other columns (features, the calendar, --future) are read as by any baseline."""
    from charrnn.series.trend_season import TREND_SEASON

    if coder.baseline != TREND_SEASON or not coder.residuals or coder.mode != "delta":
        return None
    features = len(coder.input_scale)
    columns = features + coder.extra_inputs
    level = features + 1 if coder.level is not None else None  # after the errors' column
    errors = {r for r in (window - 1, window - 2, window - (coder.season or 1))
              if 0 <= r < window}
    keep = [r * columns + c for r in range(window) for c in range(columns)
            if c not in (coder.target_index, level) and (c != features or r in errors)]
    return np.array(keep, dtype=int)


def solver(coder, w):
    """penalty -> ridge weights (D + 1, H) fitted on the windows `w`.

    Where the windows are fewer than the inputs, the ridge is solved in its dual: the N x N
    system of the centred windows' inner products, not the D x D one of the normal equations,
    the same weights for any positive penalty (the constant, unpenalised, is the centred
    means' difference). A CSV of 2,000 columns has 14,000 inputs in a 7-row window: its D x D
    solves ran past 10 minutes on a few dozen windows. At penalty 0 (--linear 0) such a fit
    is underdetermined: the dual gives the least-norm fit with the constant free, the limit of
    the ridge as its penalty shrinks (the normal equations' least squares shrank the constant
    too)."""
    n = len(w.y)
    inputs = design(coder, take(w, 0, 1)).shape[1] - 1 if n else 0
    keep = kept_inputs(coder, w.x.shape[1]) if n else None
    if keep is not None:
        return _restricted(coder, w, keep, inputs)
    if not 0 < n < inputs:
        xtx, xtt = normal_equations(coder, w)
        return lambda penalty: solve(xtx, xtt, penalty)
    x, t = design(coder, w)[:, :-1], np.asarray(coder.encode(w.y, w), float)
    x_mean, t_mean = x.mean(axis=0), t.mean(axis=0)
    x, t = x - x_mean, t - t_mean
    gram = x @ x.T

    def dual(penalty: float) -> np.ndarray:
        a = gram + penalty * np.eye(n)
        try:
            alpha = np.linalg.solve(a, t) if penalty > 0 else np.linalg.lstsq(a, t, rcond=None)[0]
        except np.linalg.LinAlgError:
            alpha = np.linalg.lstsq(a, t, rcond=None)[0]
        coef = x.T @ alpha
        return np.vstack([coef, t_mean - x_mean @ coef])

    return dual


def _restricted(coder, w, keep: np.ndarray, inputs: int):
    """penalty -> ridge weights (D + 1, H) that read only the inputs `keep` (0 elsewhere)."""
    columns = np.append(keep, inputs)  # and the constant
    xtx = xtt = 0.0
    for part in chunks(w):
        x = design(coder, part)[:, columns]
        xtx = xtx + x.T @ x
        xtt = xtt + x.T @ coder.encode(part.y, part)

    def weights(penalty: float) -> np.ndarray:
        out = np.zeros((inputs + 1, np.shape(xtt)[1]))
        out[columns] = solve(xtx, xtt, penalty)
        return out

    return weights


def fit(coder, windows, penalty: float) -> list:
    """The weights, as stored in the coder, fitted on `windows`."""
    return solver(coder, windows)(penalty).tolist()


def _error(coder, val, out) -> float:
    """RMSE on `val` (real units) of the baseline corrected by `out`; `coder` has no linear
    model yet, so `out` is the whole correction."""
    with np.errstate(over="ignore", invalid="ignore"):  # decoding values near 1e300
        return rms(coder.decode(out, val) - val.y)


def choose_penalty(coder, train, val, drift_only: bool = False) -> float | None:
    """The penalty whose fit on `train` has the lowest RMSE on `val` (real units), or None when
    none beats the baseline alone by MARGIN (or there are too few windows to tell); among
    PENALTIES, or DRIFT_ONLY alone where `drift_only`."""
    if len(train.y) < 2 or len(val.y) < 2:
        return None
    weights = solver(coder, train)
    bare = _error(coder, val, np.zeros_like(val.y, dtype=float))
    scores = {p: _error(coder, val, apply(coder, val, weights(p)))
              for p in ((DRIFT_ONLY,) if drift_only else PENALTIES)}
    best = min(scores, key=scores.__getitem__)
    return best if scores[best] < math.sqrt(1 - MARGIN) * bare else None  # MSE below 1 - MARGIN


def choose_share(coder, val, weights) -> float:
    """SHARE, or 1 where the whole correction of the linear model (`weights`, fitted on the
    training windows) beats SHARE of it on `val` by ALONE_MARGIN: asked where the network
    stayed out (commands.linear_alone), since SHARE alone is then the linear model shrunk for
    no reason.

    Where the linear model carries the season on persistence, a third of it was lost: Johnson &
    Johnson's quarterly earnings scored 0.550 of persistence's RMSE with SHARE and 0.346 with all
    of it (AutoARIMA 0.340). Baseline and linear model alone on 78 series (58 used before, 31
    real and 27 generated; 20 new from R's fpp2 and datasets packages), mean test RMSE over
    persistence's: 0.6441 with SHARE throughout, 0.6352 choosing so (6 series change; at 3%
    also 0.6352 but 22 change, among them the US population and UK gas, which then lost to
    AutoARIMA; 1% 0.6395; a paired t test on top, t >= 2, 0.6423). Asked only where no epoch was
    kept, full runs (3 seeds) changed 2 of the 8 series where it could: that one, and the US
    population 0.040 -> 0.044 (AutoARIMA 0.041)."""
    if len(val.y) < 2:
        return SHARE
    out = apply(coder, val, weights)
    alone, shared = _error(coder, val, out), _error(coder, val, SHARE * out)
    return 1.0 if alone < (1 - ALONE_MARGIN) * shared else SHARE


def combine(coder, parts: list, window: int) -> dict | None:
    """The linear model of `coder`, a "mean:A+B" coder, whose correction is the mean of its
    parts' corrections: [(part coder, its linear model or None)] in part order; None where no
    part has one.

    A part reads this coder's inputs but for the residual columns (this coder has one per part,
    divided by its scale; a part at most its own, divided by its own scale), and its output
    unit is its scale: part k's correction here is its output times scale_k / scale / P."""
    if all(lin is None for _, lin in parts):
        return None
    count = len(parts) if coder.residuals else 0  # this coder's residual columns
    features = len(coder.input_scale)
    columns = features + coder.extra_inputs
    body, const = None, 0.0
    for k, (part, lin) in enumerate(parts):
        if lin is None:
            continue
        w = np.asarray(lin["weights"], float)
        own = w[:-1].reshape(window, -1, w.shape[1])  # (W, the part's columns, H)
        if body is None:
            body = np.zeros((window, columns, w.shape[1]))
        ratio = part.scale / coder.scale / len(parts)
        resid = int(part.residuals)
        body[:, :features] += ratio * own[:, :features]
        if resid and count:
            body[:, features + k] += own[:, features] / len(parts)
        body[:, features + count:] += ratio * own[:, features + resid:]
        const = const + ratio * w[-1]
    weights = np.concatenate([body.reshape(window * columns, -1), np.atleast_2d(const)])
    penalties = [None if lin is None else lin["penalty"] for _, lin in parts]
    return {"penalty": max(p for p in penalties if p is not None), "weights": weights.tolist(),
            "share": SHARE, "parts": penalties}
