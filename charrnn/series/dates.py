"""Dates in a column: which format the column is written in, and a sortable value for each cell.

A column's format is decided once for all its cells, never cell by cell, so that 03/04/2020 means
the same day on every row: other rows settle MM/DD against DD/MM, and a column that no row
settles is an error, not a guess. The same reading serves the header test, the summary-row
check, the row order and the forecast's dates, so they cannot disagree about what a date is.

  dates     2020-01-31, 2020/01/31, 2020.01.31, with a time (`T` or space), seconds, fractions
            and an offset (`Z`, `+01:00`, `+0100`, `UTC`); 2020-01 and 2020-Q1 periods;
            01/31/2020 and 31/01/2020 (`/`, `-` or `.`; the data decides which, else an error);
            `Jan 31, 2020`, `January 31 2020`, `31 Jan 2020`, `31-Jan-2020`, `Jan 2020`;
            in a column named like a date also 20200131, unix seconds (9-10 digits) or
            milliseconds (12-13 digits), and distinct integers such as years.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from charrnn.errors import CharrnnError
from charrnn.series.numeric import _SIMPLE as _NUMBER, _is_missing, shown_cell

_DATE_WORDS = {"date", "time", "datetime", "timestamp", "year", "month", "period", "day", "ds",
               "dt", "week", "quarter", "date_time", "date time", "time_stamp"}
_DATE_TOKENS = {"date", "datetime", "timestamp"}  # `trade_date`, `Date (UTC)`

# ---------------------------------------------------------------------- date shapes
_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
_MONTHS = {**{n: i for i, n in enumerate(_MONTH_NAMES, 1)},
           **{n[:3]: i for i, n in enumerate(_MONTH_NAMES, 1)}, "sept": 9}
_WEEKDAYS = {d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday",
                                         "saturday", "sunday"])}
_WEEKDAYS.update({d[:3]: i for d, i in list(_WEEKDAYS.items())})
_TIME = (r"(?:(?P<tsep>T|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?P<f>\.\d{1,6})?)?"
         r"(?:\s*(?P<ampm>[AaPp][Mm]))?(?P<tz>\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?)?")
_SHAPES = {
    "ymd": re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME),
    "ym": re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})"),
    "quarter": re.compile(r"(?P<y>\d{4})(?P<sep>[- ]?)(?P<q>[Qq])(?P<n>[1-4])"),
    "dm": re.compile(r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME),
    "named": re.compile(
        r"(?:(?P<wd>[A-Za-z]{3,9}),?\s+)?(?:"
        r"(?P<mon>[A-Za-z]{3,9})(?P<dot>\.?)\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?P<comma>,?)"
        r"\s+(?P<y>\d{4})"
        r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?(?P<sep2>[\s-]+)(?P<mon2>[A-Za-z]{3,9})(?P<dot2>\.?)"
        r"(?P<comma2>,?)(?P=sep2)(?P<y2>\d{4}))" + _TIME),
    "named_ym": re.compile(r"(?P<mon>[A-Za-z]{3,9})(?P<sep>[\s-]+)(?P<y>\d{4})"),
    # only in a column named like a date:
    "compact": re.compile(r"(?P<y>[12]\d{3})(?P<m>[01]\d)(?P<d>[0-3]\d)"),
    "unix": re.compile(r"\d{9,10}|\d{12,13}"),
}
_NAMED_ONLY = ("compact", "unix")
_FAMILY_NAMES = {"ymd": "YYYY-MM-DD", "ym": "YYYY-MM", "quarter": "YYYY-Qn",
                 "dm": "DD/MM/YYYY or MM/DD/YYYY",
                 "named": "'Mon DD, YYYY' or 'DD Mon YYYY'", "named_ym": "'Mon YYYY'",
                 "compact": "YYYYMMDD", "unix": "unix seconds", "int": "integers"}
_FORMAT_HELP = ("YYYY-MM-DD[ HH:MM[:SS]][offset], YYYY-MM, YYYY-Qn, MM/DD/YYYY, DD/MM/YYYY, "
                "'Mon DD, YYYY', 'DD Mon YYYY'")


def _date_named(name: str) -> bool:
    low = name.strip().lower()
    return low in _DATE_WORDS or bool(_DATE_TOKENS & set(re.split(r"[^a-z]+", low)))


def _exactly_date_named(name: str) -> bool:
    return name.strip().lower() in _DATE_WORDS


def _shape(cell: str, named: bool) -> str | None:
    if not named and _NUMBER.fullmatch(cell):  # only the named-only shapes are plain numbers
        return None
    for family, pattern in _SHAPES.items():
        if (named or family not in _NAMED_ONLY) and (m := pattern.fullmatch(cell)):
            if family in ("named", "named_ym") and (
                    (m.group("mon") or m.group("mon2")).lower() not in _MONTHS
                    or (m.groupdict().get("wd") and m.group("wd").lower() not in _WEEKDAYS)):
                continue
            if family == "unix" and not named:
                continue
            return family
    return None


def _distinct_integers(cells: list[str]) -> bool:
    return (all(re.fullmatch(r"[+-]?\d+", c) for c in cells)
            and len({int(c) for c in cells}) == len(cells))


def _date_family(name: str, cells: list[str]) -> str | None:
    """How a column holds dates: a shape family, 'int' (distinct integers in a column named
    exactly like a date, such as years), 'bad' (named like a date but nothing reads as one), or
    None (not a date column)."""
    present = [c for c in cells if not _is_missing(c)]
    if not present:
        return None
    named = _date_named(name)
    shapes = Counter(_shape(c, named) for c in present)
    family, count = max(((f, k) for f, k in shapes.items() if f), key=lambda p: p[1],
                        default=(None, 0))
    numeric = all(_NUMBER.fullmatch(c) for c in present)
    if family and 2 * count >= len(present):
        return family
    if numeric:
        if _exactly_date_named(name) and _distinct_integers(present):
            return "int"
        return None
    if named:
        return family or "bad"
    return None


@dataclass
class _Date:
    key: object  # sorts the rows: a UTC datetime, a month number or an integer
    wall: object  # the clock the cell shows (datetime), or the month number / integer
    style: dict


def _read_date(family: str, cell: str, order: str = "mdy") -> _Date:
    """One cell of a known family; ValueError when the cell is not a valid date of it."""
    named = family in _NAMED_ONLY
    m = _SHAPES[family].fullmatch(cell) if family in _SHAPES else None
    if family == "int":
        if not re.fullmatch(r"[+-]?\d+", cell):
            raise ValueError
        return _Date(int(cell), int(cell), {})
    if m is None or _shape(cell, named) != family:
        raise ValueError
    g = m.groupdict()
    if family == "unix":
        return _Date(int(cell), int(cell), {})
    if family == "ym":
        month = int(g["m"])
        if not 1 <= month <= 12:
            raise ValueError
        index = int(g["y"]) * 12 + month - 1
        return _Date(index, index, {"step": 1})
    if family == "quarter":
        index = int(g["y"]) * 12 + 3 * (int(g["n"]) - 1)
        return _Date(index, index, {"sep": g["sep"], "q": g["q"], "step": 3})
    if family == "named_ym":
        index = int(g["y"]) * 12 + _MONTHS[g["mon"].lower()] - 1
        return _Date(index, index, {"sep": g["sep"], "mon": _name_style(g["mon"])})
    style: dict = {}
    if family in ("ymd", "compact"):
        y, mo, d = int(g["y"]), int(g["m"]), int(g["d"])
        style["sep"] = g.get("sep") or ""
    elif family == "dm":
        a, b, y = int(g["a"]), int(g["b"]), int(g["y"])
        mo, d = (a, b) if order == "mdy" else (b, a)
        style.update(sep=g["sep"], order=order, pad=len(g["a"]) == 2)
    else:  # named
        if g["mon"]:
            mon, d, y = g["mon"], int(g["d"]), int(g["y"])
            style.update(order="md", comma=g["comma"], dot=g["dot"], sep=" ")
        else:
            mon, d, y = g["mon2"], int(g["d2"]), int(g["y2"])
            style.update(order="dm", comma=g["comma2"], dot=g["dot2"], sep=g["sep2"])
        mo = _MONTHS[mon.lower()]
        style.update(mon=_name_style(mon), pad=len(str(g["d"] or g["d2"])) == 2,
                     wd=_name_style(g["wd"]) if g["wd"] else None)
    hour, minute, second, micro = 0, 0, 0, 0
    if g.get("h") is not None:
        hour, minute = int(g["h"]), int(g["mi"])
        second = int(g["s"] or 0)
        micro = int(round(float(g["f"]) * 1e6)) if g["f"] else 0
        if g["ampm"]:
            if not 1 <= hour <= 12:
                raise ValueError
            hour = hour % 12 + (12 if g["ampm"].lower() == "pm" else 0)
        style.update(tsep=g["tsep"], seconds=g["s"] is not None or family == "ymd",
                     ampm=g["ampm"], tz=g["tz"] or "")
    wall = datetime(y, mo, d, hour, minute, second, micro)  # ValueError for 2020-02-30
    if style.get("wd") is not None and _WEEKDAYS[g["wd"].lower()] != wall.weekday():
        raise ValueError
    key = wall - _offset(style.get("tz") or "")
    style["aware"] = bool(style.get("tz"))
    return _Date(key, wall, style)


def _name_style(word: str) -> tuple:
    """(abbreviated, case) of a month or weekday name as written."""
    case = "upper" if word.isupper() else "lower" if word.islower() else "title"
    return (len(word) == 3 or word.lower() == "sept", case)


def _offset(tz: str) -> timedelta:
    tz = tz.strip()
    if tz in ("", "Z", "UTC", "GMT"):
        return timedelta(0)
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if tz[0] == "-" else delta


def _dm_order(table_name: str, col: str, cells: list[str], lines: list[int]) -> str:
    """DD/MM or MM/DD, decided by the data: a first field above 12 is a day, so is a second."""
    first = second = None
    for cell, line in zip(cells, lines):
        m = _SHAPES["dm"].fullmatch(cell)
        if not m:
            continue
        a, b = int(m.group("a")), int(m.group("b"))
        if a > 12 and first is None:
            first = (line, cell)
        if b > 12 and second is None:
            second = (line, cell)
    if first and second:
        raise CharrnnError(f"data {table_name}: line {second[0]}, column {col}: "
                           f"{shown_cell(second[1])} reads as MM/DD/YYYY but line {first[0]} "
                           f"{shown_cell(first[1])} as DD/MM/YYYY")
    if first:
        return "dmy"
    if second:
        return "mdy"
    if any((m := _SHAPES["dm"].fullmatch(c)) and m.group("a") != m.group("b") for c in cells):
        example = next(c for c in cells if _SHAPES["dm"].fullmatch(c))
        raise CharrnnError(f"data {table_name}: column {col} is ambiguous: dates like "
                           f"{shown_cell(example)} read as DD/MM/YYYY or MM/DD/YYYY and no row "
                           f"decides (no day above 12); write them as YYYY-MM-DD")
    return "mdy"


def _read_dates(table_name: str, col: str, family: str, cells: list[str],
                lines: list[int]) -> list[_Date]:
    """Every cell of the date column, or an error naming the line and cell."""
    if family == "bad":
        line, cell = next((ln, c) for c, ln in zip(cells, lines) if not _is_missing(c))
        raise CharrnnError(f"data {table_name}: line {line}, column {col}: {shown_cell(cell)} "
                           f"is not a date (read: {_FORMAT_HELP})")
    order = _dm_order(table_name, col, cells, lines) if family == "dm" else "mdy"
    out, aware = [], None
    for cell, line in zip(cells, lines):
        if _is_missing(cell):
            what = "empty" if cell == "" else f"missing ({shown_cell(cell)})"
            raise CharrnnError(f"data {table_name}: line {line}, column {col}: {what}; every row "
                               f"needs a date")
        try:
            date = _read_date(family, cell, order)
        except (ValueError, OverflowError):
            raise CharrnnError(f"data {table_name}: line {line}, column {col}: "
                               f"{shown_cell(cell)} is not a valid date (the column reads as "
                               f"{_FAMILY_NAMES[family]})"
                               ) from None
        if aware is None:
            aware = (line, cell, date.style.get("aware"))
        elif bool(date.style.get("aware")) != bool(aware[2]):
            raise CharrnnError(f"data {table_name}: line {line}, column {col}: {shown_cell(cell)} "
                               f"{'has' if date.style.get('aware') else 'has no'} UTC offset, "
                               f"but line {aware[0]} {shown_cell(aware[1])} "
                               f"{'has' if aware[2] else 'has none'}")
        out.append(date)
    return out


def _parse_date(cell: str):
    """A sortable value for one cell in any shape read above (MM/DD first when both read), or
    None."""
    family = _shape(cell, False)
    if family is None:
        return None
    for order in ("mdy", "dmy"):
        try:
            return _read_date(family, cell, order).key
        except (ValueError, OverflowError):
            continue
    return None
