"""The view as one JSON object (`--json`) for scripts: strict JSON, so a value that is not a
number (no prediction, a character outside the vocabulary) is null rather than NaN."""
from __future__ import annotations

import json
import math

from charrnn.text.inspect.features import FEATURES
from charrnn.text.inspect.inspection import Inspection


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def to_json(ins: Inspection) -> str:
    rows = []
    for i, ch in enumerate(ins.text):
        row = {"char": ch, "known": bool(ins.known[i]), "loss": _num(ins.loss[i])}
        if ins.unit is not None:
            row["value"] = _num(ins.unit_values[i])
        if ins.top_k:
            g = ins.guesses(i)
            row["top"] = None if g is None else [{"char": c, "p": _num(p)} for c, p in g]
        rows.append(row)
    out = {
        "source": ins.source, "start": ins.start, "chars": len(ins.text), "model": ins.model,
        "mean_loss": _num(ins.mean_loss), "bpc": _num(ins.mean_loss / math.log(2)),
        "predicted": ins.predicted, "unknown_chars": int((~ins.known).sum()),
        "unit": None if ins.unit is None else {
            "layer": ins.unit.layer, "index": ins.unit.index, "state": ins.unit.state,
            "r": None if ins.unit_r is None else _num(ins.unit_r)},
        "find": None if ins.find is None else [
            {"feature": m.feature, "meaning": FEATURES[m.feature],
             "units": [{"layer": u.layer, "index": u.index, "state": u.state, "r": _num(r)}
                       for u, r in m.units]} for m in ins.find],
        "per_char": rows,
    }
    return json.dumps(out, ensure_ascii=False, allow_nan=False)
