"""JSON on stdout is always valid JSON: NaN and Infinity (which `json.dumps` writes by default
and no strict parser reads) become null, and a `non_finite` entry says which fields and why."""
from __future__ import annotations

import json
import math


def dumps(obj) -> str:
    """`obj` as strict JSON; each non-finite number is null, listed in `non_finite` (top-level
    dicts) as `{"field.path": "NaN" | "Infinity" | "-Infinity"}`."""
    found: dict[str, str] = {}
    clean = _clean(obj, "", found)
    if found and isinstance(clean, dict):
        clean["non_finite"] = {path: f"{value} (not representable in JSON; written as null)"
                               for path, value in found.items()}
    return json.dumps(clean, allow_nan=False)


def _clean(obj, path: str, found: dict):
    if isinstance(obj, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{path}[{i}]", found) for i, v in enumerate(obj)]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    try:
        value = float(obj)  # numpy and torch scalars included
    except (TypeError, ValueError):
        return obj
    if math.isfinite(value):
        return obj if isinstance(obj, float) else value
    found[path or "value"] = ("NaN" if math.isnan(value) else
                              "Infinity" if value > 0 else "-Infinity")
    return None
