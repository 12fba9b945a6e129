"""Time series from CSV: the rows in date order, the target and features picked and converted.

This is where the package's data comes in: commands, the series task, benchmarks and tests take
`load_series`, `select`, `Series` and `next_dates` from here, whichever module does the work
(the CSV's shape: csv_table; dates: dates and forecast_dates; numbers: numeric). The choices
that need the whole table (which column is the date, which are numeric, the one column-name
rule) are made here.

Pure numpy: no torch, typer or rich. Everything the user can get wrong raises CharrnnError
naming the file line and column; everything worth knowing but not fatal becomes a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from charrnn.errors import CharrnnError
# parse_table, _parse_date and next_dates are here for importers (commands, tests), not used here
from charrnn.series.csv_table import Table, parse_table, read_table  # noqa: F401
from charrnn.series.dates import _date_family, _parse_date, _read_dates  # noqa: F401
from charrnn.series.forecast_dates import next_dates  # noqa: F401
from charrnn.series.numeric import _is_missing, _number_like, _to_numbers, shown_cell


def _kind(table: Table, j: int) -> str:
    """'date', 'numeric' (most present cells are numbers), 'mixed' (some are) or 'text'."""
    name, cells = table.names[j], table.column(j)
    if _date_family(name, cells):
        return "date"
    present = [c for c in cells if not _is_missing(c)]
    numbers = sum(_number_like(c, table.delimiter) for c in present)
    if numbers and 2 * numbers >= len(present):
        return "numeric"
    return "mixed" if numbers else "text"


# ---------------------------------------------------------------------- series
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
    # --future columns: their values on every row and on the rows after the last target
    # (rows + future rows, K), and those future rows' dates
    known: np.ndarray | None = None
    future_dates: list[str] | None = None
    future: list[str] = field(default_factory=list)  # the --future columns' names

    def __len__(self) -> int:
        return len(self.target_values)


def load_series(source: str, target: str | None = None, features: list[str] | None = None,
                newest_first: bool = False, fill: bool = False, trained: bool = False,
                future: list[str] | None = None) -> Series:
    return select(read_table(source), target, features, newest_first, fill, trained, future)


def select(table: Table, target: str | None, features: list[str] | None,
           newest_first: bool = False, fill: bool = False, trained: bool = False,
           future: list[str] | None = None) -> Series:
    """Orders the rows, picks the target and features, converts them to numbers.

    `trained`: the columns are a trained model's, so errors name the model, not an option, and
    the Series carries the model's own column names whatever their case in this file.
    `future`: columns known in advance, never default features; the rows after the last target
    value (the target left empty) hold their values for the forecast.
    """
    kinds = {n: _kind(table, j) for j, n in enumerate(table.names)}
    dates = [n for n in table.names if kinds[n] == "date"]
    future_columns = [_column(table, kinds, f, "the model's --future" if trained else "--future")
                      for f in future or []]
    usable = [n for n in table.names if kinds[n] == "numeric" and n not in future_columns]
    notes = list(table.notes)
    asked = ("the model's target", "the model's feature") if trained else ("--target", "--features")
    if target:
        column = _column(table, kinds, target, asked[0])
        shown_target = target.strip() if trained else column
        if column in future_columns:  # the model would read the value it is to forecast
            raise CharrnnError(f"--future {column}: the target cannot be a column known in "
                               f"advance; --future names inputs whose future values you supply")
    else:
        column = (usable or [None])[-1]
        if column is None:
            taken = (f"; --future takes {', '.join(future_columns)}, which leaves none"
                     if future_columns else "")
            if len(table.names) == 1 and any(len(c.split()) > 1 for c in table.column(0)[:5]):
                taken = ("; its fields look separated by spaces, which charrnn does not read "
                         "as a delimiter: use commas, tabs, ';' or '|'")
            raise CharrnnError(f"data {table.name}: no numeric column to forecast (columns: "
                               f"{', '.join(table.names)}){taken}")
        shown_target = column
        numeric = [n for n in table.names if kinds[n] == "numeric"]
        if numeric[-1] != column and not trained:  # the last numeric column went to --future
            notes.append(f"note: --future takes {numeric[-1]}, so the target is {column}, the "
                         f"last numeric column left; pass --target to choose another")
    if features:
        pairs = {}
        for f in features:
            pairs.setdefault(_column(table, kinds, f, asked[1]), f.strip() if trained else None)
        feature_columns = list(pairs)
        shown_features = [pairs[c] or c for c in feature_columns]
    else:
        feature_columns = shown_features = usable
        ignored = [n for n in table.names if kinds[n] in ("text", "mixed")]
        if ignored:
            notes.append(f"note: ignoring non-numeric column(s) {', '.join(ignored)}")
        for n in (n for n in ignored if kinds[n] == "mixed"):
            j = table.names.index(n)
            line, cell = next((ln, c) for c, ln in zip(table.column(j), table.lines)
                              if not _is_missing(c) and not _number_like(c, table.delimiter))
            notes.append(f"note: column {n} holds some numbers, but most cells are not (line "
                         f"{line}: {shown_cell(cell)}); pass --target or --features to use it")
    order, date_values = _order(table, dates[0] if dates else None, newest_first, notes)
    lines = [table.lines[i] for i in order]
    rows = [table.rows[i] for i in order]
    ahead = _future_rows(table, rows, column) if future_columns else 0
    observed = len(rows) - ahead

    def numbers(col: str, upto: int = observed) -> np.ndarray:
        cells = [r[table.names.index(col)] for r in rows[:upto]]
        return _to_numbers(table.name, table.delimiter, col, cells, lines[:upto], fill, notes,
                           trained)

    converted = {c: numbers(c) for c in dict.fromkeys(feature_columns + [column])}
    values = np.stack([converted[c] for c in feature_columns], axis=1)  # (rows, F)
    known = None
    if future_columns:
        for col in future_columns:  # no gap in the rows only the forecast reads
            j = table.names.index(col)
            gap = next((ln for r, ln in zip(rows[observed:], lines[observed:])
                        if _is_missing(r[j])), None)
            if gap is not None:
                raise CharrnnError(f"--future {col}: line {gap}: empty in a forecast row (after "
                                   f"the last {column}); the forecast needs every future value")
        known = np.stack([numbers(c, len(rows)) for c in future_columns], axis=1)
    dated = date_values is not None
    return Series(table.name, list(shown_features), shown_target, values, converted[column],
                  date_values[:observed] if dated else None, dates[0] if dated else None, notes,
                  lines[:observed], known, date_values[observed:] if dated else None,
                  [f.strip() for f in future or []] if trained else future_columns)


def _future_rows(table: Table, rows: list, target: str) -> int:
    """Rows at the end (in time order) whose target is empty: the forecast rows."""
    j = table.names.index(target)
    count = 0
    while count < len(rows) and _is_missing(rows[len(rows) - 1 - count][j]):
        count += 1
    return count


def _column(table: Table, kinds: dict, name: str, option: str) -> str:
    """One rule everywhere: the exact name, else the one name equal but for case and spaces."""
    wanted = name.strip()
    if wanted not in kinds:
        folded = [n for n in kinds if n.strip().casefold() == wanted.casefold()]
        if len(folded) > 1:
            raise CharrnnError(f"{option} {wanted}: matches {', '.join(folded)} in {table.name} "
                               f"(they differ only in case); rename one")
        if not folded:
            raise CharrnnError(f"{option} {wanted}: no such column in {table.name} (columns: "
                               f"{', '.join(table.names) or 'none'})")
        wanted = folded[0]
    if kinds[wanted] == "date":
        raise CharrnnError(f"{option} {wanted}: is the date column; it orders the rows and is "
                           f"never a feature or target")
    if kinds[wanted] in ("text", "mixed"):
        j = table.names.index(wanted)
        bad = next(((r, line) for r, line in zip(table.column(j), table.lines)
                    if not _is_missing(r) and not _number_like(r, table.delimiter)), None)
        if bad is None:
            raise CharrnnError(f"{option} {wanted}: the column holds no values")
        raise CharrnnError(f"{option} {wanted}: column is not numeric (line {bad[1]}: "
                           f"{bad[0]!r})")
    return wanted


def _order(table: Table, date_col: str | None, newest_first: bool, notes: list):
    """Row order: by the date column (oldest first, stable for ties), else file order (reversed
    if asked)."""
    n = len(table.rows)
    if date_col is None:
        order = list(range(n))[::-1] if newest_first else list(range(n))
        return order, None
    j = table.names.index(date_col)
    cells = table.column(j)
    family = _date_family(date_col, cells)
    keys = [d.key for d in _read_dates(table.name, date_col, family, cells, table.lines)]
    if newest_first:
        notes.append(f"note: column {date_col} sets the order; --newest-first is not needed")
    order = sorted(range(n), key=keys.__getitem__)  # stable for equal dates
    if len(set(keys)) < n:
        notes.append(f"note: column {date_col} repeats values; rows with equal values keep "
                     f"their file order")
    return order, [cells[i] for i in order]
