"""What the network sees of a series: scaling fitted on training rows, windows, splits, coding.

Pure numpy. The scaler and coder are fitted on the rows the training and validation windows
read, never on test labels (unless the lecture's `--scale-fit all` asks for it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.table import Series


# ---------------------------------------------------------------------- scaling
@dataclass
class Scaler:
    """Min-max scaling per column to [0, 1] over the rows it was fitted on.

    A constant column has range 0; it is divided by 1 instead, so it scales to zero there.
    """

    columns: list[str]
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, columns: list[str], values: np.ndarray) -> "Scaler":
        return cls(list(columns), values.min(axis=0), values.max(axis=0))

    @property
    def span(self) -> np.ndarray:
        span = self.high - self.low
        return np.where(span > 0, span, 1.0)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.low) / self.span

    def select(self, names: list[str]) -> "Scaler":
        idx = [self.columns.index(n) for n in names]
        return Scaler(list(names), self.low[idx], self.high[idx])

    def column(self, name: str) -> tuple[float, float]:
        """(low, span) of one column."""
        j = self.columns.index(name)
        return float(self.low[j]), float(self.span[j])

    def to_dict(self) -> dict:
        return {"columns": self.columns, "min": self.low.tolist(), "max": self.high.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        return cls(list(d["columns"]), np.asarray(d["min"], float), np.asarray(d["max"], float))


# ---------------------------------------------------------------------- windows and splits
# Window i reads rows i .. i+W-1 (all features) and predicts the target H rows after its last
# observed row t = i+W-1; the split counts windows, chronologically, as the lecture does:
#
#   rows      0 1 2 3 4 5 6 7 8 9 ...                                   (W = 3, H = 1)
#   window 0  [0 1 2] -> 3
#   window 1    [1 2 3] -> 4
#   windows   [ train ............ | val .. ][ test ......... ]
#             |<----- int(n * (1 - test_frac)) ---->|
#   the scaler is fitted on the rows the train and val windows read, labels included
@dataclass
class Split:
    """Window counts; with a horizon H > 1, H - 1 windows are dropped before the validation and
    test parts, so no label of theirs is also a label of an earlier part."""

    train: int
    val: int
    test: int
    gap: int = 0

    @property
    def val_start(self) -> int:
        return self.train + (self.gap if self.val else 0)

    @property
    def fit(self) -> int:
        """End of the windows the model learns from or is selected on."""
        return self.val_start + self.val

    @property
    def test_start(self) -> int:
        return self.fit + self.gap


def count_windows(rows: int, window: int, horizon: int) -> int:
    return max(0, rows - window - horizon + 1)


def split_windows(n: int, test_frac: float, val_frac: float, horizon: int = 1) -> Split:
    fit = int(round(n * (1 - test_frac), 9))  # 725 windows, 0.3 -> 507 train, 218 test
    gap = horizon - 1
    usable = fit - gap
    val = max(1, int(round(usable * val_frac))) if val_frac > 0 else 0
    return Split(usable - val - (gap if val else 0), val, n - fit, gap)


def _enough(split: Split) -> bool:
    return split.train >= 1 and split.val >= 0 and split.test >= 1


def check_split(name: str, rows: int, window: int, horizon: int, test_frac: float,
                val_frac: float) -> Split:
    """The split, or an error saying how many rows these options need."""
    split = split_windows(count_windows(rows, window, horizon), test_frac, val_frac, horizon)
    if _enough(split):
        return split
    need = next((r for r in range(rows + 1, rows + 100_000) if _enough(
        split_windows(count_windows(r, window, horizon), test_frac, val_frac, horizon))), None)
    needed = f"at least {need} rows" if need else "far more rows"
    raise CharrnnError(f"data {name}: {rows} rows are too few for --window {window}, --horizon "
                       f"{horizon}, --test-frac {test_frac:g} and --val-frac {val_frac:g}: they "
                       f"need {needed} (a training, a validation and a test window)")


def fit_rows(split: Split, window: int, horizon: int) -> int:
    """Rows read by the train and val windows, labels included: the scaler sees no test label."""
    return split.fit + window + horizon - 1  # the last of them is window fit - 1


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
        rmse[kind] = float(np.sqrt(np.mean((base - y) ** 2)))
    best = min(BASELINES[1:], key=rmse.__getitem__)
    return best if rmse[best] < (1 - margin) * rmse["persistence"] else "persistence"


@dataclass
class Windows:
    x: np.ndarray  # (N, W, F) scaled features
    y: np.ndarray  # (N, H) target in real units, the H rows after each window
    last: np.ndarray  # (N,) last observed target in real units
    end: np.ndarray  # (N,) row index of the last observed row
    base: np.ndarray | None = None  # (N, H) the baseline forecast in real units (None: `last`)
    resid: np.ndarray | None = None  # (N, W) the baseline's one-step errors on the window's rows,
    # in the transformed space (0 where the baseline reaches before row 0)


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


def make_windows(series: Series, scaler: Scaler, window: int, horizon: int, *,
                 baseline: str = "persistence", season: int | None = None,
                 transform: str = "none") -> Windows:
    n = count_windows(len(series), window, horizon)
    scaled = scaler.transform(series.values).astype(np.float32)  # (rows, F)
    starts = np.arange(n)
    x = scaled[starts[:, None] + np.arange(window)[None, :]]  # (N, W, F)
    end = starts + window - 1
    y = series.target_values[end[:, None] + np.arange(1, horizon + 1)[None, :]]  # (N, H)
    base = resid = None
    if baseline not in (None, "none", "persistence") or transform != "none":
        base, _ = baseline_forecast(series.target_values, end, horizon, baseline or "persistence",
                                    season, transform)
    if baseline not in (None, "none"):
        err = one_step_errors(series.target_values, baseline, season, transform)
        resid = err[starts[:, None] + np.arange(window)[None, :]]  # (N, W)
    return Windows(x, y, series.target_values[end], end, base, resid)


def take(w: Windows, start: int, stop: int) -> Windows:
    return Windows(w.x[start:stop], w.y[start:stop], w.last[start:stop], w.end[start:stop],
                   None if w.base is None else w.base[start:stop],
                   None if w.resid is None else w.resid[start:stop])


def pick(w: Windows, idx) -> Windows:
    """The windows at indices idx (an array), base included."""
    return Windows(w.x[idx], w.y[idx], w.last[idx], w.end[idx],
                   None if w.base is None else w.base[idx],
                   None if w.resid is None else w.resid[idx])


def last_window(series: Series, scaler: Scaler, coder: "Coder", window: int,
                horizon: int) -> Windows:
    """The window over the series' last `window` rows, for forecasting past its end (y is zeros).
    `scaler` scales the features (Scaler.select(series.features))."""
    end = np.array([len(series) - 1])
    x = scaler.transform(series.values[-window:])[None].astype(np.float32)  # (1, W, F)
    base = resid = None
    if coder.mode != "level" and (coder.baseline != "persistence" or coder.transform != "none"):
        base, _ = baseline_forecast(series.target_values, end, horizon, coder.baseline,
                                    coder.season, coder.transform)
    if coder.residuals:
        err = one_step_errors(series.target_values, coder.baseline, coder.season, coder.transform)
        resid = err[None, -window:]
    return Windows(x, np.zeros((1, horizon)), series.target_values[end], end, base, resid)


# ---------------------------------------------------------------------- what the network sees
@dataclass
class Coder:
    """Scaled windows and real targets <-> the network's inputs and outputs.

    level (the lecture): inputs are the scaled windows, the output is the scaled target.
    delta: inputs are each window minus its last row (the target column in the transformed
    space), divided per feature by the RMS of its one-step changes over the training rows; the
    output is the change from the window's baseline forecast in the transformed space, divided
    by `out_scale` (the RMS of the baseline's errors on the training and validation windows). A
    zero output is the baseline, and a window reads the same at any level, so values beyond the
    training range are not out of distribution.

    Today's delta (persistence, no transform; also every checkpoint written before seasons) is
    the case baseline "persistence", transform "none", out_scale None: the change from the last
    value divided by delta_scale * span.
    """

    mode: str
    low: float  # the target's scaling
    span: float
    delta_scale: float = 1.0  # outputs -> changes of the min-max scaled target (for display)
    input_scale: list = field(default_factory=list)  # delta: per feature
    transform: str = "none"  # none | log (the target, outputs and its input column)
    baseline: str = "persistence"  # persistence | seasonal | seasonal_drift
    season: int | None = None
    out_scale: float | None = None  # transformed units per output unit; None: delta_scale * span
    target_index: int | None = None  # the target's column among the features, if it is one
    residuals: bool = False  # one more input column: the baseline's one-step errors / out_scale

    @property
    def extra_inputs(self) -> int:
        """Input columns beyond the features: the model's input_size is F + extra_inputs."""
        return int(self.residuals and self.mode == "delta")

    @property
    def scale(self) -> float:
        return self.out_scale if self.out_scale is not None else self.delta_scale * self.span

    def _base(self, w) -> np.ndarray:
        """(N, H)-broadcastable baseline in real units from a Windows or a `last` array."""
        if isinstance(w, Windows):
            if w.base is not None:
                return w.base
            w = w.last
        if self.baseline != "persistence" or self.transform != "none":
            raise CharrnnError(f"internal: the {self.baseline} baseline ({self.transform} "
                               f"transform) needs the Windows, not the last values")
        return np.asarray(w, float)[:, None]

    def inputs(self, x) -> np.ndarray:
        """(N, W, F) scaled windows (or a Windows; needed with residuals) -> network inputs
        (N, W, F + extra_inputs), float32."""
        w = x if isinstance(x, Windows) else None
        x = x.x if w is not None else x
        if self.extra_inputs:
            if w is None or w.resid is None:
                raise CharrnnError("internal: residual inputs need the Windows, not their x")
            return np.ascontiguousarray(np.concatenate(
                [self._own(x), (w.resid / self.scale)[:, :, None]], axis=2), dtype=np.float32)
        return self._own(x)

    def _own(self, x: np.ndarray) -> np.ndarray:
        if self.mode == "delta":
            d = x - x[:, -1:, :]
            j = self.target_index
            if self.transform == "log" and j is not None and len(x):
                real = np.maximum(x[:, :, j].astype(float) * self.span + self.low, 1e-12)
                d = d.astype(float)
                d[:, :, j] = np.log(real) - np.log(real[:, -1:])
            x = d / np.asarray(self.input_scale, np.float32)
        return np.ascontiguousarray(x, dtype=np.float32)

    def encode(self, y: np.ndarray, w) -> np.ndarray:
        """(N, H) real targets -> network outputs to learn. w: the Windows (or, for the
        persistence baseline without a transform, their `last` values)."""
        if self.mode == "level":
            return (y - self.low) / self.span
        base = self._base(w)
        if self.out_scale is None and self.transform == "none":  # bit for bit as before
            scaled = (y - self.low) / self.span
            return (scaled - (base - self.low) / self.span) / self.delta_scale
        return (forward(y, self.transform) - forward(base, self.transform)) / self.scale

    def decode(self, out: np.ndarray, w) -> np.ndarray:
        """(N, H) network outputs -> real predictions."""
        if self.mode == "level":
            return out * self.span + self.low
        base = self._base(w)
        if self.out_scale is None and self.transform == "none":
            return base + out * self.delta_scale * self.span
        z = forward(base, self.transform) + out * self.scale
        return inverse(np.minimum(z, 700.0) if self.transform == "log" else z, self.transform)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "low": self.low, "span": self.span,
                "delta_scale": self.delta_scale, "input_scale": list(self.input_scale),
                "transform": self.transform, "baseline": self.baseline, "season": self.season,
                "out_scale": self.out_scale, "target_index": self.target_index,
                "residuals": self.residuals}

    @classmethod
    def from_dict(cls, d: dict) -> "Coder":
        """Also reads the coders of checkpoints written before seasons (persistence, no
        transform)."""
        def opt(key, kind):
            return None if d.get(key) is None else kind(d[key])

        return cls(d["mode"], float(d["low"]), float(d["span"]), float(d["delta_scale"]),
                   [float(v) for v in d["input_scale"]], str(d.get("transform", "none")),
                   str(d.get("baseline", "persistence")), opt("season", int),
                   opt("out_scale", float), opt("target_index", int),
                   bool(d.get("residuals", False)))


def _rms(changes: np.ndarray, axis=None):
    rms = np.sqrt(np.mean(changes ** 2, axis=axis))
    return np.where(rms > 0, rms, 1.0)


def fit_coder(mode: str, scaler: Scaler, series: "Series", rows: int, *,
              transform: str = "none", baseline: str = "persistence", season: int | None = None,
              fit_windows: Windows | None = None, residuals: bool = False) -> Coder:
    """The change scales come from the training rows only (all rows with --scale-fit all);
    out_scale from the baseline's errors on `fit_windows` (the train and validation windows)."""
    low, span = scaler.column(series.target)
    if mode == "level":
        return Coder(mode, low, span)
    scaled = scaler.select(series.features).transform(series.values[:rows])  # (rows, F)
    target = (series.target_values[:rows] - low) / span
    delta_scale = float(_rms(np.diff(target)))
    input_scale = _rms(np.diff(scaled, axis=0), axis=0)
    j = series.features.index(series.target) if series.target in series.features else None
    if transform == "none" and baseline == "persistence" and not residuals:
        return Coder(mode, low, span, delta_scale, input_scale.tolist(), target_index=j)
    z = forward(series.target_values[:rows], transform)
    if transform == "log" and j is not None:
        input_scale[j] = float(_rms(np.diff(z)))
    if fit_windows is not None and len(fit_windows.y):
        errors = forward(fit_windows.y, transform) - forward(fit_windows.base, transform)
        out_scale = float(_rms(errors))
    else:
        out_scale = float(_rms(np.diff(z)))
    # what one output unit is on the min-max scaled target axis, near the typical level
    real_per_unit = out_scale * (float(np.exp(np.mean(z))) if transform == "log" else 1.0)
    return Coder(mode, low, span, real_per_unit / span, input_scale.tolist(), transform,
                 baseline, season, out_scale, j, residuals)
# ---------------------------------------------------------------------- a run's data, end to end
@dataclass
class Prepared:
    series: Series
    windows: Windows
    split: Split
    scaler: Scaler  # over the features, then the target if it is not one of them
    coder: Coder
    fit_rows: int  # rows the scaler was fitted on

    def part(self, name: str) -> Windows:
        s = self.split
        bounds = {"train": (0, s.train), "val": (s.val_start, s.fit),
                  "test": (s.test_start, s.test_start + s.test),
                  "all": (0, s.test_start + s.test)}[name]
        return take(self.windows, *bounds)


def used_columns(series: Series) -> list[str]:
    return list(dict.fromkeys(series.features + [series.target]))


def _used_values(series: Series) -> np.ndarray:
    columns = used_columns(series)
    extra = [] if series.target in series.features else [series.target_values[:, None]]
    values = np.concatenate([series.values] + extra, axis=1)  # (rows, len(columns))
    assert values.shape[1] == len(columns)
    return values


def model_rows(rows: int, test_frac: float) -> int:
    """Rows that hold no test label whatever the window: what a season, a transform or a
    default window may be read from before the window (and so the split) is known."""
    return max(2, int(rows * (1 - test_frac)))


def resolve_transform(transform: str, values: np.ndarray, season: int | None) -> str:
    """auto -> choose_transform over these (training) rows; log on non-positive rows: error."""
    from charrnn.series.season import choose_transform

    if transform == "auto":
        return choose_transform(values, season)
    if transform not in TRANSFORMS:
        raise CharrnnError(f"--transform {transform}: one of auto, {', '.join(TRANSFORMS)}")
    forward(values, transform)  # the error for log on non-positive values
    return transform


def prepare(series: Series, window: int, horizon: int, test_frac: float, val_frac: float,
            scale_fit: str, target_mode: str, *, season: int | None = None,
            transform: str = "none", baseline: str = "auto",
            residuals: bool | None = None) -> Prepared:
    """Split by windows, fit the scaler (training rows, or all for the lecture), make windows.

    delta mode: the target is `transform`ed (auto: choose_transform on the training rows), and
    the baseline (auto: the lowest RMSE on the training and validation windows among persistence
    and, with a season, seasonal naive and seasonal drift) is what the network corrects. The defaults (no
    season, no transform) are today's persistence coder. level mode ignores all three.
    """
    split = check_split(series.name, len(series), window, horizon, test_frac, val_frac)
    train_rows = fit_rows(split, window, horizon)
    rows = len(series) if scale_fit == "all" else train_rows
    scaler = Scaler.fit(used_columns(series), _used_values(series)[:rows])
    features = scaler.select(series.features)
    if target_mode == "level":
        windows = make_windows(series, features, window, horizon)
        return Prepared(series, windows, split, scaler, fit_coder("level", scaler, series, rows),
                        rows)
    if season is not None and (season < 2 or season >= len(series)):
        raise CharrnnError(f"--season {season}: give 2 or more, under the {len(series)} rows")
    transform = resolve_transform(transform, series.target_values[:train_rows], season)
    if baseline == "auto":
        # the training and validation windows: nothing is fitted to them, and a few dozen
        # validation windows alone picked a seasonal baseline by chance on a noisy cycle
        chooser = take(make_windows(series, features, window, horizon), 0, split.fit)
        baseline = choose_baseline(series.target_values, chooser.end, chooser.y, season,
                                   transform)
    elif baseline not in BASELINES:
        raise CharrnnError(f"baseline {baseline!r}: one of auto, {', '.join(BASELINES)}")
    elif baseline != "persistence" and not season:
        raise CharrnnError(f"baseline {baseline}: needs a season")
    if residuals is None:
        residuals = baseline != "persistence"
    windows = make_windows(series, features, window, horizon, baseline=baseline, season=season,
                           transform=transform)
    coder = fit_coder(target_mode, scaler, series, rows, transform=transform, baseline=baseline,
                      season=season, fit_windows=take(windows, 0, split.fit), residuals=residuals)
    return Prepared(series, windows, split, scaler, coder, rows)


def rebuild(series: Series, window: int, horizon: int, test_frac: float, scaler: Scaler,
            coder: Coder) -> Prepared:
    """Windows and test part of new data, scaled as the model was trained (nothing refitted):
    the coder brings its season, transform and baseline."""
    n = count_windows(len(series), window, horizon)
    if n < 1:
        raise CharrnnError(f"data {series.name}: {len(series)} rows hold no window of --window "
                           f"{window} + --horizon {horizon}; give at least {window + horizon} rows")
    test = max(1, split_windows(n, test_frac, 0.0).test)
    split = Split(n - test, 0, test)  # only where the test part starts matters here
    if coder.mode == "level":
        windows = make_windows(series, scaler.select(series.features), window, horizon)
    else:
        windows = make_windows(series, scaler.select(series.features), window, horizon,
                               baseline=coder.baseline, season=coder.season,
                               transform=coder.transform)
    return Prepared(series, windows, split, scaler, coder, 0)
