"""What one pass over the shown text found: the single value the pass hands the views, so the
renderers need neither the model nor torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.text.inspect.features import FeatureMatch
from charrnn.text.inspect.units import UnitRef


@dataclass
class Inspection:
    """What one pass found over the shown text; the renderers read only this."""

    text: str  # the shown text, unknown characters included
    source: str
    start: int  # offset of the shown text in the source, in characters
    vocab: str
    known: np.ndarray  # bool per character of text
    loss: np.ndarray  # float64 per character of text; NaN: first known character, or unknown
    predicted: int  # characters with a loss
    loss_sum: float
    unknown: str  # the distinct unknown characters, in order seen
    model: str  # "LSTM 1 x 32" and so on
    unit: UnitRef | None = None
    unit_values: np.ndarray | None = None  # float64 per character of text; NaN where unknown
    unit_r: float | None = None  # with --unit auto: its correlation with the feature
    top_k: int = 0
    top_ids: np.ndarray | None = None  # (len(text), k) ids of the guesses for each character
    top_p: np.ndarray | None = None  # (len(text), k) their probabilities
    find: list[FeatureMatch] | None = None
    find_feature: str | None = None

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / self.predicted if self.predicted else float("nan")

    def guesses(self, i: int) -> list[tuple[str, float]] | None:
        """The likeliest characters the model expected at character i, likeliest first."""
        if self.top_ids is None or not self.known[i] or np.isnan(self.loss[i]):
            return None
        return [(self.vocab[j], float(p)) for j, p in zip(self.top_ids[i], self.top_p[i])]
