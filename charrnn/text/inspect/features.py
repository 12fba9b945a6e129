"""`--find`: which units track which features of the text. The features are computed from the
characters alone, and each unit's Pearson r with each feature accumulates as running sums, so
the memory does not grow with the shown text."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.text.inspect.units import UnitRef

FEATURES = {
    "quotes": "inside double quotes (the quotes included)",
    "brackets": "inside parentheses or square brackets (the brackets included)",
    "line-pos": "position in the line (characters since the last newline)",
    "indent": "indentation depth (leading whitespace of the line so far; tab = 8)",
    "word-start": "first character of a word",
    "upper": "upper-case letter",
    "digit": "digit",
}


def text_features(text: str) -> np.ndarray:
    """(len(text), len(FEATURES)) float64: each feature of each character, in FEATURES' order.

    Quotes and brackets reset at a blank line, so one stray quote cannot flip a whole file;
    a backslash escapes the next character inside quotes; brackets inside quotes are text.
    """
    n = len(text)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    in_quote = escaped = False
    depth = 0
    line_pos = indent = 0
    leading = True
    prev = ""
    for i, ch in enumerate(text):
        if ch == "\n" and prev == "\n":
            in_quote, depth = False, 0
        quoted = in_quote
        if in_quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = quoted = True
        bracketed = depth > 0
        if not quoted:
            if ch in "([":
                depth += 1
                bracketed = True
            elif ch in ")]" and depth > 0:
                depth -= 1
        if ch == "\n":
            line_pos, indent, leading = 0, 0, True
        else:
            line_pos += 1
            if leading and ch == " ":
                indent += 1
            elif leading and ch == "\t":
                indent = (indent // 8 + 1) * 8
            else:
                leading = False
        word = ch.isalnum() or ch == "_"
        out[i] = (quoted, bracketed, line_pos, indent,
                  word and not (prev.isalnum() or prev == "_"), ch.isupper(), ch.isdigit())
        prev = ch
    return out


class Correlations:
    """Pearson r of every unit with every feature, from running sums (bounded memory)."""

    def __init__(self, n_features: int, n_units: int):
        self.n = 0
        self.sx = np.zeros(n_units)
        self.sxx = np.zeros(n_units)
        self.sy = np.zeros(n_features)
        self.syy = np.zeros(n_features)
        self.sxy = np.zeros((n_features, n_units))
        self.shift = None  # the first chunk's means: sums of centred values lose less

    def add(self, acts: np.ndarray, feats: np.ndarray) -> None:
        acts, feats = acts.astype(np.float64), feats.astype(np.float64)
        if self.shift is None:
            self.shift = (acts.mean(0), feats.mean(0))
        x, y = acts - self.shift[0], feats - self.shift[1]
        self.n += len(x)
        self.sx += x.sum(0)
        self.sxx += (x * x).sum(0)
        self.sy += y.sum(0)
        self.syy += (y * y).sum(0)
        self.sxy += y.T @ x

    def r(self) -> np.ndarray:
        """(features, units); NaN where a feature or a unit is constant over the text."""
        n = self.n
        cov = n * self.sxy - np.outer(self.sy, self.sx)
        vx = n * self.sxx - self.sx ** 2
        vy = n * self.syy - self.sy ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            den = np.sqrt(np.outer(np.maximum(vy, 0), np.maximum(vx, 0)))
            r = cov / den
        tiny_x = vx <= 1e-12 * np.maximum(n * self.sxx, 1e-300)
        tiny_y = vy <= 1e-12 * np.maximum(n * self.syy, 1e-300)
        r[:, tiny_x] = np.nan
        r[tiny_y, :] = np.nan
        return np.clip(r, -1.0, 1.0)


@dataclass
class FeatureMatch:
    feature: str
    units: list[tuple[UnitRef, float]]  # strongest first; empty when the feature is absent

    @property
    def best(self) -> tuple[UnitRef, float] | None:
        return self.units[0] if self.units else None


def strongest_units(r: np.ndarray, states: tuple, layers: int, hidden: int,
                    feature: str | None) -> list[FeatureMatch]:
    """The strongest units per feature (five for one asked feature, one for each otherwise)."""
    refs = [UnitRef(layer + 1, i, s) for s in states for layer in range(layers)
            for i in range(hidden)]
    out = []
    for f, name in enumerate(FEATURES):
        if feature is not None and name != feature:
            continue
        row = r[f]
        ok = np.flatnonzero(np.isfinite(row))
        order = ok[np.argsort(-np.abs(row[ok]), kind="stable")][: 5 if feature else 1]
        out.append(FeatureMatch(name, [(refs[j], float(row[j])) for j in order]))
    return out


def check_feature(name: str) -> str:
    if name not in FEATURES:
        raise CharrnnError(f"--find {name}: unknown feature; features: {', '.join(FEATURES)}")
    return name
