"""Where the network's numbers meet real units: scaled windows and real targets <-> the
network's inputs and outputs, and the fitting of the scales that relate them.

A model is saved with its coder (to_dict), so eval and forecast decode exactly as training
encoded, whatever mode, transform and baseline the run chose. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.baselines import forward, inverse, residual_columns
from charrnn.series.moments import rms
from charrnn.series.scaler import Scaler
from charrnn.series.table import Series
from charrnn.series.windows import Windows


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
    # persistence | seasonal | seasonal_drift | smoothed:a,g,b | airline:t,T | combined... | mean:A+B
    baseline: str = "persistence"
    season: int | None = None
    out_scale: float | None = None  # transformed units per output unit; None: delta_scale * span
    target_index: int | None = None  # the target's column among the features, if it is one
    residuals: bool = False  # one more input column: the baseline's one-step errors / out_scale
    calendar: list = field(default_factory=list)  # cycles read from the dates (covariates.py)
    future: list = field(default_factory=list)  # columns known in advance
    future_scale: list = field(default_factory=list)  # their (low, span) on the training rows
    level: list | None = None  # (center, spread) of the transformed target: a level input
    # the linear model the forecast blends with the network's: {"penalty", "weights"
    # (inputs * W + 1, H), "share"} (linear.py)
    linear: dict | None = None

    @property
    def extra_inputs(self) -> int:
        """Input columns beyond the features: the model's input_size is F + extra_inputs."""
        resid = residual_columns(self.baseline) if self.residuals and self.mode == "delta" else 0
        return resid + self.known_inputs + int(self.level is not None)

    @property
    def known_inputs(self) -> int:
        return 2 * len(self.calendar) + len(self.future)

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
        if not self.extra_inputs:
            return self._own(x)
        parts = [self._own(x)]
        if self.residuals and self.mode == "delta":
            if w is None or w.resid is None:
                raise CharrnnError("internal: residual inputs need the Windows, not their x")
            resid = w.resid / self.scale
            parts.append(resid if resid.ndim == 3 else resid[:, :, None])
        if self.level is not None:  # where the window stands against the training rows' level
            real = x[:, :, self.target_index].astype(float) * self.span + self.low
            if self.transform == "log":
                real = np.maximum(real, 1e-12)
            center, spread = self.level
            parts.append(((forward(real, self.transform) - center) / spread)[:, :, None])
        if self.known_inputs:
            if w is None or w.known is None:
                raise CharrnnError("internal: known inputs need the Windows, not their x")
            known = np.array(w.known, float)
            j = 2 * len(self.calendar)
            for k, (low, span) in enumerate(self.future_scale):
                known[:, :, j + k] = (known[:, :, j + k] - low) / span
            parts.append(known)
        return np.ascontiguousarray(np.concatenate(parts, axis=2), dtype=np.float32)

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

    def linear_output(self, w) -> np.ndarray:
        """The linear model's forecast for each window (N, H), in network output units."""
        from charrnn.series.linear import apply

        if not isinstance(w, Windows):
            raise CharrnnError("internal: the linear model needs the Windows, not their last "
                               "values")
        return apply(self, w, self.linear["weights"])

    def encode(self, y: np.ndarray, w) -> np.ndarray:
        """(N, H) real targets -> network outputs to learn (the network learns them on its own;
        a linear model is blended in when decoding). w: the Windows (or, for the persistence
        baseline without a transform, their `last` values)."""
        if self.mode == "level":
            return (y - self.low) / self.span
        base = self._base(w)
        if self.out_scale is None and self.transform == "none":  # bit for bit as before
            scaled = (y - self.low) / self.span
            return (scaled - (base - self.low) / self.span) / self.delta_scale
        return (forward(y, self.transform) - forward(base, self.transform)) / self.scale

    def decode(self, out: np.ndarray, w) -> np.ndarray:
        """(N, H) network outputs -> real predictions: with a linear model, the blend of its
        forecast (its share) and the network's."""
        if self.mode == "level":
            return out * self.span + self.low
        if self.linear is not None:
            share = self.linear["share"]
            out = (1 - share) * out + share * self.linear_output(w)
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
                "residuals": self.residuals, "calendar": list(self.calendar),
                "future": list(self.future), "future_scale": [list(v) for v in self.future_scale],
                "level": None if self.level is None else list(self.level),
                "linear": self.linear}

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
                   bool(d.get("residuals", False)), [str(v) for v in d.get("calendar", [])],
                   [str(v) for v in d.get("future", [])],
                   [[float(a), float(b)] for a, b in d.get("future_scale", [])],
                   None if d.get("level") is None else [float(v) for v in d["level"]],
                   None if d.get("linear") is None else _linear_from(d["linear"]))


def _linear_from(d: dict) -> dict:
    linear = {"penalty": float(d["penalty"]),
              "weights": [[float(v) for v in row] for row in d["weights"]],
              "share": float(d["share"])}
    if "parts" in d:  # a mean baseline's: each part's penalty (None: it had no linear model)
        linear["parts"] = [None if p is None else float(p) for p in d["parts"]]
    return linear


def _rms(changes: np.ndarray, axis=None):
    size = rms(changes, axis)
    return np.where(size > 0, size, 1.0)


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
