"""Min-max scaling of a series' columns to [0, 1], fitted on the rows the model may learn from.

Its own module because windows, the coder, prepare and checkpoints all read it: a model is
saved with its scaler (to_dict) so that eval and forecast scale new rows exactly as training
did. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
