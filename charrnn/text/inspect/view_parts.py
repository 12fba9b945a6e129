"""What the terminal and HTML views share, so the two draw the same colours and say the same
things: the colour scales (surprise, a unit's value, characters outside the vocabulary),
readable character labels, and the summary lines and --find rows."""
from __future__ import annotations

import math

import numpy as np

from charrnn.text.data import show_chars
from charrnn.text.inspect.features import FEATURES
from charrnn.text.inspect.inspection import Inspection

LOSS_SCALE = 5.0  # nats at which the surprise colour saturates
_WHITE = (255, 255, 255)
_LOSS_STOPS = ((0.0, _WHITE), (0.4, (254, 224, 139)), (0.7, (244, 109, 67)), (1.0, (165, 0, 38)))
_NEG = (33, 102, 172)
_POS = (178, 24, 43)
UNKNOWN_BG = (190, 190, 190)
UNKNOWN_FG = (122, 1, 119)


def _mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def loss_rgb(loss: float) -> tuple[int, int, int]:
    t = min(max(loss / LOSS_SCALE, 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(_LOSS_STOPS, _LOSS_STOPS[1:]):
        if t <= t1:
            return _mix(c0, c1, (t - t0) / (t1 - t0))
    return _LOSS_STOPS[-1][1]


def unit_rgb(value: float, scale: float) -> tuple[int, int, int]:
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    return _mix(_WHITE, _POS if t >= 0 else _NEG, abs(t) ** 0.8)


def foreground_for(rgb) -> tuple[int, int, int]:
    r, g, b = rgb
    return (255, 255, 255) if 0.299 * r + 0.587 * g + 0.114 * b < 120 else (0, 0, 0)



def unit_scale(ins: Inspection) -> float:
    """h lies in [-1, 1]; c is unbounded: its largest magnitude in the shown text."""
    if ins.unit is None:
        return 1.0
    if ins.unit.state == "h":
        return 1.0
    v = ins.unit_values[np.isfinite(ins.unit_values)]
    return float(np.abs(v).max()) if len(v) and np.abs(v).max() > 0 else 1.0


def char_rgb(ins: Inspection, i: int, scale: float) -> tuple[int, int, int] | None:
    """The background of character i in the view, None for no colour."""
    if not ins.known[i]:
        return UNKNOWN_BG
    if ins.unit is not None:
        return unit_rgb(float(ins.unit_values[i]), scale)
    return None if np.isnan(ins.loss[i]) else loss_rgb(float(ins.loss[i]))


def char_label(ch: str) -> str:
    """A character as a label: repr-like for the invisible ones."""
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r", " ": "␣"}.get(ch, ch if ch.isprintable() else
                                                               f"U+{ord(ch):04X}")


def summary_lines(ins: Inspection) -> list[str]:
    lines = [f"mean loss {ins.mean_loss:.7f} nats/char ({ins.mean_loss / math.log(2):.4f} bpc) "
             f"over {ins.predicted} predicted characters; {len(ins.text)} characters from "
             f"offset {ins.start} of {ins.source}; {ins.model}"]
    skipped = int((~ins.known).sum())
    if skipped:
        lines.append(f"{skipped} characters outside the model's vocabulary "
                     f"({show_chars(ins.unknown)}) are shown marked and skipped, as eval skips "
                     f"them")
    if ins.unit is not None:
        v = ins.unit_values[np.isfinite(ins.unit_values)]
        what = f"layer {ins.unit.layer} unit {ins.unit.index} ({ins.unit.state})"
        if ins.unit_r is not None:
            what += f", the strongest for {ins.find_feature} (r = {ins.unit_r:+.3f})"
        lines.append(f"{what}: min {v.min():+.3f}, max {v.max():+.3f}")
    return lines


def find_rows(ins: Inspection) -> list[tuple[str, str, str, str]]:
    rows = []
    for match in ins.find or []:
        if not match.units:
            rows.append((match.feature, "-", "n/a", "not varying in the shown text"))
            continue
        for rank, (ref, r) in enumerate(match.units):
            rows.append((match.feature if rank == 0 else "", f"{ref.layer}:{ref.index} {ref.state}",
                         f"{r:+.3f}", FEATURES[match.feature] if rank == 0 else ""))
    return rows
