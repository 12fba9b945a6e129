"""Time series from CSV: reading the table, ordering rows by date, picking and converting columns.

Pure numpy: no torch, typer or rich. Everything the user can get wrong raises CharrnnError
naming the file line and column; everything worth knowing but not fatal becomes a note.

What is read (explicit formats, no guessing beyond them):
  dates     2020-01-31, 2020/01/31, 2020.01.31, with a time (`T` or space), seconds, fractions
            and an offset (`Z`, `+01:00`, `+0100`, `UTC`); 2020-01 and 2020-Q1 periods;
            01/31/2020 and 31/01/2020 (`/`, `-` or `.`; the data decides which, else an error);
            `Jan 31, 2020`, `January 31 2020`, `31 Jan 2020`, `31-Jan-2020`, `Jan 2020`;
            in a column named like a date also 20200131, unix seconds (9-10 digits) or
            milliseconds (12-13 digits), and distinct integers such as years.
  numbers   1,101.50  $12.50  -€3  (12.50)  12.5%  and, outside comma-delimited files,
            12,5 and 1.101,50 when the column shows which mark is the decimal one.
  shapes    a header row or names in a `#` comment; the delimiter (`,` tab `;` `|`) that splits
            the first lines consistently; a pandas row index and Excel's empty trailing columns
            are ignored with a note; trailing Total/Sum/Average rows are dropped with a note.
"""
from __future__ import annotations

import calendar
import csv
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from charrnn.errors import CharrnnError

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MISSING = {"", "nan", "na", "n/a", "#n/a", "null", "none", "?", "-", "--"}
_DATE_WORDS = {"date", "time", "datetime", "timestamp", "year", "month", "period", "day", "ds",
               "dt", "week", "quarter", "date_time", "date time", "time_stamp"}
_DATE_TOKENS = {"date", "datetime", "timestamp"}  # `trade_date`, `Date (UTC)`
_SUMMARY = {"total", "totals", "grand total", "sum", "subtotal", "average", "avg", "mean"}
_DELIMITERS = ",\t;|"
_SNIFF_LINES = 50

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


@dataclass
class Table:
    """Cells as read, with the file line of every data row (for error messages)."""

    name: str
    names: list[str]
    rows: list[list[str]]
    lines: list[int]
    notes: list[str] = field(default_factory=list)
    delimiter: str = ","

    def column(self, j: int) -> list[str]:
        return [row[j] for row in self.rows]


def read_table(source: str) -> Table:
    from charrnn.text.data import decode_utf8, read_bytes

    name = "stdin" if source == "-" else source
    return parse_table(decode_utf8(read_bytes(source, "data"), f"data {name}"), name)


# ---------------------------------------------------------------------- reading
def parse_table(text: str, name: str) -> Table:
    """A header row, or names from the last `#` comment line that has as many fields as the data."""
    comments, body, lines = [], [], []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):  # CRLF, no final newline
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
    delimiter = _guess_delimiter(body)
    rows = [[cell.strip() for cell in row] for row in _split(body, delimiter, name)]
    kept = [(r, n) for r, n in zip(rows, lines) if any(r)]  # `,,,` rows: empty, like blank lines
    if not kept:
        raise CharrnnError(f"data {name}: no data rows")
    rows, lines = [r for r, _ in kept], [n for _, n in kept]
    first = rows[0]
    if not any(_number_like(c, delimiter) for c in first) and not all(map(_parse_date, first)):
        names, rows, lines = first, rows[1:], lines[1:]
    else:
        from_comment = [[c.strip() for c in row] for row in _split(comments, delimiter, name)]
        names = next((c for c in reversed(from_comment) if len(c) == len(first) and all(c)),
                     [f"col{j + 1}" for j in range(len(first))])
    notes: list[str] = []
    names, rows = _drop_empty_columns(names, rows, notes)
    for row, line in zip(rows, lines):
        if len(row) != len(names):
            raise CharrnnError(f"data {name}: line {line} has {len(row)} fields, but the header "
                               f"names {len(names)}")
    names, rows = _drop_row_index(names, rows, notes)
    names = [n or f"col{j + 1}" for j, n in enumerate(names)]
    duplicated = [n for n, k in Counter(names).items() if k > 1]
    if duplicated:
        raise CharrnnError(f"data {name}: column name {duplicated[0]!r} appears more than once")
    rows, lines = _drop_summary(names, rows, lines, notes)
    if not rows:
        raise CharrnnError(f"data {name}: no data rows")
    return Table(name, names, rows, lines, notes, delimiter)


def _split(lines: list[str], delimiter: str, name: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as e:
        raise CharrnnError(f"data {name}: not a readable CSV ({e})") from None


def _guess_delimiter(body: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields most often.

    Several lines, not the header alone: a tab file whose header holds a comma is a tab file.
    """
    sample = body[:_SNIFF_LINES]
    best, best_score = ",", (0.0, 0)
    for d in _DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(sample, delimiter=d)]
        except csv.Error:
            continue
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (hits / len(counts) + (counts[0] == width), width)
        if score[0] > best_score[0]:  # ties keep the earlier, commoner delimiter
            best, best_score = d, score
    return best


def _drop_empty_columns(names: list[str], rows: list[list[str]], notes: list) -> tuple:
    """Excel's `,,`: unnamed trailing columns with no values, and empty extra cells on rows."""
    width = len(names)
    while width and not names[width - 1] and all(len(r) < width or not r[width - 1] for r in rows):
        width -= 1
    if width < len(names):
        notes.append(f"note: ignoring {len(names) - width} empty unnamed column(s) at the end")
    names = names[:width]
    rows = [r[:width] if len(r) > width and not any(r[width:]) else r for r in rows]
    return names, rows


def _drop_row_index(names: list[str], rows: list[list[str]], notes: list) -> tuple:
    """A pandas `to_csv` row index: a first column with no name (or `Unnamed: 0`) holding
    distinct non-negative integers."""
    if len(names) < 2 or not rows or not re.fullmatch(r"(Unnamed: ?0)?", names[0]):
        return names, rows
    cells = [r[0] for r in rows]
    if all(re.fullmatch(r"\d+", c) for c in cells) and len(set(map(int, cells))) == len(cells):
        notes.append("note: ignoring the unnamed first column (a saved row index, "
                     f"{cells[0]}..{cells[-1]})")
        return names[1:], [r[1:] for r in rows]
    return names, rows


def _summary_word(cell: str) -> bool:
    return cell.strip().rstrip(":").strip().lower() in _SUMMARY


def _drop_summary(names: list[str], rows: list[list[str]], lines: list[int], notes: list):
    """Trailing Total/Sum/Average rows (in the first or a date column) are not observations."""
    date_cols = {j for j, n in enumerate(names)
                 if _date_named(n) or _date_family(n, [r[j] for r in rows[:-1]])}
    while len(rows) > 1:
        row = rows[-1]
        hit = next((row[j] for j in sorted({0} | date_cols) if _summary_word(row[j])), None)
        if hit is None:
            break
        notes.append(f"note: line {lines[-1]}: dropped the summary row {hit!r} (not data)")
        rows, lines = rows[:-1], lines[:-1]
    return rows, lines


# ---------------------------------------------------------------------- numbers
_CURRENCY = "$€£¥₹"
_PLAIN = {"dot": re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"),
          "comma": re.compile(r"(\d+,?\d*|,\d+)([eE][+-]?\d+)?")}
_GROUPED = {"dot": re.compile(r"\d{1,3}(?:(?P<g>[, \u00a0\u202f'])\d{3})(?:(?P=g)\d{3})*(\.\d+)?"),
            "comma": re.compile(r"\d{1,3}(?:(?P<g>[. \u00a0\u202f'])\d{3})(?:(?P=g)\d{3})*(,\d+)?")}


def _parse_number(cell: str, style: str = "dot") -> float | None:
    """`1,101.50`, `$12.50`, `-€3`, `(12.50)`, `12.5%` (as 12.5); `style`: the decimal mark."""
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


def _number_style(table: Table, col: str, cells: list[str], lines: list[int]) -> str:
    """The decimal mark of a column: a point, unless the file is not comma-delimited and its
    cells show a decimal comma (`12,5`, `1.101,50`). Cells that read both ways with no cell to
    decide (`1,234`) are an error naming one."""
    if table.delimiter == "," or not any("," in c for c in cells):
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
        raise CharrnnError(f"data {table.name}: column {col} mixes decimal marks: line {ld} "
                           f"{cd!r} has a decimal point, line {lc} {cc!r} a decimal comma")
    if evidence:
        return next(iter(evidence))
    if undecided:
        line, cell = undecided
        raise CharrnnError(f"data {table.name}: line {line}, column {col}: {cell!r} is "
                           f"ambiguous (a thousands separator or a decimal comma?); write it "
                           f"without thousands separators")
    return "dot"


# ---------------------------------------------------------------------- dates
def _date_named(name: str) -> bool:
    low = name.strip().lower()
    return low in _DATE_WORDS or bool(_DATE_TOKENS & set(re.split(r"[^a-z]+", low)))


def _exactly_date_named(name: str) -> bool:
    return name.strip().lower() in _DATE_WORDS


def _shape(cell: str, named: bool) -> str | None:
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


def _is_missing(cell: str) -> bool:
    return cell.lower() in _MISSING


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
        raise CharrnnError(f"data {table_name}: line {second[0]}, column {col}: {second[1]!r} "
                           f"reads as MM/DD/YYYY but line {first[0]} {first[1]!r} as DD/MM/YYYY")
    if first:
        return "dmy"
    if second:
        return "mdy"
    if any((m := _SHAPES["dm"].fullmatch(c)) and m.group("a") != m.group("b") for c in cells):
        example = next(c for c in cells if _SHAPES["dm"].fullmatch(c))
        raise CharrnnError(f"data {table_name}: column {col} is ambiguous: dates like {example!r} "
                           f"read as DD/MM/YYYY or MM/DD/YYYY and no row decides (no day above "
                           f"12); write them as YYYY-MM-DD")
    return "mdy"


def _read_dates(table_name: str, col: str, family: str, cells: list[str],
                lines: list[int]) -> list[_Date]:
    """Every cell of the date column, or an error naming the line and cell."""
    if family == "bad":
        line, cell = next((ln, c) for c, ln in zip(cells, lines) if not _is_missing(c))
        raise CharrnnError(f"data {table_name}: line {line}, column {col}: {cell!r} is not a date "
                           f"(read: {_FORMAT_HELP})")
    order = _dm_order(table_name, col, cells, lines) if family == "dm" else "mdy"
    out, aware = [], None
    for cell, line in zip(cells, lines):
        if _is_missing(cell):
            what = "empty" if cell == "" else f"missing ({cell!r})"
            raise CharrnnError(f"data {table_name}: line {line}, column {col}: {what}; every row "
                               f"needs a date")
        try:
            date = _read_date(family, cell, order)
        except (ValueError, OverflowError):
            raise CharrnnError(f"data {table_name}: line {line}, column {col}: {cell!r} is not a "
                               f"valid date (the column reads as {_FAMILY_NAMES[family]})"
                               ) from None
        if aware is None:
            aware = (line, cell, date.style.get("aware"))
        elif bool(date.style.get("aware")) != bool(aware[2]):
            raise CharrnnError(f"data {table_name}: line {line}, column {col}: {cell!r} "
                               f"{'has' if date.style.get('aware') else 'has no'} UTC offset, "
                               f"but line {aware[0]} {aware[1]!r} "
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

    def __len__(self) -> int:
        return len(self.target_values)


def load_series(source: str, target: str | None = None, features: list[str] | None = None,
                newest_first: bool = False, fill: bool = False, trained: bool = False) -> Series:
    return select(read_table(source), target, features, newest_first, fill, trained)


def select(table: Table, target: str | None, features: list[str] | None,
           newest_first: bool = False, fill: bool = False, trained: bool = False) -> Series:
    """Orders the rows, picks the target and features, converts them to numbers.

    `trained`: the columns are a trained model's, so errors name the model, not an option, and
    the Series carries the model's own column names whatever their case in this file.
    """
    kinds = {n: _kind(table, j) for j, n in enumerate(table.names)}
    dates = [n for n in table.names if kinds[n] == "date"]
    usable = [n for n in table.names if kinds[n] == "numeric"]
    notes = list(table.notes)
    asked = ("the model's target", "the model's feature") if trained else ("--target", "--features")
    if target:
        column = _column(table, kinds, target, asked[0])
        shown_target = target.strip() if trained else column
    else:
        column = (usable or [None])[-1]
        if column is None:
            raise CharrnnError(f"data {table.name}: no numeric column to forecast (columns: "
                               f"{', '.join(table.names)})")
        shown_target = column
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
                         f"{line}: {cell!r}); pass --target or --features to use it")
    order, date_values = _order(table, dates[0] if dates else None, newest_first, notes)
    lines = [table.lines[i] for i in order]
    rows = [table.rows[i] for i in order]

    def numbers(col: str) -> np.ndarray:
        cells = [r[table.names.index(col)] for r in rows]
        return _to_numbers(table, col, cells, lines, fill, notes)

    converted = {c: numbers(c) for c in dict.fromkeys(feature_columns + [column])}
    values = np.stack([converted[c] for c in feature_columns], axis=1)  # (rows, F)
    return Series(table.name, list(shown_features), shown_target, values, converted[column],
                  date_values, dates[0] if date_values is not None else None, notes, lines)


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


def _to_numbers(table: Table, col: str, cells: list[str], lines: list[int], fill: bool,
                notes: list) -> np.ndarray:
    name = table.name
    style = _number_style(table, col, cells, lines)
    out = np.empty(len(cells))
    gaps = []
    for i, (cell, line) in enumerate(zip(cells, lines)):
        value = _parse_number(cell, style)
        if value is not None:
            if not math.isfinite(value):
                raise CharrnnError(f"data {name}: line {line}, column {col}: {cell!r} is not "
                                   f"finite")
            out[i] = value
        elif _is_missing(cell):
            gaps.append(i)
            if not fill:
                what = "empty" if cell == "" else f"missing ({cell!r})"
                raise CharrnnError(f"data {name}: line {line}, column {col}: {what}; fix the "
                                   f"file or pass --fill to interpolate gaps")
        else:
            raise CharrnnError(f"data {name}: line {line}, column {col}: {cell!r} is not a number")
    if gaps:
        known = np.setdiff1d(np.arange(len(cells)), gaps)
        if len(known) == 0:
            raise CharrnnError(f"data {name}: column {col} holds no numbers")
        out[gaps] = np.interp(gaps, known, out[known])  # linear inside, nearest at the ends
        notes.append(f"note: filled {len(gaps)} gap(s) in column {col} by linear interpolation")
    return out


# ---------------------------------------------------------------------- forecast dates
def next_dates(dates: list[str], steps: int) -> list[str]:
    """Dates of the `steps` rows after the data, in the data's own format: calendar months for
    monthly, quarterly and yearly data (month ends stay month ends), else the commonest recent
    gap (weekdays only when the data skips weekends); the last row's offset is kept."""
    family = _date_family("date", dates)
    if family in (None, "bad", "int", "unix"):
        try:
            values = [float(d) for d in dates[-31:]]
        except ValueError:
            raise CharrnnError(f"dates not understood ({dates[-1]!r})") from None
        gaps = [g for g in np.diff(values).tolist() if g > 0]
        step = Counter(gaps).most_common(1)[0][0] if gaps else 1
        nxt = [values[-1] + step * k for k in range(1, steps + 1)]
        return [f"{v:g}" if v != int(v) else str(int(v)) for v in nxt]
    parsed = _read_dates("forecast", "date", family, dates, list(range(1, len(dates) + 1)))
    try:
        return _calendar_steps(family, parsed, steps)
    except (ValueError, OverflowError):
        raise CharrnnError(f"the {steps} dates after {dates[-1]!r} run past the calendar "
                           f"(year 9999)") from None


def _calendar_steps(family: str, parsed: list, steps: int) -> list[str]:
    last = parsed[-1]
    recent = parsed[-31:]
    if family in ("ym", "quarter", "named_ym"):
        gaps = [g for g in np.diff([d.wall for d in recent]).tolist() if g > 0]
        step = Counter(gaps).most_common(1)[0][0] if gaps else last.style.get("step", 1)
        return [_render_month(family, last.style, last.wall + step * k)
                for k in range(1, steps + 1)]
    walls = [d.wall for d in recent]  # each on its own clock: the calendar the data follows
    months = _month_step(walls)
    if months:
        ends = all(_month_end(w) for w in walls)
        anchor = max((w.day for w in walls if not _month_end(w)), default=31)
        out = []
        for k in range(1, steps + 1):
            index = last.wall.year * 12 + last.wall.month - 1 + months * k
            y, m = divmod(index, 12)
            days = calendar.monthrange(y, m + 1)[1]
            out.append(last.wall.replace(year=y, month=m + 1,
                                         day=days if ends else min(anchor, days)))
    else:
        shift = last.wall - last.key  # the last row's offset: one timeline, shown on its clock
        walls = [d.key + shift for d in recent]
        gaps = [b - a for a, b in zip(walls, walls[1:]) if b > a]
        step = Counter(gaps).most_common(1)[0][0] if gaps else timedelta(days=1)
        weekdays = (step == timedelta(days=1) and len(walls) >= 5
                    and all(w.weekday() < 5 for w in walls) and timedelta(days=3) in gaps)
        out, wall = [], last.wall
        while len(out) < steps:
            wall = wall + step
            if not weekdays or wall.weekday() < 5:
                out.append(wall)
    return [_render(family, last.style, w) for w in out]


def _month_end(d: datetime) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _month_step(walls: list[datetime]) -> int | None:
    """Whole calendar months between every pair of distinct recent dates (the commonest), or
    None when the dates are not a monthly grid."""
    steps = []
    for a, b in zip(walls, walls[1:]):
        if a == b:
            continue
        k = (b.year - a.year) * 12 + b.month - a.month
        same_day = a.day == b.day or (_month_end(a) and _month_end(b)) or (
            _month_end(b) and b.day < a.day) or (_month_end(a) and a.day < b.day)
        if k < 1 or a.time() != b.time() or not same_day:
            return None
        steps.append(k)
    return Counter(steps).most_common(1)[0][0] if steps else None


def _month_name(month: int, style: tuple) -> str:
    short, case = style
    word = _MONTH_NAMES[month - 1][:3] if short else _MONTH_NAMES[month - 1]
    return word.upper() if case == "upper" else word if case == "lower" else word.title()


def _render_month(family: str, style: dict, index: int) -> str:
    y, m = divmod(index, 12)
    if not 1 <= y <= 9999:
        raise ValueError(y)
    if family == "quarter":
        return f"{y:04d}{style['sep']}{style['q']}{m // 3 + 1}"
    if family == "named_ym":
        return f"{_month_name(m + 1, style['mon'])}{style['sep']}{y:04d}"
    return f"{y:04d}-{m + 1:02d}"


def _render(family: str, style: dict, wall: datetime) -> str:
    if family == "compact":
        return wall.strftime("%Y%m%d")
    if family == "ymd":
        sep = style["sep"]
        text = f"{wall.year:04d}{sep}{wall.month:02d}{sep}{wall.day:02d}"
    elif family == "dm":
        a, b = (wall.month, wall.day) if style["order"] == "mdy" else (wall.day, wall.month)
        width = 2 if style["pad"] else 1
        text = f"{a:0{width}d}{style['sep']}{b:0{width}d}{style['sep']}{wall.year:04d}"
    else:  # named
        day = f"{wall.day:02d}" if style["pad"] else str(wall.day)
        mon = _month_name(wall.month, style["mon"]) + style["dot"]
        if style["order"] == "md":
            text = f"{mon} {day}{style['comma']} {wall.year}"
        else:
            text = f"{day}{style['sep']}{mon}{style['comma']}{style['sep']}{wall.year}"
        if style["wd"] is not None:
            short, case = style["wd"]
            word = calendar.day_name[wall.weekday()]
            word = word[:3] if short else word
            word = word.upper() if case == "upper" else word.lower() if case == "lower" else word
            text = f"{word}, {text}"
    if "tsep" in style:
        if style["ampm"]:
            hour = wall.hour % 12 or 12
            ampm = ("PM" if wall.hour >= 12 else "AM")
            ampm = ampm if style["ampm"].isupper() else ampm.lower()
            seconds = f":{wall.second:02d}" if style["seconds"] else ""
            clock = f"{hour}:{wall.minute:02d}{seconds}"
            clock += f" {ampm}"
        else:
            clock = f"{wall.hour:02d}:{wall.minute:02d}"
            if style["seconds"]:
                clock += f":{wall.second:02d}" + (f".{wall.microsecond:06d}" if wall.microsecond
                                                   else "")
        text += f"{style['tsep']}{clock}{style['tz']}"
    return text
