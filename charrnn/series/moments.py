"""Root mean squares and spreads that neither overflow nor underflow where the values fit.

On a series near 1e300 every squared error overflows to infinity, so each choice made by
comparing RMSEs (the baseline, the transform, the linear model's penalty) tied at infinity and
fell to its default: a clearly seasonal series near 1e300 kept persistence (MASE 12.9 where
the seasonal naive forecast scored 0.93). At the other end squares underflow: below about
1e-154 they lose digits, below 1e-162 they vanish. Outside [TINY, HUGE] the values are divided
by their largest magnitude first (an RMS never exceeds it, so the result fits); inside, the
plain formula, so ordinary series give the same numbers bit for bit as before.
"""
from __future__ import annotations

import numpy as np

TINY, HUGE = 1e-100, 1e100  # squares of magnitudes in between are exact enough and finite


def rms(x, axis=None):
    """sqrt(mean(x ** 2)) over `axis` (all entries: a float), finite wherever x is."""
    a = np.asarray(x, float)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        plain = np.sqrt(np.mean(a ** 2, axis=axis))
        if a.size == 0:
            return plain
        big = np.max(np.abs(a), axis=axis)
        ordinary = ((big >= TINY) & (big <= HUGE)) | ~np.isfinite(big) | (big == 0)
        if np.all(ordinary):  # the common case: nothing computed twice
            return float(plain) if axis is None else plain
        unit = np.where(ordinary, 1.0, big)
        scaled = np.sqrt(np.mean((a / (unit if axis is None else np.expand_dims(unit, axis)))
                                 ** 2, axis=axis)) * unit
        out = np.where(ordinary, plain, scaled)
    return float(out) if axis is None else out


def spread(x) -> float:
    """np.std(x) by the same care: the RMS of the deviations from a mean that fits."""
    a = np.asarray(x, float).reshape(-1)
    big = float(np.max(np.abs(a))) if a.size else 0.0
    if not a.size or TINY <= big <= HUGE or not np.isfinite(big) or big == 0:
        return float(np.std(a))
    unit = big
    center = float(np.mean(a / unit)) * unit
    return rms(a - center)
