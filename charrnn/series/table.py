"""Time series from CSV: reading the table, ordering rows by date, picking and converting columns.

Pure numpy: no torch, typer or rich. Everything the user can get wrong raises CharrnnError
naming the file line and column; everything worth knowing but not fatal becomes a note.
"""
from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from charrnn.errors import CharrnnError

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MISSING = {"", "nan", "na", "n/a", "null", "none", "?"}
_DATE_WORDS = {"date", "time", "datetime", "timestamp", "year", "month", "period"}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"
                  r"(?:([ T])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?Z?")
_PERIOD = re.compile(r"(\d{4})-(\d{1,2})")
_SLASHED = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


@dataclass
class Table:
    """Cells as read, with the file line of every data row (for error messages)."""

    name: str
    names: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, j: int) -> list[str]:
        return [row[j] for row in self.rows]


def read_table(source: str) -> Table:
    from charrnn.text.data import decode_utf8, read_bytes

    name = "stdin" if source == "-" else source
    return parse_table(decode_utf8(read_bytes(source, "data"), f"data {name}"), name)


def parse_table(text: str, name: str) -> Table:
    """A header row, or names from the last `#` comment line that has as many fields as the data."""
    comments, body, lines = [], [], []
    for number, line in enumerate(text.splitlines(), 1):  # CRLF and no final newline are fine
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not body:
                comments.append(stripped[1:])
            continue
        body.append(line)
        lines.append(number)
    if not body:
        raise CharrnnError(f"data {name}: no data rows")
    delimiter = next((d for d in ",\t;" if d in body[0]), ",")
    rows = [[cell.strip() for cell in row] for row in csv.reader(body, delimiter=delimiter)]
    first = rows[0]
    if not any(_is_number(c) for c in first) and not all(_parse_date(c) for c in first):
        names, rows, lines = first, rows[1:], lines[1:]
    else:
        from_comment = [[c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
                        for line in comments]
        names = next((c for c in reversed(from_comment) if len(c) == len(first) and all(c)),
                     [f"col{j + 1}" for j in range(len(first))])
    for row, line in zip(rows, lines):
        if len(row) != len(names):
            raise CharrnnError(f"data {name}: line {line} has {len(row)} fields, but the header "
                               f"names {len(names)}")
    duplicated = [n for n, k in Counter(names).items() if k > 1]
    if duplicated:
        raise CharrnnError(f"data {name}: column name {duplicated[0]!r} appears more than once")
    return Table(name, names, rows, lines)


def _distinct_integers(cells: list[str]) -> bool:
    return (all(re.fullmatch(r"[+-]?\d+", c) for c in cells)
            and len({int(c) for c in cells}) == len(cells))


def _is_number(cell: str) -> bool:
    return _NUMBER.fullmatch(cell) is not None


def _is_missing(cell: str) -> bool:
    return cell.lower() in _MISSING


def _parse_date(cell: str):
    """A sortable value for ISO dates/datetimes, `1949-01` periods, `2020/01/31`; else None."""
    try:
        if m := _ISO.fullmatch(cell):
            y, mo, d, _, hh, mm, ss = m.groups()
            return datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        if m := _SLASHED.fullmatch(cell):
            return datetime(*map(int, m.groups()))
        if (m := _PERIOD.fullmatch(cell)) and 1 <= int(m.group(2)) <= 12:
            return (int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None
    return None


def _date_named(name: str) -> bool:
    return name.strip().lower() in _DATE_WORDS


def _kind(name: str, cells: list[str]) -> str:
    """'date', 'numeric' (most present cells are numbers) or 'text'.

    A column orders the rows when its values parse as dates or periods, or when it is named
    exactly like a date (date, time, year, ...) and holds distinct integers, such as years;
    `response_time`, or a `month` that repeats 1..12, stays a feature.
    """
    present = [c for c in cells if not _is_missing(c)]
    if present and all(_parse_date(c) is not None for c in present):
        return "date"
    if present and _date_named(name) and _distinct_integers(present):
        return "date"
    numbers = sum(_is_number(c) for c in present)
    return "numeric" if numbers and 2 * numbers >= len(present) else "text"


@dataclass
class Series:
    """Rows in time order: the features (rows, F), the target (rows,), and dates if any."""

    name: str
    features: list[str]
    target: str
    values: np.ndarray
    target_values: np.ndarray
    dates: list[str] | None = None
    date_column: str | None = None
    notes: list[str] = field(default_factory=list)
    lines: list[int] | None = None  # the file line of each row, to name rows without dates

    def __len__(self) -> int:
        return len(self.target_values)


def load_series(source: str, target: str | None = None, features: list[str] | None = None,
                newest_first: bool = False, fill: bool = False, trained: bool = False) -> Series:
    return select(read_table(source), target, features, newest_first, fill, trained)


def select(table: Table, target: str | None, features: list[str] | None,
           newest_first: bool = False, fill: bool = False, trained: bool = False) -> Series:
    """Orders the rows, picks the target and features, converts them to numbers.

    `trained`: the columns are a trained model's, so errors name the model, not an option.
    """
    kinds = {n: _kind(n, table.column(j)) for j, n in enumerate(table.names)}
    dates = [n for n in table.names if kinds[n] == "date"]
    usable = [n for n in table.names if kinds[n] == "numeric"]
    notes = []
    asked = ("the model's target", "the model's feature") if trained else ("--target", "--features")
    target = _column(table, kinds, target, asked[0]) if target else (usable or [None])[-1]
    if target is None:
        raise CharrnnError(f"data {table.name}: no numeric column to forecast (columns: "
                           f"{', '.join(table.names)})")
    if features:
        features = list(dict.fromkeys(_column(table, kinds, f, asked[1]) for f in features))
    else:
        features = usable
        ignored = [n for n in table.names if kinds[n] == "text"]
        if ignored:
            notes.append(f"note: ignoring non-numeric column(s) {', '.join(ignored)}")
    order, date_values = _order(table, dates[0] if dates else None, newest_first, notes)
    lines = [table.lines[i] for i in order]
    rows = [table.rows[i] for i in order]

    def numbers(col: str) -> np.ndarray:
        return _to_numbers(table.name, col, [r[table.names.index(col)] for r in rows], lines,
                           fill, notes)

    converted = {c: numbers(c) for c in dict.fromkeys(features + [target])}
    values = np.stack([converted[c] for c in features], axis=1)  # (rows, F)
    return Series(table.name, features, target, values, converted[target], date_values,
                  dates[0] if date_values is not None else None, notes, lines)


def _column(table: Table, kinds: dict, name: str, option: str) -> str:
    if name not in kinds:
        folded = [n for n in kinds if n.lower() == name.lower()]
        if len(folded) != 1:
            raise CharrnnError(f"{option} {name}: no such column in {table.name} (columns: "
                               f"{', '.join(table.names) or 'none'})")
        name = folded[0]
    if kinds[name] == "date":
        raise CharrnnError(f"{option} {name}: is the date column; it orders the rows and is "
                           f"never a feature or target")
    if kinds[name] == "text":
        j = table.names.index(name)
        bad = next(((r, line) for r, line in zip(table.column(j), table.lines)
                    if not _is_missing(r) and not _is_number(r)), None)
        if bad is None:
            raise CharrnnError(f"{option} {name}: the column holds no values")
        raise CharrnnError(f"{option} {name}: column is not numeric (line {bad[1]}: {bad[0]!r})")
    return name


def _order(table: Table, date_col: str | None, newest_first: bool, notes: list):
    """Row order: by the date column when it parses, else file order (reversed if asked)."""
    n = len(table.rows)
    if date_col is not None:
        cells = table.column(table.names.index(date_col))
        keys = [_parse_date(c) for c in cells]
        if all(k is not None for k in keys) or all(_is_number(c) for c in cells):
            keys = keys if keys[0] is not None else [float(c) for c in cells]
            if len({type(k) for k in keys}) == 1:
                if newest_first:
                    notes.append(f"note: column {date_col} sets the order; --newest-first is not "
                                 f"needed")
                order = sorted(range(n), key=keys.__getitem__)  # stable for equal dates
                if len(set(keys)) < n:
                    notes.append(f"note: column {date_col} repeats values; rows with equal "
                                 f"values keep their file order")
                return order, [cells[i] for i in order]
        notes.append(f"note: column {date_col}: dates not understood; rows kept in file order")
    order = list(range(n))[::-1] if newest_first else list(range(n))
    return order, None


def _to_numbers(name: str, col: str, cells: list[str], lines: list[int], fill: bool,
                notes: list) -> np.ndarray:
    out = np.empty(len(cells))
    gaps = []
    for i, (cell, line) in enumerate(zip(cells, lines)):
        if _is_number(cell):
            out[i] = float(cell)
        elif _is_missing(cell):
            gaps.append(i)
            if not fill:
                what = "empty" if cell == "" else f"missing ({cell!r})"
                raise CharrnnError(f"data {name}: line {line}, column {col}: {what}; fix the "
                                   f"file or pass --fill to interpolate gaps")
        else:
            raise CharrnnError(f"data {name}: line {line}, column {col}: {cell!r} is not a number")
        if _is_number(cell) and not math.isfinite(out[i]):
            raise CharrnnError(f"data {name}: line {line}, column {col}: {cell!r} is not finite")
    if gaps:
        known = np.setdiff1d(np.arange(len(cells)), gaps)
        if len(known) == 0:
            raise CharrnnError(f"data {name}: column {col} holds no numbers")
        out[gaps] = np.interp(gaps, known, out[known])  # linear inside, nearest at the ends
        notes.append(f"note: filled {len(gaps)} gap(s) in column {col} by linear interpolation")
    return out


def next_dates(dates: list[str], steps: int) -> list[str]:
    """Dates of the `steps` rows after the data, stepping by the commonest recent gap."""
    keys = [_parse_date(d) for d in dates[-31:]]
    if any(k is None for k in keys):
        values = [float(d) for d in dates[-31:]]
        step = Counter(np.diff(values).tolist()).most_common(1)[0][0] if len(values) > 1 else 1
        nxt = [values[-1] + step * k for k in range(1, steps + 1)]
        return [f"{v:g}" if v != int(v) else str(int(v)) for v in nxt]
    if isinstance(keys[-1], tuple):  # year-month periods
        months = [y * 12 + m - 1 for y, m in keys]
        step = Counter(np.diff(months).tolist()).most_common(1)[0][0] if len(months) > 1 else 1
        nxt = [months[-1] + step * k for k in range(1, steps + 1)]
        return [f"{v // 12:04d}-{v % 12 + 1:02d}" for v in nxt]
    gaps = [b - a for a, b in zip(keys, keys[1:])]
    step = Counter(gaps).most_common(1)[0][0] if gaps else timedelta(days=1)
    timed = _ISO.fullmatch(dates[-1]) and _ISO.fullmatch(dates[-1]).group(4)
    nxt = [keys[-1] + step * k for k in range(1, steps + 1)]
    return [d.isoformat(sep=timed) if timed else d.date().isoformat() for d in nxt]
