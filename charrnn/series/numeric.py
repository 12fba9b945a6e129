"""Numbers as spreadsheets write them, and the cells that stand for no value.

A cell is read as a number only in the forms listed here, so that a column is numeric for a
reason the user can see, and a cell that is neither a number nor a missing marker stops the run
at its line instead of turning into a silent NaN. The decimal mark, like a date format, is
settled for a whole column: `1,234` alone reads two ways, and the rest of the column (never a
guess) decides which; comma-delimited files always use the point.

  numbers   1,101.50  $12.50  -€3  (12.50)  12.5%  and, outside comma-delimited files,
            12,5 and 1.101,50 when the column shows which mark is the decimal one.
  missing   an empty cell and nan, NA, N/A, #N/A, null, none, ?, -, -- (any case): gaps in a
            number column that --fill interpolates, else an error naming the cell.
"""
from __future__ import annotations

import math
import re

import numpy as np

from charrnn.errors import CharrnnError


def shown_cell(cell: str, limit: int = 40) -> str:
    """A cell for an error line: a 5,000-digit number made the line 5 kB, and a quote left
    open glued the rest of the file into one cell."""
    shown = repr(cell) if len(cell) <= limit else (
        f"{cell[:limit]!r}... ({len(cell):,} characters)")
    return shown + (" (a quoted cell over several lines: is a quote left open?)"
                    if "\n" in cell else "")


_MISSING = {"", "nan", "na", "n/a", "#n/a", "null", "none", "?", "-", "--"}
_CURRENCY = "$€£¥₹"
_PLAIN = {"dot": re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"),
          "comma": re.compile(r"(\d+,?\d*|,\d+)([eE][+-]?\d+)?")}
# a plain number (sign, digits, decimal point, exponent), as most files write every cell;
# dates.py uses it too: no date shape outside a date-named column is one
_SIMPLE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = {"dot": re.compile(r"\d{1,3}(?:(?P<g>[, \u00a0\u202f'])\d{3})(?:(?P=g)\d{3})*(\.\d+)?"),
            "comma": re.compile(r"\d{1,3}(?:(?P<g>[. \u00a0\u202f'])\d{3})(?:(?P=g)\d{3})*(,\d+)?")}


def _is_missing(cell: str) -> bool:
    return cell.lower() in _MISSING


def _parse_number(cell: str, style: str = "dot") -> float | None:
    """`1,101.50`, `$12.50`, `-€3`, `(12.50)`, `12.5%` (as 12.5); `style`: the decimal mark."""
    if style == "dot" and _SIMPLE.fullmatch(cell):  # most cells: what the rules below give
        return float(cell)
    s = cell.strip()
    if not s:
        return None
    negative = False
    if s[0] == "(" and s[-1] == ")":
        negative, s = True, s[1:-1].strip()
    if s.endswith("%"):
        s = s[:-1].rstrip()
    sign = money = ""
    for _ in range(2):  # sign and currency in either order: -$3, $-3
        if s[:1] and s[0] in "+-":
            sign, s = sign + s[0], s[1:].lstrip()
        elif s[:1] and s[0] in _CURRENCY:
            money, s = money + s[0], s[1:].lstrip()
    if s[-1:] and s[-1] in _CURRENCY:
        money, s = money + s[-1], s[:-1].rstrip()
    if len(sign) > 1 or len(money) > 1 or (negative and sign) or not s:
        return None
    if _PLAIN[style].fullmatch(s):
        core = s.replace(",", ".") if style == "comma" else s
    elif m := _GROUPED[style].fullmatch(s):
        core = s.replace(m.group("g"), "")
        core = core.replace(",", ".") if style == "comma" else core
    else:
        return None
    value = float(core)
    return -value if negative or sign == "-" else value


def _number_like(cell: str, delimiter: str) -> bool:
    return any(_parse_number(cell, s) is not None for s in _styles(delimiter))


def _styles(delimiter: str) -> tuple:
    return ("dot",) if delimiter == "," else ("dot", "comma")


def _number_style(table_name: str, delimiter: str, col: str, cells: list[str],
                  lines: list[int]) -> str:
    """The decimal mark of a column: a point, unless the file is not comma-delimited and its
    cells show a decimal comma (`12,5`, `1.101,50`). Cells that read both ways with no cell to
    decide (`1,234`) are an error naming one."""
    if delimiter == "," or not any("," in c for c in cells):
        return "dot"
    evidence: dict[str, tuple] = {}
    undecided = None
    for cell, line in zip(cells, lines):
        dot, comma = _parse_number(cell, "dot"), _parse_number(cell, "comma")
        if dot is not None and comma is None:
            evidence.setdefault("dot", (line, cell))
        elif comma is not None and dot is None:
            evidence.setdefault("comma", (line, cell))
        elif dot is not None and dot != comma and undecided is None:
            undecided = (line, cell)
    if len(evidence) == 2:
        (ld, cd), (lc, cc) = evidence["dot"], evidence["comma"]
        raise CharrnnError(f"data {table_name}: column {col} mixes decimal marks: line {ld} "
                           f"{cd!r} has a decimal point, line {lc} {cc!r} a decimal comma")
    if evidence:
        return next(iter(evidence))
    if undecided:
        line, cell = undecided
        raise CharrnnError(f"data {table_name}: line {line}, column {col}: {shown_cell(cell)} is "
                           f"ambiguous (a thousands separator or a decimal comma?); write it "
                           f"without thousands separators")
    return "dot"


# The largest magnitude read: near 1e306 the sums over a few hundred rows overflowed, and near
# 1e308 the ridge's least squares failed (LAPACK printing to stdout); rows near 1e300 train and
# score as rows near 1 do (test_moments), and a million rows of 1e302 still sum
LARGEST = 1e302


def _edge_advice(where: str) -> str:
    """For an empty cell with no value on one side: nothing to interpolate from."""
    return (f"{where} value; --fill fills gaps between values only: remove the row or give the "
            f"value" + (" (rows after the last target value are forecast rows with --future)"
                        if where.startswith("after") else ""))


def _to_numbers(table_name: str, delimiter: str, col: str, cells: list[str], lines: list[int],
                fill: bool, notes: list, trained: bool = False) -> np.ndarray:
    """`trained`: the options are a trained model's (eval, forecast), which has no --fill."""
    name = table_name
    style = _number_style(table_name, delimiter, col, cells, lines)
    out = np.empty(len(cells))
    gaps = []
    for i, (cell, line) in enumerate(zip(cells, lines)):
        value = _parse_number(cell, style)
        if value is not None:
            if not math.isfinite(value):
                raise CharrnnError(f"data {name}: line {line}, column {col}: "
                                   f"{shown_cell(cell)} is not finite")
            if abs(value) > LARGEST:
                raise CharrnnError(f"data {name}: line {line}, column {col}: "
                                   f"{shown_cell(cell)} is too large: beyond ±{LARGEST:g} the "
                                   f"fit's sums overflow; rescale the column")
            out[i] = value
        elif _is_missing(cell):
            gaps.append(i)
            if not fill:
                what = "empty" if cell == "" else f"missing ({shown_cell(cell)})"
                before = any(not _is_missing(c) for c in cells[:i])
                after = any(not _is_missing(c) for c in cells[i + 1:])
                if not (before and after):  # no gap --fill could fill
                    where = "after the last" if before else "before the first"
                    raise CharrnnError(f"data {name}: line {line}, column {col}: {what} "
                                       f"{_edge_advice(where)}")
                how = (" (the model was trained without --fill, which interpolates gaps)"
                       if trained else " or pass --fill to interpolate gaps")
                raise CharrnnError(f"data {name}: line {line}, column {col}: {what}; fix the "
                                   f"file{how}")
        else:
            raise CharrnnError(f"data {name}: line {line}, column {col}: {shown_cell(cell)} is not "
                               f"a number")
    if gaps:
        known = np.setdiff1d(np.arange(len(cells)), gaps)
        if len(known) == 0:
            raise CharrnnError(f"data {name}: column {col} holds no numbers")
        edge = next((i for i in (gaps[0], gaps[-1]) if i < known[0] or i > known[-1]), None)
        if edge is not None:  # nothing to interpolate from on one side: a value made up
            where = "before the first" if edge < known[0] else "after the last"
            raise CharrnnError(f"data {name}: line {lines[edge]}, column {col}: empty "
                               f"{_edge_advice(where)}")
        out[gaps] = np.interp(gaps, known, out[known])  # linear between the values around
        notes.append(f"note: filled {len(gaps)} gap(s) in column {col} by linear interpolation")
    return out

