"""Time series from CSV: reading, ordering, scaling fitted on training rows, windows, baselines.

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
    from charrnn.text import decode_utf8, read_bytes

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


# ---------------------------------------------------------------------- scaling
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


# ---------------------------------------------------------------------- windows and splits
# Window i reads rows i .. i+W-1 (all features) and predicts the target H rows after its last
# observed row t = i+W-1; the split counts windows, chronologically, as the lecture does:
#
#   rows      0 1 2 3 4 5 6 7 8 9 ...                                   (W = 3, H = 1)
#   window 0  [0 1 2] -> 3
#   window 1    [1 2 3] -> 4
#   windows   [ train ............ | val .. ][ test ......... ]
#             |<----- int(n * (1 - test_frac)) ---->|
#   the scaler is fitted on the rows the train and val windows read, labels included
@dataclass
class Split:
    """Window counts; with a horizon H > 1, H - 1 windows are dropped before the validation and
    test parts, so no label of theirs is also a label of an earlier part."""

    train: int
    val: int
    test: int
    gap: int = 0

    @property
    def val_start(self) -> int:
        return self.train + (self.gap if self.val else 0)

    @property
    def fit(self) -> int:
        """End of the windows the model learns from or is selected on."""
        return self.val_start + self.val

    @property
    def test_start(self) -> int:
        return self.fit + self.gap


def count_windows(rows: int, window: int, horizon: int) -> int:
    return max(0, rows - window - horizon + 1)


def split_windows(n: int, test_frac: float, val_frac: float, horizon: int = 1) -> Split:
    fit = int(round(n * (1 - test_frac), 9))  # 725 windows, 0.3 -> 507 train, 218 test
    gap = horizon - 1
    usable = fit - gap
    val = max(1, int(round(usable * val_frac))) if val_frac > 0 else 0
    return Split(usable - val - (gap if val else 0), val, n - fit, gap)


def _enough(split: Split) -> bool:
    return split.train >= 1 and split.val >= 0 and split.test >= 1


def check_split(name: str, rows: int, window: int, horizon: int, test_frac: float,
                val_frac: float) -> Split:
    """The split, or an error saying how many rows these options need."""
    split = split_windows(count_windows(rows, window, horizon), test_frac, val_frac, horizon)
    if _enough(split):
        return split
    need = next((r for r in range(rows + 1, rows + 100_000) if _enough(
        split_windows(count_windows(r, window, horizon), test_frac, val_frac, horizon))), None)
    needed = f"at least {need} rows" if need else "far more rows"
    raise CharrnnError(f"data {name}: {rows} rows are too few for --window {window}, --horizon "
                       f"{horizon}, --test-frac {test_frac:g} and --val-frac {val_frac:g}: they "
                       f"need {needed} (a training, a validation and a test window)")


def fit_rows(split: Split, window: int, horizon: int) -> int:
    """Rows read by the train and val windows, labels included: the scaler sees no test label."""
    return split.fit + window + horizon - 1  # the last of them is window fit - 1


@dataclass
class Windows:
    x: np.ndarray  # (N, W, F) scaled features
    y: np.ndarray  # (N, H) target in real units, the H rows after each window
    last: np.ndarray  # (N,) last observed target in real units
    end: np.ndarray  # (N,) row index of the last observed row


def make_windows(series: Series, scaler: Scaler, window: int, horizon: int) -> Windows:
    n = count_windows(len(series), window, horizon)
    scaled = scaler.transform(series.values).astype(np.float32)  # (rows, F)
    starts = np.arange(n)
    x = scaled[starts[:, None] + np.arange(window)[None, :]]  # (N, W, F)
    end = starts + window - 1
    y = series.target_values[end[:, None] + np.arange(1, horizon + 1)[None, :]]  # (N, H)
    return Windows(x, y, series.target_values[end], end)


def take(w: Windows, start: int, stop: int) -> Windows:
    return Windows(w.x[start:stop], w.y[start:stop], w.last[start:stop], w.end[start:stop])


# ---------------------------------------------------------------------- what the network sees
@dataclass
class Coder:
    """Scaled windows and real targets <-> the network's inputs and outputs.

    level (the lecture): inputs are the scaled windows, the output is the scaled target.
    delta: inputs are each window minus its last row, and the output is the scaled change
    from the last observed target, both divided by the RMS of one-step changes over the
    training rows. A zero output is persistence, and a window reads the same at any price
    level, so test prices beyond the training range are not out of distribution.
    """

    mode: str
    low: float  # the target's scaling
    span: float
    delta_scale: float = 1.0
    input_scale: list = field(default_factory=list)  # delta: per feature

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """(N, W, F) scaled windows -> network inputs, float32."""
        if self.mode == "delta":
            x = (x - x[:, -1:, :]) / np.asarray(self.input_scale, np.float32)
        return np.ascontiguousarray(x, dtype=np.float32)

    def encode(self, y: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(N, H) real targets -> network outputs to learn."""
        scaled = (y - self.low) / self.span
        if self.mode == "level":
            return scaled
        return (scaled - ((last - self.low) / self.span)[:, None]) / self.delta_scale

    def decode(self, out: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(N, H) network outputs -> real predictions."""
        if self.mode == "level":
            return out * self.span + self.low
        return last[:, None] + out * self.delta_scale * self.span

    def to_dict(self) -> dict:
        return {"mode": self.mode, "low": self.low, "span": self.span,
                "delta_scale": self.delta_scale, "input_scale": list(self.input_scale)}

    @classmethod
    def from_dict(cls, d: dict) -> "Coder":
        return cls(d["mode"], float(d["low"]), float(d["span"]), float(d["delta_scale"]),
                   [float(v) for v in d["input_scale"]])


def _rms(changes: np.ndarray, axis=None):
    rms = np.sqrt(np.mean(changes ** 2, axis=axis))
    return np.where(rms > 0, rms, 1.0)


def fit_coder(mode: str, scaler: Scaler, series: "Series", rows: int) -> Coder:
    """The change scales come from the training rows only (all rows with --scale-fit all)."""
    low, span = scaler.column(series.target)
    if mode == "level":
        return Coder(mode, low, span)
    scaled = scaler.select(series.features).transform(series.values[:rows])  # (rows, F)
    target = (series.target_values[:rows] - low) / span
    return Coder(mode, low, span, float(_rms(np.diff(target))),
                 _rms(np.diff(scaled, axis=0), axis=0).tolist())


# ---------------------------------------------------------------------- metrics and baselines
def scores(pred: np.ndarray, actual: np.ndarray) -> dict:
    """RMSE, MAE and MAPE (percent; None when a true value is zero) over all entries."""
    err = np.asarray(pred, float) - np.asarray(actual, float)
    actual = np.asarray(actual, float)
    mape = None if np.any(actual == 0) else float(np.mean(np.abs(err) / np.abs(actual)) * 100)
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
            "mape": mape}


def persistence(w: Windows) -> np.ndarray:
    """Every step ahead = the last observed value. (N, H)"""
    return np.repeat(w.last[:, None], w.y.shape[1], axis=1)


def seasonal_naive(target: np.ndarray, w: Windows, season: int) -> tuple[np.ndarray, np.ndarray]:
    """Step h ahead = the value one season (or whole seasons) before it, known at forecast time.

    Returns the predictions (N', H) and a mask (N,) of the windows that have such values.
    """
    h = np.arange(1, w.y.shape[1] + 1)
    back = season * np.ceil(h / season).astype(int)  # whole seasons, so it lies in the past
    idx = w.end[:, None] + h[None, :] - back[None, :]
    ok = idx.min(axis=1) >= 0
    return target[idx[ok]], ok


# ---------------------------------------------------------------------- a run's data, end to end
@dataclass
class Prepared:
    series: Series
    windows: Windows
    split: Split
    scaler: Scaler  # over the features, then the target if it is not one of them
    coder: Coder
    fit_rows: int  # rows the scaler was fitted on

    def part(self, name: str) -> Windows:
        s = self.split
        bounds = {"train": (0, s.train), "val": (s.val_start, s.fit),
                  "test": (s.test_start, s.test_start + s.test),
                  "all": (0, s.test_start + s.test)}[name]
        return take(self.windows, *bounds)


def used_columns(series: Series) -> list[str]:
    return list(dict.fromkeys(series.features + [series.target]))


def _used_values(series: Series) -> np.ndarray:
    columns = used_columns(series)
    extra = [] if series.target in series.features else [series.target_values[:, None]]
    values = np.concatenate([series.values] + extra, axis=1)  # (rows, len(columns))
    assert values.shape[1] == len(columns)
    return values


def prepare(series: Series, window: int, horizon: int, test_frac: float, val_frac: float,
            scale_fit: str, target_mode: str) -> Prepared:
    """Split by windows, fit the scaler (training rows, or all for the lecture), make windows."""
    split = check_split(series.name, len(series), window, horizon, test_frac, val_frac)
    rows = len(series) if scale_fit == "all" else fit_rows(split, window, horizon)
    scaler = Scaler.fit(used_columns(series), _used_values(series)[:rows])
    windows = make_windows(series, scaler.select(series.features), window, horizon)
    coder = fit_coder(target_mode, scaler, series, rows)
    return Prepared(series, windows, split, scaler, coder, rows)


def rebuild(series: Series, window: int, horizon: int, test_frac: float, scaler: Scaler,
            coder: Coder) -> Prepared:
    """Windows and test part of new data, scaled as the model was trained (nothing refitted)."""
    n = count_windows(len(series), window, horizon)
    if n < 1:
        raise CharrnnError(f"data {series.name}: {len(series)} rows hold no window of --window "
                           f"{window} + --horizon {horizon}; give at least {window + horizon} rows")
    test = max(1, split_windows(n, test_frac, 0.0).test)
    split = Split(n - test, 0, test)  # only where the test part starts matters here
    windows = make_windows(series, scaler.select(series.features), window, horizon)
    return Prepared(series, windows, split, scaler, coder, 0)
