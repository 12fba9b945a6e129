"""What the network sees of a series: scaling fitted on training rows, windows, splits, coding.

Pure numpy. The scaler and coder are fitted on the rows the training and validation windows
read, never on test labels (unless the lecture's `--scale-fit all` asks for it).
"""
from __future__ import annotations

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


@dataclass
class Windows:
    x: np.ndarray  # (N, W, F) scaled features
    y: np.ndarray  # (N, H) target in real units, the H rows after each window
    last: np.ndarray  # (N,) last observed target in real units
    end: np.ndarray  # (N,) row index of the last observed row


def make_windows(series: Series, scaler: Scaler, window: int, horizon: int) -> Windows:
    n = count_windows(len(series), window, horizon)
    scaled = scaler.transform(series.values).astype(np.float32)  # (rows, F)
    starts = np.arange(n)
    x = scaled[starts[:, None] + np.arange(window)[None, :]]  # (N, W, F)
    end = starts + window - 1
    y = series.target_values[end[:, None] + np.arange(1, horizon + 1)[None, :]]  # (N, H)
    return Windows(x, y, series.target_values[end], end)


def take(w: Windows, start: int, stop: int) -> Windows:
    return Windows(w.x[start:stop], w.y[start:stop], w.last[start:stop], w.end[start:stop])


# ---------------------------------------------------------------------- what the network sees
@dataclass
class Coder:
    """Scaled windows and real targets <-> the network's inputs and outputs.

    level (the lecture): inputs are the scaled windows, the output is the scaled target.
    delta: inputs are each window minus its last row, and the output is the scaled change
    from the last observed target, both divided by the RMS of one-step changes over the
    training rows. A zero output is persistence, and a window reads the same at any price
    level, so test prices beyond the training range are not out of distribution.
    """

    mode: str
    low: float  # the target's scaling
    span: float
    delta_scale: float = 1.0
    input_scale: list = field(default_factory=list)  # delta: per feature

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """(N, W, F) scaled windows -> network inputs, float32."""
        if self.mode == "delta":
            x = (x - x[:, -1:, :]) / np.asarray(self.input_scale, np.float32)
        return np.ascontiguousarray(x, dtype=np.float32)

    def encode(self, y: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(N, H) real targets -> network outputs to learn."""
        scaled = (y - self.low) / self.span
        if self.mode == "level":
            return scaled
        return (scaled - ((last - self.low) / self.span)[:, None]) / self.delta_scale

    def decode(self, out: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(N, H) network outputs -> real predictions."""
        if self.mode == "level":
            return out * self.span + self.low
        return last[:, None] + out * self.delta_scale * self.span

    def to_dict(self) -> dict:
        return {"mode": self.mode, "low": self.low, "span": self.span,
                "delta_scale": self.delta_scale, "input_scale": list(self.input_scale)}

    @classmethod
    def from_dict(cls, d: dict) -> "Coder":
        return cls(d["mode"], float(d["low"]), float(d["span"]), float(d["delta_scale"]),
                   [float(v) for v in d["input_scale"]])


def _rms(changes: np.ndarray, axis=None):
    rms = np.sqrt(np.mean(changes ** 2, axis=axis))
    return np.where(rms > 0, rms, 1.0)


def fit_coder(mode: str, scaler: Scaler, series: "Series", rows: int) -> Coder:
    """The change scales come from the training rows only (all rows with --scale-fit all)."""
    low, span = scaler.column(series.target)
    if mode == "level":
        return Coder(mode, low, span)
    scaled = scaler.select(series.features).transform(series.values[:rows])  # (rows, F)
    target = (series.target_values[:rows] - low) / span
    return Coder(mode, low, span, float(_rms(np.diff(target))),
                 _rms(np.diff(scaled, axis=0), axis=0).tolist())


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


def prepare(series: Series, window: int, horizon: int, test_frac: float, val_frac: float,
            scale_fit: str, target_mode: str) -> Prepared:
    """Split by windows, fit the scaler (training rows, or all for the lecture), make windows."""
    split = check_split(series.name, len(series), window, horizon, test_frac, val_frac)
    rows = len(series) if scale_fit == "all" else fit_rows(split, window, horizon)
    scaler = Scaler.fit(used_columns(series), _used_values(series)[:rows])
    windows = make_windows(series, scaler.select(series.features), window, horizon)
    coder = fit_coder(target_mode, scaler, series, rows)
    return Prepared(series, windows, split, scaler, coder, rows)


def rebuild(series: Series, window: int, horizon: int, test_frac: float, scaler: Scaler,
            coder: Coder) -> Prepared:
    """Windows and test part of new data, scaled as the model was trained (nothing refitted)."""
    n = count_windows(len(series), window, horizon)
    if n < 1:
        raise CharrnnError(f"data {series.name}: {len(series)} rows hold no window of --window "
                           f"{window} + --horizon {horizon}; give at least {window + horizon} rows")
    test = max(1, split_windows(n, test_frac, 0.0).test)
    split = Split(n - test, 0, test)  # only where the test part starts matters here
    windows = make_windows(series, scaler.select(series.features), window, horizon)
    return Prepared(series, windows, split, scaler, coder, 0)

